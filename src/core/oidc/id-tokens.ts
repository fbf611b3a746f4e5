/**
 * ID tokens (OpenID Connect Core §2) and the other JWTs a client verifies with our JWKS (logout
 * tokens), signed by the key store's current key through the same JWT library and key ring as
 * access tokens (ADR 0006, ADR 0028). With an HMAC ALGORITHM the store holds RS256 keys for these
 * alone, made when the first one is signed: before that no client can have a copy of the JWKS
 * that lacks them, and afterwards they rotate like any asymmetric key (always a next key published
 * before it signs).
 */
import type { Clock } from '../clock.js';
import type { SessionAuthentication } from '../factors/factor.js';
import type { AsymmetricKeyRing, TokenType } from '../keys/key-ring.js';
import type { KeyService } from '../keys/key-service.js';
import type { User } from '../users/user.js';
import { identityClaims } from './identity-claims.js';

/** The ID token's claims besides the user's (discovery's `claims_supported`, with IDENTITY_CLAIMS). */
export const ID_TOKEN_CLAIMS: readonly string[] = Object.freeze(['iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'amr', 'acr', 'sid']);

export interface IdTokenSettings {
  readonly issuer: string;
  /** Seconds an ID token is valid (ACCESS_TOKEN_TTL: it is read once, when the client receives it). */
  readonly ttlSeconds: number;
}

/** What an ID token is about: who, for which client, how they signed in, and the OP session. */
export interface IdTokenSubject {
  readonly user: User;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly nonce: string | null;
  readonly authentication: SessionAuthentication;
  /** The browser session (ADR 0027) the user signed in with: `sid`, which logout names. */
  readonly browserSessionId: string;
}

export class IdTokens {
  private ensuring: Promise<void> | undefined;

  constructor(
    private readonly ring: AsymmetricKeyRing,
    private readonly keys: KeyService,
    private readonly clock: Clock,
    private readonly settings: IdTokenSettings,
  ) {}

  /** The JWS algorithm of ID and logout tokens (discovery's `id_token_signing_alg_values_supported`). */
  get algorithm(): string {
    return this.ring.algorithm;
  }

  /** An ID token for a code's exchange (Core §3.1.3.3): iss, sub, aud, exp, iat, auth_time, nonce, amr, acr, sid and the scopes' claims. */
  async idToken(subject: IdTokenSubject): Promise<string> {
    const now = Math.floor(this.clock.now() / 1000);
    const { authentication } = subject;
    return this.sign(
      {
        ...identityClaims(subject.user, subject.scopes),
        iss: this.settings.issuer,
        aud: subject.clientId,
        iat: now,
        exp: now + this.settings.ttlSeconds,
        auth_time: Math.floor(authentication.authTime / 1000),
        ...(subject.nonce === null ? {} : { nonce: subject.nonce }),
        amr: [...authentication.amr],
        acr: authentication.acr,
        sid: subject.browserSessionId,
      },
      'JWT',
    );
  }

  /** Signs a JWT of this type with the current key (making the first keys if there are none). */
  async sign(payload: Record<string, unknown>, typ: Exclude<TokenType, 'at+jwt'>): Promise<string> {
    if (!this.ring.isCurrent()) await this.ring.reload();
    if (!this.ring.hasSigner()) {
      this.ensuring ??= this.keys.ensure().finally(() => {
        this.ensuring = undefined;
      });
      await this.ensuring;
    }
    return this.ring.typedSigner(typ).sign(payload);
  }
}
