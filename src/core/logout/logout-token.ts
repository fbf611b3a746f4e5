/**
 * The logout token of OpenID Connect Back-Channel Logout 1.0 §2.4: a JWT of the ID tokens' key
 * with `typ: logout+jwt` (§2.4, RFC 8725 §3.11), `iss`, `aud` (the client), `iat`, `exp`, `jti`,
 * `sub` and `sid` (we always send both), the back-channel logout event, and never a `nonce`
 * (§2.4: a logout token with one must be refused, so it cannot pass for an ID token).
 */
import type { LogoutDelivery } from './logout-delivery.js';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** Short: a token is signed afresh at each attempt, so it never has to outlive one. */
export const LOGOUT_TOKEN_TTL_SECONDS = 120;

/** Signs a payload with the deployment's asymmetric key (the lead's IdTokens is one). */
export interface LogoutTokenSigner {
  sign(payload: Record<string, unknown>, typ: 'logout+jwt'): Promise<string>;
}

export function logoutTokenClaims(delivery: LogoutDelivery, issuer: string, nowMs: number): Record<string, unknown> {
  const iat = Math.floor(nowMs / 1000);
  return {
    iss: issuer,
    aud: delivery.clientId,
    iat,
    exp: iat + LOGOUT_TOKEN_TTL_SECONDS,
    jti: delivery.id,
    sub: delivery.userId,
    sid: delivery.browserSessionId,
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
  };
}
