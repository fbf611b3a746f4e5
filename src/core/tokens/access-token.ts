/**
 * Access tokens: JWS compact JWTs per RFC 9068 (`typ: at+jwt`, `kid`).
 * Signing and verification go through fast-jwt (pinned to an exact version,
 * see docs/JWT-LIBRARY.md for the measurement and the reasoning) with the
 * keys of a SigningKeys ring, each verifier pinned to the one configured
 * algorithm and its own key, requiring typ, iss, aud and every claim we
 * issue; unknown `crit` extensions are refused by the library. `exp` and
 * `nbf` are checked here, against the injected clock (fast-jwt can only
 * read a clock fixed when the verifier is made, or Date.now()).
 */
import { randomUUID } from 'node:crypto';
import { createDecoder, TokenError } from 'fast-jwt';
import type { Clock } from '../clock.js';
import { InvalidTokenError } from '../errors.js';
import { HmacKeys, type SigningKeys, type VerifyFunction } from '../keys/key-ring.js';
import { isHmacAlgorithm, type AccessTokenAlgorithm } from './algorithms.js';
import { formatScopes } from './scopes.js';

export { ACCESS_TOKEN_TYPE } from '../keys/key-ring.js';

export interface AccessTokenClaims {
  readonly sub: string;
  readonly scope: string;
  readonly iss: string;
  readonly aud?: string;
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
  readonly jti: string;
  /** The session (login) a user's token belongs to; absent on client-credentials tokens. */
  readonly sid?: string;
  /** The user's token version at issue; a password change bumps it (private claim). */
  readonly ver?: number;
  /** The client the token was issued to (RFC 9068 §2.2), when one authenticated. */
  readonly client_id?: string;
}

export interface AccessTokenBinding {
  readonly sessionId?: string;
  readonly tokenVersion?: number;
  readonly clientId?: string;
}

export interface AccessTokenSettings {
  readonly algorithm: AccessTokenAlgorithm;
  readonly secretKey: string;
  readonly issuer: string;
  readonly audience: string | undefined;
  readonly ttlSeconds: number;
  readonly clockToleranceSeconds: number;
}

export interface IssuedAccessToken {
  readonly token: string;
  readonly claims: AccessTokenClaims;
  readonly expiresInSeconds: number;
}

const REQUIRED_CLAIMS = ['sub', 'exp', 'iat', 'nbf', 'jti', 'iss', 'scope'];
/** Far above any token we issue; a longer bearer value is refused before any parsing. */
export const MAX_ACCESS_TOKEN_LENGTH = 4096;

export function requiredClaims(audience: string | undefined): readonly string[] {
  return audience === undefined ? REQUIRED_CLAIMS : [...REQUIRED_CLAIMS, 'aud'];
}

const decodeHeader = createDecoder({ complete: true, checkTyp: undefined }) as (token: string) => {
  header: Record<string, unknown>;
};

export class AccessTokenCodec {
  private readonly keys: SigningKeys;

  /** `keys` defaults to SECRET_KEY as the one HMAC key (an HMAC `algorithm` is then required). */
  constructor(
    private readonly settings: AccessTokenSettings,
    private readonly clock: Clock,
    keys?: SigningKeys,
  ) {
    if (keys) {
      this.keys = keys;
    } else if (isHmacAlgorithm(settings.algorithm)) {
      this.keys = new HmacKeys(settings.algorithm, settings.secretKey, {
        issuer: settings.issuer,
        audience: settings.audience,
        requiredClaims: requiredClaims(settings.audience),
      });
    } else {
      throw new TypeError(`${settings.algorithm} needs a key ring`);
    }
  }

  issue(subject: string, scopes: readonly string[], binding: AccessTokenBinding = {}): IssuedAccessToken {
    const iat = Math.floor(this.clock.now() / 1000);
    const claims: AccessTokenClaims = {
      sub: subject,
      scope: formatScopes(scopes),
      iss: this.settings.issuer,
      ...(this.settings.audience === undefined ? {} : { aud: this.settings.audience }),
      iat,
      nbf: iat,
      exp: iat + this.settings.ttlSeconds,
      jti: randomUUID(),
      ...(binding.sessionId === undefined ? {} : { sid: binding.sessionId }),
      ...(binding.tokenVersion === undefined ? {} : { ver: binding.tokenVersion }),
      ...(binding.clientId === undefined ? {} : { client_id: binding.clientId }),
    };
    return { token: this.keys.signer().sign({ ...claims }), claims, expiresInSeconds: this.settings.ttlSeconds };
  }

  /** Returns the claims of a valid token; throws InvalidTokenError for anything else. */
  async verify(token: string): Promise<AccessTokenClaims> {
    if (token.length > MAX_ACCESS_TOKEN_LENGTH) throw new InvalidTokenError();
    let payload: Record<string, unknown>;
    try {
      payload = (await this.verifierFor(token))(token);
    } catch (error) {
      if (error instanceof TokenError) throw new InvalidTokenError({ cause: error.code });
      throw error;
    }
    const { sub, scope, iss, aud, iat, nbf, exp, jti, sid, ver, client_id: clientId } = payload;
    if (
      typeof sub !== 'string' ||
      sub === '' ||
      typeof scope !== 'string' ||
      typeof iss !== 'string' ||
      typeof jti !== 'string' ||
      typeof iat !== 'number' ||
      typeof nbf !== 'number' ||
      typeof exp !== 'number' ||
      (sid !== undefined && typeof sid !== 'string') ||
      (ver !== undefined && !Number.isInteger(ver)) ||
      (clientId !== undefined && typeof clientId !== 'string')
    ) {
      throw new InvalidTokenError({ cause: 'claim types' });
    }
    const nowMs = this.clock.now();
    const toleranceMs = this.settings.clockToleranceSeconds * 1000;
    if (!(nowMs <= exp * 1000 + toleranceMs)) throw new InvalidTokenError({ cause: 'expired' });
    if (!(nowMs >= nbf * 1000 - toleranceMs)) throw new InvalidTokenError({ cause: 'not yet valid' });
    return {
      sub,
      scope,
      iss,
      ...(typeof aud === 'string' ? { aud } : {}),
      iat,
      nbf,
      exp,
      jti,
      ...(typeof sid === 'string' ? { sid } : {}),
      ...(typeof ver === 'number' ? { ver } : {}),
      ...(typeof clientId === 'string' ? { client_id: clientId } : {}),
    };
  }

  /**
   * The verifier of the token's `kid`. A kid this process does not know may
   * be a key another instance just created: the ring looks again (rate
   * limited) before the token is refused. HMAC tokens without a kid are
   * checked against the one HMAC key.
   */
  private async verifierFor(token: string): Promise<VerifyFunction> {
    const { header } = decodeHeader(token);
    const kid = header.kid;
    if (kid === undefined && isHmacAlgorithm(this.keys.algorithm)) {
      const only = this.keys.verifier(this.keys.signer().kid);
      if (only) return only;
    }
    if (typeof kid !== 'string') throw new InvalidTokenError({ cause: 'no kid' });
    let verify = this.keys.verifier(kid);
    if (!verify) {
      await this.keys.reloadForUnknownKid();
      verify = this.keys.verifier(kid);
    }
    if (!verify) throw new InvalidTokenError({ cause: 'unknown kid' });
    return verify;
  }

  /** The JWK Set that verifies these tokens (public keys only; empty for HMAC). */
  jwks(): { readonly keys: readonly object[] } {
    return this.keys.jwks();
  }
}
