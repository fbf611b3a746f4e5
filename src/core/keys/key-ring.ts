/**
 * The keys that sign and verify access tokens, as the codec sees them.
 * HMAC: one key, SECRET_KEY, never published. Asymmetric: the keys in the
 * key store (shared by every instance), loaded and kept fresh here; only the
 * current key's private half is ever decrypted.
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

export interface SigningKeys {
  readonly algorithm: AccessTokenAlgorithm;
  signer(): TokenSigner;
  /** The pinned verifier of a key, or undefined for a kid this ring does not hold. */
  verifier(kid: string): VerifyFunction | undefined;
  /** After an unknown kid: look at the store again (at most once a second), in case another instance rotated. */
  reloadForUnknownKid(): Promise<void>;
  /** RFC 7517 JWK Set: public members only; empty for HMAC. */
  jwks(): { readonly keys: readonly PublicJwk[] };
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

export function signerFor(key: string | Buffer, algorithm: AccessTokenAlgorithm, kid: string): TokenSigner {
  const sign = createSigner({ key, algorithm, kid, header: { alg: algorithm, typ: ACCESS_TOKEN_TYPE } }) as (
    payload: Record<string, unknown>,
  ) => string;
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

  signer(): TokenSigner {
    return this.current;
  }

  verifier(kid: string): VerifyFunction | undefined {
    return kid === this.current.kid ? this.verify : undefined;
  }

  async reloadForUnknownKid(): Promise<void> {}

  jwks(): { readonly keys: readonly PublicJwk[] } {
    return { keys: [] };
  }
}

interface LoadedKeys {
  readonly signer: TokenSigner | undefined;
  readonly verifiers: ReadonlyMap<string, VerifyFunction>;
  readonly published: readonly PublicJwk[];
}

const EMPTY: LoadedKeys = { signer: undefined, verifiers: new Map(), published: [] };
const RELOAD_EVERY_MS = 30_000;
const UNKNOWN_KID_RELOAD_INTERVAL_MS = 1_000;

/** Keys from the store: next, current and retired verify; current signs; all three are published. */
export class AsymmetricKeyRing implements SigningKeys {
  private loaded: LoadedKeys = EMPTY;
  private loadedAt = 0;
  private seenVersion: number | undefined;
  private reloading: Promise<void> | undefined;
  private reloadAgain: Promise<void> | undefined;
  private lastUnknownKidReload = 0;

  constructor(
    readonly algorithm: AsymmetricAlgorithm,
    private readonly store: KeyStore,
    private readonly box: SealedBox,
    private readonly policy: VerifierPolicy,
    private readonly clock: Clock,
    private readonly changes: ChangeSource,
  ) {}

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
    this.refreshInBackground();
    if (!this.loaded.signer) throw new Error('no current signing key is loaded');
    return this.loaded.signer;
  }

  verifier(kid: string): VerifyFunction | undefined {
    this.refreshInBackground();
    return this.loaded.verifiers.get(kid);
  }

  async reloadForUnknownKid(): Promise<void> {
    const now = this.clock.now();
    if (now - this.lastUnknownKidReload < UNKNOWN_KID_RELOAD_INTERVAL_MS) return;
    this.lastUnknownKidReload = now;
    await this.reload();
  }

  jwks(): { readonly keys: readonly PublicJwk[] } {
    this.refreshInBackground();
    return { keys: this.loaded.published };
  }

  /** Another process rotated (the storage moved) or it has been a while: load again, without blocking this call. */
  private refreshInBackground(): void {
    const version = this.changes.version();
    if (version === this.seenVersion && this.clock.now() - this.loadedAt < RELOAD_EVERY_MS) return;
    if (this.reloading) return;
    void this.reload().catch(() => undefined);
  }

  private async load(): Promise<void> {
    const version = this.changes.version();
    const records = (await this.store.list()).filter((record) => record.algorithm === this.algorithm);
    const verifiers = new Map<string, VerifyFunction>();
    let signer: TokenSigner | undefined;
    for (const record of records) {
      verifiers.set(record.kid, pinnedVerifier(publicPemOf(record.publicJwk), this.algorithm, this.policy));
      if (record.state === 'current') signer = this.openSigner(record);
    }
    this.loaded = { signer: signer ?? this.loaded.signer, verifiers, published: records.map((record) => record.publicJwk) };
    this.loadedAt = this.clock.now();
    this.seenVersion = version;
  }

  private openSigner(record: SigningKeyRecord): TokenSigner {
    if (this.loaded.signer?.kid === record.kid) return this.loaded.signer;
    const privatePem = this.box.open(record.privateSealed, record.kid);
    if (privatePem === undefined) {
      throw new Error(`signing key ${record.kid} cannot be decrypted: was SECRET_KEY changed?`);
    }
    return signerFor(privatePem, this.algorithm, record.kid);
  }
}
