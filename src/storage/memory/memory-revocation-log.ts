/**
 * The revocation feed's log in memory, written by MemorySessionStore at each
 * revocation. Same numbering, pruning and cursor rules as the SQL log
 * (storage/sql/revocation-log.ts, which says why); one process, so numbers
 * are in commit order by construction.
 */
import type { RevocationFeedStore, RevocationPage, RevokedSession } from '../../core/ports.js';

interface Entry {
  readonly seq: number;
  readonly session: RevokedSession;
  readonly revokedAtMs: number;
}

export class MemoryRevocationLog implements RevocationFeedStore {
  private entries: Entry[] = [];
  private lastSeq = 0;
  private prunedThrough = 0;

  /** Appends revoked sessions, and prunes entries revoked before `pruneBeforeMs`. */
  append(sessions: readonly RevokedSession[], nowMs: number, pruneBeforeMs: number): void {
    if (sessions.length === 0) return;
    for (const session of sessions) {
      this.lastSeq += 1;
      this.entries.push({ seq: this.lastSeq, session: { ...session }, revokedAtMs: nowMs });
    }
    // Everything numbered up to the newest entry revoked before the bound goes, so no hole is left below it.
    let through = 0;
    for (const entry of this.entries) if (entry.revokedAtMs < pruneBeforeMs) through = entry.seq;
    if (through === 0) return;
    this.entries = this.entries.filter((entry) => entry.seq > through);
    this.prunedThrough = Math.max(this.prunedThrough, through);
  }

  async read(since: number | undefined, revokedSinceMs: number, limit: number): Promise<RevocationPage> {
    const last = this.lastSeq;
    const full = since === undefined || since < this.prunedThrough || since > last;
    const after = full ? 0 : since;
    if (after >= last) return { cursor: last, full, more: false, sessions: [] };
    const matching = this.entries.filter((entry) => entry.seq > after && entry.revokedAtMs >= revokedSinceMs);
    const more = matching.length > limit;
    const page = more ? matching.slice(0, limit) : matching;
    return { cursor: more ? page[page.length - 1]!.seq : last, full, more, sessions: page.map((entry) => ({ ...entry.session })) };
  }
}
