/**
 * What the revocation feed has said, as the verifier keeps it: revoked session ids, and sessions whose tokens
 * below a `ver` are revoked (a password change), each until no token of it can still verify. Entries sit in the
 * order they were added, which is the order they expire in, so pruning drops from the front and costs what it
 * removes.
 */
export class RevokedSessions {
  /** sid → when it may be forgotten (ms). */
  private readonly sessions = new Map<string, number>();
  /** sid → the lowest `ver` its tokens may carry, and when it may be forgotten. */
  private readonly versions = new Map<string, { readonly minVersion: number; readonly forgetAtMs: number }>();

  /** Every token of `sid` is revoked, until `forgetAtMs`. */
  addSession(sid: string, forgetAtMs: number): void {
    this.sessions.delete(sid);
    this.sessions.set(sid, forgetAtMs);
  }

  /** Tokens of `sid` with a `ver` below `minVersion` are revoked, until `forgetAtMs`. */
  addVersion(sid: string, minVersion: number, forgetAtMs: number): void {
    const known = this.versions.get(sid);
    this.versions.delete(sid);
    this.versions.set(sid, { minVersion: Math.max(minVersion, known?.minVersion ?? minVersion), forgetAtMs });
  }

  /** Whether a token of session `sid` carrying `ver` (undefined: none) is revoked. */
  isRevoked(sid: string, ver: number | undefined): boolean {
    if (this.sessions.has(sid)) return true;
    const version = this.versions.get(sid);
    // A token without a version cannot show it was issued after the change.
    return version !== undefined && (ver === undefined || ver < version.minVersion);
  }

  /** Forgets the entries whose time has come. */
  prune(nowMs: number): void {
    for (const [sid, forgetAtMs] of this.sessions) {
      if (forgetAtMs > nowMs) break;
      this.sessions.delete(sid);
    }
    for (const [sid, { forgetAtMs }] of this.versions) {
      if (forgetAtMs > nowMs) break;
      this.versions.delete(sid);
    }
  }

  /** Entries held. */
  get size(): number {
    return this.sessions.size + this.versions.size;
  }
}
