/**
 * The life of asymmetric signing keys: there is always a `next` key, published in the JWKS before it signs
 * anything; a rotation promotes it to `current`, retires the old current and publishes a new next; a retired
 * key stays published until every token it signed has expired, then goes (ADR 0006).
 */
import type { ActionContext } from '../action-context.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { InvalidRequestError, NotFoundError } from '../errors.js';
import type { KeyStore } from '../ports.js';
import type { SealedBox } from '../sealed-box.js';
import type { AsymmetricAlgorithm } from '../tokens/algorithms.js';
import { generateSigningKey } from './key-material.js';
import type { SigningKeyRecord } from './signing-key.js';

export interface KeyServiceSettings {
  readonly algorithm: AsymmetricAlgorithm;
  /** How long a token signed now may be accepted: its lifetime plus the clock tolerance. */
  readonly tokenLifetimeMs: number;
  /** JWKS Cache-Control max-age: a next key must have been published this long before it signs. */
  readonly jwksMaxAgeMs: number;
  /** 0 = no automatic rotation. */
  readonly rotationIntervalMs: number;
}

export interface RotationResult {
  readonly rotated: boolean;
  readonly current: string | undefined;
  readonly retired: string | undefined;
  readonly next: string | undefined;
}

export class KeyService {
  constructor(
    private readonly store: KeyStore,
    private readonly box: SealedBox,
    private readonly clock: Clock,
    private readonly settings: KeyServiceSettings,
    private readonly audit: AuditLog,
    private readonly onChange: () => Promise<void>,
  ) {}

  list(): Promise<SigningKeyRecord[]> {
    return this.store.list();
  }

  /**
   * At start: the configured algorithm has a current and a next key. Keys
   * of another algorithm (ALGORITHM was changed) are retired: tokens they
   * signed are refused from now on anyway.
   */
  async ensure(): Promise<void> {
    const now = this.clock.now();
    let keys = await this.store.list();
    const mine = keys.filter((key) => key.algorithm === this.settings.algorithm);
    this.assertOpens(mine.find((key) => key.state === 'current') ?? mine.find((key) => key.state === 'next'));
    for (const key of keys) {
      if (key.algorithm !== this.settings.algorithm && key.state !== 'retired') await this.store.retire(key.kid, key.state, now);
    }
    keys = (await this.store.list()).filter((key) => key.algorithm === this.settings.algorithm);
    if (!keys.some((key) => key.state === 'current')) await this.store.insert(this.newKey('current', now));
    if (!keys.some((key) => key.state === 'next')) await this.store.insert(this.newKey('next', now));
    await this.onChange();
  }

  /**
   * Promotes the next key. Refused while the next key is younger than the
   * JWKS max-age (caches may not have it yet), unless `force`.
   */
  async rotate(context: ActionContext, options: { readonly force?: boolean } = {}): Promise<RotationResult> {
    const now = this.clock.now();
    const keys = (await this.store.list()).filter((key) => key.algorithm === this.settings.algorithm);
    const current = keys.find((key) => key.state === 'current');
    const next = keys.find((key) => key.state === 'next');
    if (!next) throw new InvalidRequestError('There is no next key to promote; start the server once to create one');
    this.assertOpens(next);
    const publishedForMs = now - next.createdAt;
    if (!options.force && publishedForMs < this.settings.jwksMaxAgeMs) {
      const wait = Math.ceil((this.settings.jwksMaxAgeMs - publishedForMs) / 1000);
      throw new InvalidRequestError(
        `The next key ${next.kid} was published ${Math.floor(publishedForMs / 1000)} s ago; resource servers may cache the JWKS for ${this.settings.jwksMaxAgeMs / 1000} s. Try again in ${wait} s, or force it (tokens it signs may then be refused by caches that have not refetched).`,
      );
    }
    const newNext = this.newKey('next', now);
    const rotated = await this.store.rotate({ currentKid: current?.kid ?? null, nextKid: next.kid, newNext, nowMs: now });
    if (rotated) {
      await this.audit.record({
        type: 'key.rotated',
        outcome: 'success',
        actor: context.actor,
        ip: context.ip,
        details: { current: next.kid, retired: current?.kid ?? null, next: newNext.kid },
      });
    }
    await this.onChange();
    return { rotated, current: next.kid, retired: current?.kid, next: newNext.kid };
  }

  /**
   * Takes a key out of use at once (a compromise): it stops signing and
   * verifying now, so tokens it signed are refused. A current key is first
   * replaced by the next one; a next key is replaced by a fresh one.
   */
  async retire(kid: string, context: ActionContext): Promise<void> {
    const key = (await this.store.list()).find((candidate) => candidate.kid === kid);
    if (!key) throw new NotFoundError(`No signing key ${JSON.stringify(kid)}`);
    // The next key takes over from a current one first, so that something signs; then the key goes.
    if (key.state === 'next') this.assertOpens(key);
    if (key.state === 'current') await this.rotate(context, { force: true });
    await this.store.remove(kid);
    if (key.state === 'next') await this.store.insert(this.newKey('next', this.clock.now()));
    await this.audit.record({
      type: 'key.retired',
      outcome: 'success',
      actor: context.actor,
      ip: context.ip,
      details: { kid, was: key.state },
    });
    await this.onChange();
  }

  /** Removes retired keys whose tokens have all expired; rotates when the schedule says so. */
  async tick(context: ActionContext): Promise<void> {
    const now = this.clock.now();
    const keys = await this.store.list();
    let changed = false;
    for (const key of keys) {
      if (key.state === 'retired' && key.retiredAt !== null && now - key.retiredAt > this.settings.tokenLifetimeMs) {
        changed = (await this.store.remove(key.kid)) || changed;
      }
    }
    const current = keys.find((key) => key.state === 'current' && key.algorithm === this.settings.algorithm);
    const interval = this.settings.rotationIntervalMs;
    if (interval > 0 && current && now - (current.activatedAt ?? current.createdAt) >= interval) {
      const next = keys.find((key) => key.state === 'next' && key.algorithm === this.settings.algorithm);
      if (next && now - next.createdAt >= this.settings.jwksMaxAgeMs) {
        await this.rotate(context);
        return;
      }
    }
    if (changed) await this.onChange();
  }

  /**
   * New keys are sealed under this SECRET_KEY: refuse to add any when it cannot open the keys already
   * there (another SECRET_KEY than the servers'), or the servers could not sign once such a key is promoted.
   */
  private assertOpens(key: SigningKeyRecord | undefined): void {
    if (key && this.box.open(key.privateSealed, key.kid) === undefined) {
      throw new Error(
        `signing key ${key.kid} cannot be decrypted: was SECRET_KEY changed? It must be the SECRET_KEY of the servers that share this database.`,
      );
    }
  }

  private newKey(state: 'current' | 'next', now: number): SigningKeyRecord {
    const generated = generateSigningKey(this.settings.algorithm);
    return {
      kid: generated.kid,
      algorithm: this.settings.algorithm,
      state,
      publicJwk: generated.publicJwk,
      privateSealed: this.box.seal(generated.privatePem, generated.kid),
      createdAt: now,
      activatedAt: state === 'current' ? now : null,
      retiredAt: null,
    };
  }
}
