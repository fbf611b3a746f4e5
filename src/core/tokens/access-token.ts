/**
 * Access tokens: JWS compact JWTs per RFC 9068 (`typ: at+jwt`, `kid`), signed and verified through fast-jwt
 * with the keys of a SigningKeys ring, each verifier pinned to the configured algorithm and its own key and
 * requiring typ, iss, aud and every claim we issue; `exp` and `nbf` are checked here, against the injected
 * clock. Why fast-jwt, pinned to an exact version: ADR 0003 and docs/JWT-LIBRARY.md.
 */
import { randomUUID } from 'node:crypto';
import { createDecoder, TokenError } from 'fast-jwt';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import { InvalidTokenError } from '../errors.js';
import type { SessionAuthentication } from '../factors/factor.js';
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
  /** The user's address when the token was issued (OpenID Connect standard claim), when it has one. */
  readonly email?: string;
  /** Whether that address was verified when the token was issued (OpenID Connect); a verification after it shows on the next refresh. */
  readonly email_verified?: boolean;
  /** How the login was proved (RFC 8176 values; ADR 0024); a user's tokens only. */
  readonly amr?: readonly string[];
  /** The login's strength: `urn:portcullis:acr:pwd` or `urn:portcullis:acr:mfa` (ADR 0024). */
  readonly acr?: string;
  /** When the user last proved who they are (seconds since the epoch; OpenID Connect, RFC 9470). */
  readonly auth_time?: number;
}

export interface AccessTokenBinding {
  readonly sessionId?: string;
  readonly tokenVersion?: number;
  readonly clientId?: string;
  /** The user's address and whether it is verified: the `email` and `email_verified` claims. */
  readonly email?: string;
  readonly emailVerified?: boolean;
  /** How the session's login was proved: the `amr`, `acr` and `auth_time` claims. */
  readonly authentication?: SessionAuthentication;
}

export interface AccessTokenSettings {
  readonly algorithm: AccessTokenAlgorithm;
  readonly secretKey: string;
  readonly issuer: string;
  readonly audience: string | undefined;
  readonly ttlSeconds: number;
  readonly clockToleranceSeconds: number;
  /** How many verified tokens to remember and for how long (0 entries: none); see AccessTokenCodec. */
  readonly verifiedTokens?: { readonly maxEntries: number; readonly ttlMs: number };
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

/** How many distinct token headers verifierFor() remembers the kid of. */
const MAX_REMEMBERED_HEADERS = 64;

export class AccessTokenCodec {
  private readonly keys: SigningKeys;
  /**
   * The kid of each token header seen with a kid this ring holds, by the header's exact base64url
   * segment: every token one key signs has the same header bytes, so the header is decoded once
   * per key, not per request. It only chooses the verifier; the verifier checks the whole token.
   */
  private readonly kidByHeader = new Map<string, string>();
  /**
   * The claims of tokens fast-jwt verified (and whose claims had the right types), by the exact
   * token and the verifier that checked it: a token presented again (every request of a client, until it refreshes) is not
   * decoded and its signature not recomputed. A hit needs the same verifier to be the token's
   * kid's now, so a key that is gone takes its tokens with it; exp and nbf are checked on every
   * use. Only successes are kept. (fast-jwt's own cache keys entries by a SHA-2 hash of the
   * token, which costs about what it saves; keyed by the token itself it warns at start.)
   * Entries are found by the token's signature segment, a sixth of its length (so a look-up hashes
   * less), and count only when the whole token is the one remembered.
   */
  private readonly verified:
    LRUCache<string, { readonly token: string; readonly verify: VerifyFunction; readonly claims: AccessTokenClaims }> | undefined;

  /** `keys` defaults to SECRET_KEY as the one HMAC key (an HMAC `algorithm` is then required). */
  constructor(
    private readonly settings: AccessTokenSettings,
    private readonly clock: Clock,
    keys?: SigningKeys,
  ) {
    const remember = settings.verifiedTokens;
    this.verified =
      remember && remember.maxEntries > 0 && remember.ttlMs > 0
        ? new LRUCache({ max: remember.maxEntries, ttl: remember.ttlMs })
        : undefined;
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

  /** Signs with the current key, as the store says now (never a key a committed change has replaced). */
  async issue(subject: string, scopes: readonly string[], binding: AccessTokenBinding = {}): Promise<IssuedAccessToken> {
    if (!this.keys.isCurrent()) await this.keys.reload();
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
      ...(binding.email === undefined ? {} : { email: binding.email, email_verified: binding.emailVerified === true }),
      ...(binding.authentication === undefined
        ? {}
        : {
            amr: [...binding.authentication.amr],
            acr: binding.authentication.acr,
            auth_time: Math.floor(binding.authentication.authTime / 1000),
          }),
    };
    return { token: this.keys.signer().sign({ ...claims }), claims, expiresInSeconds: this.settings.ttlSeconds };
  }

  /**
   * Returns the claims of a valid token; throws InvalidTokenError for anything else. Checked
   * against keys that reflect every change committed before the call (see SigningKeys).
   */
  async verify(token: string): Promise<AccessTokenClaims> {
    if (!this.keys.isCurrent()) await this.keys.reload();
    const verify = this.verifierFor(token);
    if (verify) return this.claimsOf(verify, token);
    // A kid this process does not know may be a key another instance just created: the ring looks
    // again (rate limited) before the token is refused.
    await this.keys.reloadForUnknownKid();
    const again = this.verifierFor(token);
    if (!again) throw new InvalidTokenError({ cause: 'unknown kid' });
    return this.claimsOf(again, token);
  }

  /**
   * verify() without going to the key store: the claims of a valid token, InvalidTokenError for an
   * invalid one, and undefined when the token names a kid this process does not hold or when the
   * keys in hand may have been superseded (then verify() loads them). With `rememberedOnly`,
   * undefined also for a token it has not verified before (it verifies nothing new).
   */
  verifyKnown(token: string, rememberedOnly = false): AccessTokenClaims | undefined {
    if (!this.keys.isCurrent()) return undefined;
    const verify = this.verifierFor(token);
    if (verify === undefined) return undefined;
    if (!rememberedOnly) return this.claimsOf(verify, token);
    const remembered = this.rememberedClaims(verify, token);
    return remembered === undefined ? undefined : this.current(remembered);
  }

  /** The claims of a token its kid's verifier accepts, checked against the clock on every use. */
  private claimsOf(verify: VerifyFunction, token: string): AccessTokenClaims {
    return this.current(this.rememberedClaims(verify, token) ?? this.verifiedClaims(verify, token));
  }

  /**
   * The claims remembered for exactly this token and verifier. Only compact JWS strings are
   * remembered, so verifyKnown's `rememberedOnly` caller need not have checked the token's syntax.
   */
  private rememberedClaims(verify: VerifyFunction, token: string): AccessTokenClaims | undefined {
    const remembered = this.verified?.get(signatureSegment(token));
    return remembered?.verify === verify && remembered.token === token ? remembered.claims : undefined;
  }

  /** The claims, if the clock is within their exp and nbf (with the configured tolerance). */
  private current(claims: AccessTokenClaims): AccessTokenClaims {
    const nowMs = this.clock.now();
    const toleranceMs = this.settings.clockToleranceSeconds * 1000;
    if (!(nowMs <= claims.exp * 1000 + toleranceMs)) throw new InvalidTokenError({ cause: 'expired' });
    if (!(nowMs >= claims.nbf * 1000 - toleranceMs)) throw new InvalidTokenError({ cause: 'not yet valid' });
    return claims;
  }

  /** fast-jwt's verification and the claims' types, remembered for the token when it passes both. */
  private verifiedClaims(verify: VerifyFunction, token: string): AccessTokenClaims {
    let payload: Record<string, unknown>;
    try {
      payload = verify(token);
    } catch (error) {
      if (error instanceof TokenError) throw new InvalidTokenError({ cause: error.code });
      throw error;
    }
    const { sub, scope, iss, aud, iat, nbf, exp, jti, sid, ver, client_id: clientId, email, email_verified: emailVerified } = payload;
    const { amr, acr, auth_time: authTime } = payload;
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
      (clientId !== undefined && typeof clientId !== 'string') ||
      (email !== undefined && typeof email !== 'string') ||
      (emailVerified !== undefined && typeof emailVerified !== 'boolean') ||
      (amr !== undefined && !(Array.isArray(amr) && amr.every((value) => typeof value === 'string'))) ||
      (acr !== undefined && typeof acr !== 'string') ||
      (authTime !== undefined && typeof authTime !== 'number')
    ) {
      throw new InvalidTokenError({ cause: 'claim types' });
    }
    // Frozen: one object answers every request that presents this token.
    const claims: AccessTokenClaims = Object.freeze({
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
      ...(typeof email === 'string' ? { email } : {}),
      ...(typeof emailVerified === 'boolean' ? { email_verified: emailVerified } : {}),
      ...(Array.isArray(amr) ? { amr: Object.freeze([...(amr as string[])]) } : {}),
      ...(typeof acr === 'string' ? { acr } : {}),
      ...(typeof authTime === 'number' ? { auth_time: authTime } : {}),
    });
    // Only compact JWS strings (three base64url segments): what a bearer header may carry, whatever
    // the caller checked (introspection takes any string; fast-jwt's base64 decoding is lenient).
    if (COMPACT_JWS.test(token)) this.verified?.set(signatureSegment(token), { token, verify, claims });
    return claims;
  }

  /**
   * The verifier of the token's `kid`, or undefined for a kid this process does not hold. HMAC
   * tokens without a kid are checked against the one HMAC key. Throws InvalidTokenError for a
   * token too long or without a usable kid.
   */
  private verifierFor(token: string): VerifyFunction | undefined {
    if (token.length > MAX_ACCESS_TOKEN_LENGTH) throw new InvalidTokenError();
    const headerSegment = token.slice(0, Math.max(0, token.indexOf('.')));
    const rememberedKid = this.kidByHeader.get(headerSegment);
    const remembered = rememberedKid === undefined ? undefined : this.keys.verifier(rememberedKid);
    if (remembered) return remembered;
    let header: Record<string, unknown>;
    try {
      header = decodeHeader(token).header;
    } catch (error) {
      if (error instanceof TokenError) throw new InvalidTokenError({ cause: error.code });
      throw error;
    }
    const kid = header.kid;
    if (kid === undefined && isHmacAlgorithm(this.keys.algorithm)) {
      const only = this.keys.verifier(this.keys.signer().kid);
      if (only) return only;
    }
    if (typeof kid !== 'string') throw new InvalidTokenError({ cause: 'no kid' });
    const verify = this.keys.verifier(kid);
    if (verify) {
      // Variants of a header (another field order, extra members) can only fill it; then it starts over.
      if (this.kidByHeader.size >= MAX_REMEMBERED_HEADERS) this.kidByHeader.clear();
      this.kidByHeader.set(headerSegment, kid);
    }
    return verify;
  }
}

/** What follows a token's last dot: its signature (the key of the verified-token memory). */
function signatureSegment(token: string): string {
  return token.slice(token.lastIndexOf('.') + 1);
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
