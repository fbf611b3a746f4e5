/**
 * Follows the Portcullis revocation feed (GET /revocations) for the verifier: polls it every `intervalMs` with
 * a cursor, keeps what it lists in a RevokedSessions set, and answers, per token, whether its session is
 * revoked. When the feed stops answering, what it listed is still refused; once its last good answer is older
 * than `maxStalenessMs`, tokens with a session are refused (`whenStale: 'refuse'`, the default) or accepted
 * with a warning logged once per outage (`'accept'`). Why polling: ADR 0014.
 */
import { RevocationsUnavailableError, RevokedTokenError } from './errors.js';
import type { NormalizedRevocations, VerifierClock } from './options.js';
import { RevokedSessions } from './revoked-sessions.js';

/** The outcome of one sync (one or more requests, until the feed says there is no more). */
export interface RevocationSyncResult {
  readonly ok: boolean;
  /** Why it failed; undefined when it succeeded. */
  readonly error?: Error;
}

export interface RevocationFeedStats {
  /** Syncs finished, and how many of those failed. */
  readonly syncs: number;
  readonly failures: number;
  /** When the last good sync started (ms, by the verifier's clock); undefined before the first. */
  readonly lastSyncedAt: number | undefined;
  /** Entries held: revoked sessions and sessions with a minimum token version. */
  readonly entries: number;
  /** Whether tokens are now checked against an answer older than `maxStalenessSeconds` (or none). */
  readonly stale: boolean;
}

/** The verifier's handle on its revocation feed (`verifier.revocations`). */
export interface RevocationFeed {
  /** Resolves when the next sync that starts after this call has finished (every `intervalMs`); never rejects. */
  nextSync(): Promise<RevocationSyncResult>;
  /** Asks the feed now (right after a sync in progress), instead of at the next interval; resolves as nextSync(). */
  sync(): Promise<RevocationSyncResult>;
  stats(): RevocationFeedStats;
}

interface FeedAnswer {
  readonly cursor: string;
  readonly more: boolean;
  readonly retainSeconds: number;
  readonly sids: readonly string[];
  readonly versions: ReadonlyArray<{ readonly sid: string; readonly ver: number }>;
}

const CURSOR = /^[0-9]{1,16}$/;

function parseAnswer(body: unknown): FeedAnswer {
  const answer = body as Record<string, unknown> | null;
  const valid =
    answer !== null &&
    typeof answer === 'object' &&
    typeof answer.cursor === 'string' &&
    CURSOR.test(answer.cursor) &&
    typeof answer.more === 'boolean' &&
    Number.isSafeInteger(answer.retain_seconds) &&
    (answer.retain_seconds as number) > 0 &&
    Array.isArray(answer.sids) &&
    answer.sids.every((sid) => typeof sid === 'string' && sid !== '') &&
    Array.isArray(answer.versions) &&
    answer.versions.every(
      (entry: unknown) =>
        entry !== null &&
        typeof entry === 'object' &&
        typeof (entry as { sid?: unknown }).sid === 'string' &&
        Number.isSafeInteger((entry as { ver?: unknown }).ver),
    );
  if (!valid) throw new Error('the revocation feed answered something that is not a feed page');
  return {
    cursor: answer.cursor as string,
    more: answer.more as boolean,
    retainSeconds: answer.retain_seconds as number,
    sids: answer.sids as string[],
    versions: answer.versions as Array<{ sid: string; ver: number }>,
  };
}

export class RevocationFeedFollower implements RevocationFeed {
  private readonly revoked = new RevokedSessions();
  private cursor: string | undefined;
  private lastSyncedAt: number | undefined;
  private syncs = 0;
  private failures = 0;
  /** Syncs started; a nextSync() waits for the one numbered after those started when it was called. */
  private started = 0;
  private waiters: Array<{ readonly after: number; readonly resolve: (result: RevocationSyncResult) => void }> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private inProgress = false;
  /** sync() was called during a sync: start the next one as soon as it ends. */
  private soon = false;
  private readonly abort = new AbortController();
  private closed = false;
  /** The first sync, which the first requests wait for rather than being refused as stale. */
  private readonly firstSync: Promise<void>;
  private outage: 'none' | 'failing' | 'stale' = 'none';

  constructor(
    private readonly settings: NormalizedRevocations,
    private readonly clock: VerifierClock,
    /** The verifier's own leeway on `exp`: an entry is kept that much longer. */
    private readonly clockToleranceMs: number,
  ) {
    this.firstSync = this.run();
  }

  /** Throws RevokedTokenError for a token of a revoked session, RevocationsUnavailableError when stale and refusing. */
  async check(sid: string | undefined, ver: unknown): Promise<void> {
    // Client-credentials tokens have no session: the feed says nothing about them.
    if (sid === undefined) return;
    if (this.lastSyncedAt === undefined) await this.firstSync;
    if (this.revoked.isRevoked(sid, typeof ver === 'number' ? ver : undefined)) throw new RevokedTokenError();
    if (this.isStale() && this.settings.whenStale === 'refuse') {
      throw new RevocationsUnavailableError(
        `the revocation feed at ${this.settings.url.href} has not answered for over ${this.settings.maxStalenessMs / 1000} s`,
      );
    }
  }

  nextSync(): Promise<RevocationSyncResult> {
    if (this.closed) return Promise.resolve({ ok: false, error: new Error('the verifier is closed') });
    return new Promise((resolve) => this.waiters.push({ after: this.started, resolve }));
  }

  sync(): Promise<RevocationSyncResult> {
    const result = this.nextSync();
    if (this.closed) return result;
    if (this.inProgress) {
      this.soon = true;
    } else {
      clearTimeout(this.timer);
      void this.run();
    }
    return result;
  }

  stats(): RevocationFeedStats {
    return {
      syncs: this.syncs,
      failures: this.failures,
      lastSyncedAt: this.lastSyncedAt,
      entries: this.revoked.size,
      stale: this.isStale(),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.running;
    for (const waiter of this.waiters) waiter.resolve({ ok: false, error: new Error('the verifier is closed') });
    this.waiters = [];
  }

  private isStale(): boolean {
    return this.lastSyncedAt === undefined || this.clock.now() - this.lastSyncedAt > this.settings.maxStalenessMs;
  }

  /** One sync, then the next one scheduled `intervalMs` after it ends. */
  private run(): Promise<void> {
    this.inProgress = true;
    const run = this.syncPages().then((result) => {
      this.inProgress = false;
      this.finish(result);
      if (!this.closed) {
        this.timer = setTimeout(() => void this.run(), this.soon ? 0 : this.settings.intervalMs);
        this.soon = false;
        // A verifier alone must not keep a process alive.
        this.timer.unref?.();
      }
    });
    this.running = run;
    return run;
  }

  private async syncPages(): Promise<RevocationSyncResult> {
    this.started += 1;
    const startedAt = this.clock.now();
    try {
      let more = true;
      while (more && !this.closed) {
        const answer = await this.fetchPage();
        this.apply(answer);
        more = answer.more;
      }
      if (this.closed) return { ok: false, error: new Error('the verifier is closed') };
      this.lastSyncedAt = startedAt;
      return { ok: true };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
    }
  }

  private async fetchPage(): Promise<FeedAnswer> {
    const url = new URL(this.settings.url);
    if (this.cursor !== undefined) url.searchParams.set('since', this.cursor);
    const response = await fetch(url, {
      headers: { authorization: this.settings.authorization, accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.settings.fetchTimeoutMs)]),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      const why = response.status === 401 ? ' (check revocations.clientId and clientSecret)' : '';
      throw new Error(`the revocation feed at ${this.settings.url.href} answered HTTP ${response.status}${why}`);
    }
    return parseAnswer(await response.json());
  }

  private apply(answer: FeedAnswer): void {
    const now = this.clock.now();
    const forgetAt = now + answer.retainSeconds * 1000 + this.clockToleranceMs;
    this.revoked.prune(now);
    for (const sid of answer.sids) this.revoked.addSession(sid, forgetAt);
    for (const { sid, ver } of answer.versions) this.revoked.addVersion(sid, ver, forgetAt);
    this.cursor = answer.cursor;
  }

  private finish(result: RevocationSyncResult): void {
    this.syncs += 1;
    if (!result.ok) this.failures += 1;
    if (!this.closed) this.report(result);
    const finished = this.started;
    const ready = this.waiters.filter((waiter) => waiter.after < finished);
    this.waiters = this.waiters.filter((waiter) => waiter.after >= finished);
    for (const waiter of ready) waiter.resolve(result);
  }

  /** Logs an outage when it starts, when it makes the feed stale, and when it ends: once each. */
  private report(result: RevocationSyncResult): void {
    const { url, whenStale, maxStalenessMs } = this.settings;
    if (result.ok) {
      if (this.outage !== 'none') this.settings.log(`portcullis verifier: the revocation feed at ${url.href} answers again`);
      this.outage = 'none';
      return;
    }
    if (this.outage === 'none') {
      this.settings.log(`portcullis verifier: the revocation feed failed: ${result.error?.message ?? 'unknown error'}`);
      this.outage = 'failing';
    }
    if (this.outage === 'failing' && this.isStale()) {
      this.settings.log(
        whenStale === 'refuse'
          ? `portcullis verifier: no answer from the revocation feed for over ${maxStalenessMs / 1000} s: refusing tokens (503) until it answers`
          : `portcullis verifier: no answer from the revocation feed for over ${maxStalenessMs / 1000} s: accepting tokens without knowing of revocations since`,
      );
      this.outage = 'stale';
    }
  }
}
