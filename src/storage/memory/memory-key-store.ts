/**
 * KeyStore in a Map, oldest first. `rotate` checks and changes everything
 * before it returns, so it is atomic in one process, and refuses (false) as
 * the SQL store does when the keys are not in the states it expects.
 */
import type { KeyState, SigningKeyRecord } from '../../core/keys/signing-key.js';
import type { KeyStore } from '../../core/ports.js';

export class MemoryKeyStore implements KeyStore {
  private readonly byKid = new Map<string, SigningKeyRecord>();

  async list(): Promise<SigningKeyRecord[]> {
    // Map order is insertion order; a stable sort keeps it for keys created at the same time.
    return [...this.byKid.values()].sort((a, b) => a.createdAt - b.createdAt);
  }

  async insert(key: SigningKeyRecord): Promise<void> {
    if (this.byKid.has(key.kid)) throw new Error(`signing key ${key.kid} exists already`);
    this.byKid.set(key.kid, Object.freeze({ ...key }));
  }

  async rotate(rotation: {
    readonly currentKid: string | null;
    readonly nextKid: string;
    readonly newNext: SigningKeyRecord;
    readonly nowMs: number;
  }): Promise<boolean> {
    const next = this.byKid.get(rotation.nextKid);
    if (next?.state !== 'next') return false;
    const current = rotation.currentKid === null ? undefined : this.byKid.get(rotation.currentKid);
    if (rotation.currentKid !== null && current?.state !== 'current') return false;
    if (this.byKid.has(rotation.newNext.kid)) throw new Error(`signing key ${rotation.newNext.kid} exists already`);
    this.byKid.set(next.kid, Object.freeze({ ...next, state: 'current', activatedAt: rotation.nowMs }));
    if (current) this.byKid.set(current.kid, Object.freeze({ ...current, state: 'retired', retiredAt: rotation.nowMs }));
    this.byKid.set(rotation.newNext.kid, Object.freeze({ ...rotation.newNext }));
    return true;
  }

  async retire(kid: string, fromState: KeyState, nowMs: number): Promise<boolean> {
    const key = this.byKid.get(kid);
    if (key?.state !== fromState) return false;
    this.byKid.set(kid, Object.freeze({ ...key, state: 'retired', retiredAt: nowMs }));
    return true;
  }

  async remove(kid: string): Promise<boolean> {
    return this.byKid.delete(kid);
  }
}
