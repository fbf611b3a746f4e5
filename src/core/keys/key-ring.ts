/**
 * The keys that sign and verify access tokens, as the codec sees them.
 * HMAC: one key, SECRET_KEY, never published. Asymmetric: the keys in the
 * key store (shared by every instance), loaded and kept fresh here; only the
 * current key's private half is ever decrypted (ADR 0006).
 */
import { createHash, hkdfSync } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';
import type { Clock } from '../clock.js';
import type { ChangeSource, KeyStore } from '../ports.js';
import type { SealedBox } from '../sealed-box.js';
import type { AccessTokenAlgorithm, AsymmetricAlgorithm, HmacAlgorithm } from '../tokens/algorithms.js';
import { publicPemOf } from './key-material.js';
import type { PublicJwk, SigningKeyRecord } from './signing-key.js';

export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface VerifierPolicy {
  readonly issuer: string;
  readonly audience: string | undefined;
  readonly requiredClaims: readonly string[];
}

export type VerifyFunction = (token: string) => Record<string, unknown>;

export interface TokenSigner {
  readonly kid: string;
  readonly algorithm: AccessTokenAlgorithm;
  sign(payload: Record<string, unknown>): string;
}

/**
 * signer() and verifier() answer from the keys in hand. Before using them, a caller checks
 * isCurrent() and, when it is false, awaits reload(): a key set that a committed change (a rotation,
 * a retirement, by this process or another) may have superseded must not sign, verify or be published.
 */
export interface SigningKeys {
  readonly algorithm: AccessTokenAlgorithm;
  /** Whether the keys in hand reflect every committed change this process can know of. */
  isCurrent(): boolean;
  /** Resolves once a load that started after this call has finished. */
  reload(): Promise<void>;
  signer(): TokenSigner;
  /** The pinned verifier of a key, or undefined for a kid this ring does not hold. */
  verifier(kid: string): VerifyFunction | undefined;
  /** After an unknown kid: look at the store again (at most once a second), in case another instance rotated. */
  reloadForUnknownKid(): Promise<void>;
}

export function pinnedVerifier(key: string | Buffer, algorithm: AccessTokenAlgorithm, policy: VerifierPolicy): VerifyFunction {
  return createVerifier({
    key,
    algorithms: [algorithm],
    checkTyp: ACCESS_TOKEN_TYPE,
    allowedIss: policy.issuer,
    ...(policy.audience === undefined ? {} : { allowedAud: policy.audience }),
    requiredClaims: [...policy.requiredClaims],
    // exp and nbf are checked by the codec against its injected clock.
    ignoreExpiration: true,
    ignoreNotBefore: true,
    cache: false,
    complete: false,
  }) as VerifyFunction;
}

/** The JWT types we sign: access tokens (RFC 9068), ID tokens, and back-channel logout tokens. */
export type TokenType = typeof ACCESS_TOKEN_TYPE | 'JWT' | 'logout+jwt';

export function signerFor(
  key: string | Buffer,
  algorithm: AccessTokenAlgorithm,
  kid: string,
  typ: TokenType = ACCESS_TOKEN_TYPE,
): TokenSigner {
  const sign = createSigner({ key, algorithm, kid, header: { alg: algorithm, typ } }) as (payload: Record<string, unknown>) => string;
  return { kid, algorithm, sign };
}

/** SECRET_KEY as an HMAC key. Its kid is derived from the key (one-way), so a new SECRET_KEY has a new kid. */
export class HmacKeys implements SigningKeys {
  private readonly current: TokenSigner;
  private readonly verify: VerifyFunction;

  constructor(
    readonly algorithm: HmacAlgorithm,
    secretKey: string,
    policy: VerifierPolicy,
  ) {
    const key = Buffer.from(secretKey, 'utf8');
    const kidSeed = Buffer.from(hkdfSync('sha256', key, 'portcullis', 'hmac-kid/v1', 32));
    const kid = `hs-${createHash('sha256').update(kidSeed).digest('base64url').slice(0, 16)}`;
    this.current = signerFor(key, algorithm, kid);
    this.verify = pinnedVerifier(key, algorithm, policy);
  }

  /** SECRET_KEY is the key: nothing else can change it. */
  isCurrent(): boolean {
    return true;
  }

  async reload(): Promise<void> {}

  signer(): TokenSigner {
    return this.current;
  }

  verifier(kid: string): VerifyFunction | undefined {
    return kid === this.current.kid ? this.verify : undefined;
  }

  async reloadForUnknownKid(): Promise<void> {}
}

interface LoadedKeys {
  readonly signer: TokenSigner | undefined;
  /** The current key's private half (decrypted once), for the signers of other token types. */
  readonly signingKey: { readonly kid: string; readonly privatePem: string } | undefined;
  /** By kid, with the public JWK each verifier was made from (an unchanged key keeps its verifier). */
  readonly verifiers: ReadonlyMap<string, { readonly jwk: string; readonly verify: VerifyFunction }>;
  readonly published: readonly PublicJwk[];
}

const EMPTY: LoadedKeys = { signer: undefined, signingKey: undefined, verifiers: new Map(), published: [] };
const RELOAD_EVERY_MS = 30_000;
const UNKNOWN_KID_RELOAD_INTERVAL_MS = 1_000;

/**
 * Keys from the store: next, current and retired verify; current signs; all three are published.
 *
 * The keys in hand are current while nothing can have changed since they were loaded: the storage's
 * change version has not moved (SQLite's data_version moves with every commit of another process,
 * the CLI's included; on PostgreSQL it is the change bus's epoch, undefined while the bus cannot
 * hear) and no key change was announced on the bus since (changed()). Otherwise callers await
 * reload() first, so a request that arrives after a change was committed, or announced, is
 * answered from keys loaded after it.
 */
export class AsymmetricKeyRing implements SigningKeys {
  private loaded: LoadedKeys = EMPTY;
  private loadedAt = 0;
  private seenVersion: number | undefined;
  /** Key changes announced by other processes, and how many of them the keys in hand reflect. */
  private announced = 0;
  private seenAnnounced = 0;
  private hasLoaded = false;
  private reloading: Promise<void> | undefined;
  private reloadAgain: Promise<void> | undefined;
  private lastUnknownKidReload = 0;
  private readonly typedSigners = new Map<TokenType, TokenSigner>();

  constructor(
    readonly algorithm: AsymmetricAlgorithm,
    private readonly store: KeyStore,
    private readonly box: SealedBox,
    private readonly policy: VerifierPolicy,
    private readonly clock: Clock,
    private readonly changes: ChangeSource,
  ) {}

  isCurrent(): boolean {
    const version = this.changes.version();
    const current = this.hasLoaded && version !== undefined && version === this.seenVersion && this.seenAnnounced === this.announced;
    if (current) this.refreshInBackground();
    return current;
  }

  /** Another process announced a key change: the keys in hand are superseded until a load after this call. */
  changed(): Promise<void> {
    this.announced += 1;
    return this.reload();
  }

  /** Resolves once a load that started after this call has finished (a load already running may predate the change). */
  async reload(): Promise<void> {
    if (!this.reloading) {
      this.reloading = this.load().finally(() => {
        this.reloading = undefined;
      });
      return this.reloading;
    }
    this.reloadAgain ??= this.reloading
      .catch(() => undefined)
      .then(() => {
        this.reloadAgain = undefined;
        return this.reload();
      });
    return this.reloadAgain;
  }

  signer(): TokenSigner {
    if (!this.loaded.signer) throw new Error(`no current ${this.algorithm} signing key is loaded`);
    return this.loaded.signer;
  }

  /** Whether a current key is loaded (with an HMAC ALGORITHM there is none until the first ID token needs one). */
  hasSigner(): boolean {
    return this.loaded.signer !== undefined;
  }

  /** The current key's signer for another token type (ID and logout tokens), made once per key. */
  typedSigner(typ: TokenType): TokenSigner {
    const key = this.loaded.signingKey;
    if (!key) throw new Error(`no current ${this.algorithm} signing key is loaded`);
    const made = this.typedSigners.get(typ);
    if (made?.kid === key.kid) return made;
    const signer = signerFor(key.privatePem, this.algorithm, key.kid, typ);
    this.typedSigners.set(typ, signer);
    return signer;
  }

  verifier(kid: string): VerifyFunction | undefined {
    return this.loaded.verifiers.get(kid)?.verify;
  }

  async reloadForUnknownKid(): Promise<void> {
    const now = this.clock.now();
    if (now - this.lastUnknownKidReload < UNKNOWN_KID_RELOAD_INTERVAL_MS) return;
    this.lastUnknownKidReload = now;
    await this.reload();
  }

  /** RFC 7517 JWK Set of the keys in hand: public members only (the JWKS of access and ID tokens). */
  jwks(): { readonly keys: readonly PublicJwk[] } {
    return { keys: this.loaded.published };
  }

  /** It has been a while: load again, without blocking this call (a backstop; changes are caught by isCurrent). */
  private refreshInBackground(): void {
    if (this.clock.now() - this.loadedAt < RELOAD_EVERY_MS || this.reloading) return;
    void this.reload().catch(() => undefined);
  }

  private async load(): Promise<void> {
    // Read before the keys: a change committed in between makes the next check load again, never the reverse.
    const version = this.changes.version();
    const announced = this.announced;
    const records = (await this.store.list()).filter((record) => record.algorithm === this.algorithm);
    const verifiers = new Map<string, { readonly jwk: string; readonly verify: VerifyFunction }>();
    let signer: TokenSigner | undefined;
    let signingKey: LoadedKeys['signingKey'];
    for (const record of records) {
      const jwk = JSON.stringify(record.publicJwk);
      const kept = this.loaded.verifiers.get(record.kid);
      // The same verifier for an unchanged key: the codec's memory of verified tokens is keyed by it.
      verifiers.set(
        record.kid,
        kept?.jwk === jwk ? kept : { jwk, verify: pinnedVerifier(publicPemOf(record.publicJwk), this.algorithm, this.policy) },
      );
      if (record.state === 'current') {
        signingKey = this.openKey(record);
        signer = this.loaded.signer?.kid === record.kid ? this.loaded.signer : signerFor(signingKey.privatePem, this.algorithm, record.kid);
      }
    }
    this.loaded = { signer, signingKey, verifiers, published: records.map((record) => record.publicJwk) };
    this.loadedAt = this.clock.now();
    this.seenVersion = version;
    this.seenAnnounced = announced;
    this.hasLoaded = true;
  }

  private openKey(record: SigningKeyRecord): { readonly kid: string; readonly privatePem: string } {
    if (this.loaded.signingKey?.kid === record.kid) return this.loaded.signingKey;
    const privatePem = this.box.open(record.privateSealed, record.kid);
    if (privatePem === undefined) {
      throw new Error(`signing key ${record.kid} cannot be decrypted: was SECRET_KEY changed?`);
    }
    return { kid: record.kid, privatePem };
  }
}
