/**
 * Password hashing: argon2id for every new hash (@node-rs/argon2, off the event loop: on the server's hashing
 * threads when it has them, else on libuv's pool), verification of imported hashes (bcrypt through
 * @node-rs/bcrypt, argon2i/argon2id of their own parameters, and the node:crypto formats of legacy/: PBKDF2,
 * scrypt, SHA-crypt, phpass, salted SHA), and the rule for when a stored hash is upgraded (anything but
 * argon2id at the configured parameters); all of it through one WorkLimiter (ADR 0007, ADR 0026).
 */
import { randomBytes } from 'node:crypto';
import type * as Argon2 from '@node-rs/argon2';
import type * as Bcrypt from '@node-rs/bcrypt';
import type { Argon2Parameters } from '../config.js';
import type { PasswordHasher } from '../ports.js';
import { normalizePassword } from './password-policy.js';
import { argon2idOptions } from './argon2-options.js';
import { checkImportableHash, identifyHash, verifyLegacyHash, type HashKind, type ImportableHashOptions } from './legacy/hash-formats.js';
import type { HashJob, HashThreads } from './hash-threads.js';
import type { WorkLimiter } from './work-limiter.js';
import { VerificationPadding } from './verification-padding.js';

let poolBindings: Promise<{ readonly argon2: typeof Argon2; readonly bcrypt: typeof Bcrypt }> | undefined;

/**
 * The bindings for hashing on libuv's pool, loaded on first use: a server hashes on its own threads
 * (which load their own), so its start need not load these native modules too (~10 ms).
 */
function libuvPoolBindings(): Promise<{ readonly argon2: typeof Argon2; readonly bcrypt: typeof Bcrypt }> {
  poolBindings ??= Promise.all([import('@node-rs/argon2'), import('@node-rs/bcrypt')]).then(([argon2, bcrypt]) => ({ argon2, bcrypt }));
  return poolBindings;
}

const ARGON2ID_PREFIX = '$argon2id$';
const ARGON2_PARAMS = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/;

export type { HashKind } from './legacy/hash-formats.js';

/** The kind of a stored hash; every `$argon2id$` string counts as argon2id (a malformed one then fails to verify). */
export function hashKind(stored: string): HashKind | 'unknown' {
  if (stored.startsWith(ARGON2ID_PREFIX)) return 'argon2id';
  return identifyHash(stored)?.kind ?? 'unknown';
}

/** Whether an import takes this hash (checkImportableHash says why not). */
export function isSupportedHash(stored: string, options: ImportableHashOptions = {}): boolean {
  return checkImportableHash(stored, options).ok;
}

export class Argon2PasswordHasher implements PasswordHasher {
  private dummyHash: Promise<string> | undefined;
  /** How long argon2id verifications at the configured parameters take: cheaper imported hashes are padded to it. */
  private readonly padding = new VerificationPadding();

  /** Without `threads`, hashes run on libuv's pool (one-off commands). */
  constructor(
    private readonly params: Argon2Parameters,
    private readonly limiter: WorkLimiter,
    private readonly threads?: HashThreads,
  ) {}

  /** Hashes the NFKC-normalised password with argon2id at the configured parameters. */
  hash(password: string): Promise<string> {
    return this.limiter.run(
      () => this.execute({ op: 'argon2-hash', password: normalizePassword(password), params: this.params }) as Promise<string>,
    );
  }

  /**
   * Portcullis made its argon2id hashes from the normalised password; imported hashes were made by
   * other systems from the password exactly as typed. An argon2id hash may be either: when the
   * normalised form does not match and differs from what was typed, the typed form is tried too.
   * A hash an import would refuse (absurd parameters, only in a hand-written row) verifies nothing.
   */
  verify(stored: string, password: string): Promise<boolean> {
    if (stored.startsWith(ARGON2ID_PREFIX)) {
      const own = !this.needsRehash(stored);
      return this.limiter.run(async () => {
        const started = this.padding.start();
        const normalized = normalizePassword(password);
        const matched =
          (await this.check({ op: 'argon2-verify', hash: stored, password: normalized })) ||
          (normalized !== password && (await this.check({ op: 'argon2-verify', hash: stored, password })));
        if (own) this.padding.record(started);
        else await this.padding.padFrom(started);
        return matched;
      });
    }
    const identified = identifyHash(stored);
    if (!identified || identified.refusal !== undefined) return this.verifyDummy(password);
    const { verification } = identified;
    const job: HashJob =
      verification.op === 'bcrypt-verify'
        ? { op: 'bcrypt-verify', ...verification.input(password) }
        : { op: verification.op, hash: stored, password };
    return this.limiter.run(async () => {
      // An imported hash: not cheaper than an unknown user's dummy verification (verification-padding.ts).
      const started = this.padding.start();
      const matched = await this.check(job);
      await this.padding.padFrom(started);
      return matched;
    });
  }

  /** The typical duration of an argon2id verification here, once one was made (import-login-cost.ts compares with it). */
  typicalVerifyMs(): number | undefined {
    return this.padding.typicalMs();
  }

  /** Costs what a real verification costs, for logins of users that do not exist. */
  async verifyDummy(password: string): Promise<false> {
    const dummy = await this.dummy();
    await this.limiter.run(async () => {
      const started = this.padding.start();
      await this.check({ op: 'argon2-verify', hash: dummy, password: normalizePassword(password) });
      this.padding.record(started);
    });
    return false;
  }

  /** A verification. A stored hash the library cannot read counts as a mismatch (on a hashing thread too). */
  private async check(job: HashJob): Promise<boolean> {
    return (await this.execute(job)) === true;
  }

  /** A failure here is the machinery's (a hashing thread gone), never a wrong password. */
  private async execute(job: HashJob): Promise<string | boolean> {
    if (this.threads) return this.threads.run(job);
    const { argon2, bcrypt } = await libuvPoolBindings();
    switch (job.op) {
      case 'argon2-hash':
        return argon2.hash(job.password, argon2idOptions(job.params));
      case 'argon2-verify':
        return argon2.verify(job.hash, job.password).catch(() => false);
      case 'bcrypt-verify':
        return bcrypt.verify(job.password, job.hash).catch(() => false);
      case 'legacy-verify':
        return verifyLegacyHash(job.hash, job.password).catch(() => false);
    }
  }

  /** Prepares the dummy hash ahead of the first login, so that login is not slower than the rest. */
  async warmUp(): Promise<void> {
    await this.dummy();
    // One verification, so that imported hashes are padded from the first login on.
    await this.verifyDummy(randomBytes(16).toString('base64url'));
  }

  /** Made once; a failed attempt (e.g. OverloadedError) is forgotten so that the next call tries again. */
  private dummy(): Promise<string> {
    this.dummyHash ??= this.hash(randomBytes(32).toString('base64url')).catch((error: unknown) => {
      this.dummyHash = undefined;
      throw error;
    });
    return this.dummyHash;
  }

  needsRehash(stored: string): boolean {
    const match = ARGON2_PARAMS.exec(stored);
    if (!match) return true;
    const [, m, t, p] = match;
    return Number(m) !== this.params.memoryKiB || Number(t) !== this.params.iterations || Number(p) !== this.params.parallelism;
  }
}
