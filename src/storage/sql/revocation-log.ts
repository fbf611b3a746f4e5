/**
 * The revocation feed's log (GET /revocations): every revoked session, numbered in commit order through one
 * counter row that the revoking transaction updates (and holds locked until it commits), so a reader that has
 * seen N has seen everything below N. Entries older than any access token can live are pruned in the same
 * step, and a cursor from before the pruning gets the whole list (`full`). Why a counter row: ADR 0014.
 */
import type { Kysely, Transaction } from 'kysely';
import type { RevocationFeedStore, RevocationPage, RevokedSession } from '../../core/ports.js';
import type { SqlDialect } from './dialects/dialect.js';
import { guardDriverErrors } from './driver-errors.js';
import type { Database } from './schema.js';
import { iso } from './sql-time.js';

const COUNTER_ID = 1;
/** Rows per INSERT: far under SQLite's 32,766 bound parameters, with four a row. */
const ROWS_PER_INSERT = 1000;

/**
 * Appends revoked sessions to the log, inside the caller's transaction (the
 * one that revoked them), and prunes entries revoked before `pruneBeforeMs`.
 * Call it last in the transaction: from here to the commit, other revocations wait.
 */
export async function appendRevocations(
  trx: Transaction<Database>,
  sessions: readonly RevokedSession[],
  nowMs: number,
  pruneBeforeMs: number,
): Promise<void> {
  if (sessions.length === 0) return;
  const count = sessions.length;
  const counter = await trx
    .insertInto('revocation_sequence')
    .values({ id: COUNTER_ID, last_seq: count, pruned_through: 0 })
    .onConflict((oc) => oc.column('id').doUpdateSet({ last_seq: (eb) => eb('revocation_sequence.last_seq', '+', count) }))
    .returning('last_seq')
    .executeTakeFirstOrThrow();
  const first = Number(counter.last_seq) - count + 1;
  const revokedAt = iso(nowMs);
  for (let start = 0; start < count; start += ROWS_PER_INSERT) {
    const rows = sessions.slice(start, start + ROWS_PER_INSERT).map((session, i) => ({
      seq: first + start + i,
      session_id: session.sessionId,
      min_token_version: session.minTokenVersion ?? null,
      revoked_at: revokedAt,
    }));
    await trx.insertInto('session_revocations').values(rows).execute();
  }
  await prune(trx, pruneBeforeMs);
}

/**
 * Deletes every entry numbered up to the newest one revoked before `beforeMs`,
 * so that nothing numbered at or below `pruned_through` is left and a cursor at
 * or above it always continues without a hole. An entry numbered below an old
 * one committed before it, so it was revoked at most a transaction's length
 * (plus the clock difference of two instances) later: the margin in
 * `beforeMs` covers that, and its tokens have expired too.
 */
async function prune(trx: Transaction<Database>, beforeMs: number): Promise<void> {
  const oldest = await trx
    .selectFrom('session_revocations')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .where('revoked_at', '<', iso(beforeMs))
    .executeTakeFirst();
  if (oldest?.seq === undefined || oldest.seq === null) return;
  const through = Number(oldest.seq);
  await trx.deleteFrom('session_revocations').where('seq', '<=', through).execute();
  await trx
    .updateTable('revocation_sequence')
    .set({ pruned_through: through })
    .where('id', '=', COUNTER_ID)
    .where('pruned_through', '<', through)
    .execute();
}

export class SqlRevocationFeedStore implements RevocationFeedStore {
  constructor(private readonly dialect: SqlDialect) {}

  /**
   * Two plain reads, no transaction: the counter first, then the entries up
   * to it. Every entry numbered up to the counter's value has committed
   * (numbers commit in order), so the second read sees all of them; anything
   * newer is left for the next call.
   */
  read(since: number | undefined, revokedSinceMs: number, limit: number): Promise<RevocationPage> {
    return guardDriverErrors(this.dialect, () => this.readPage(this.dialect.db, since, revokedSinceMs, limit));
  }

  private async readPage(db: Kysely<Database>, since: number | undefined, revokedSinceMs: number, limit: number): Promise<RevocationPage> {
    const counter = await db
      .selectFrom('revocation_sequence')
      .select(['last_seq', 'pruned_through'])
      .where('id', '=', COUNTER_ID)
      .executeTakeFirst();
    const last = counter === undefined ? 0 : Number(counter.last_seq);
    const prunedThrough = counter === undefined ? 0 : Number(counter.pruned_through);
    // No cursor, one older than what was pruned, or one ahead of this database (restored, or another one): everything.
    const full = since === undefined || since < prunedThrough || since > last;
    const after = full ? 0 : since;
    if (after >= last) return { cursor: last, full, more: false, sessions: [] };
    const rows = await db
      .selectFrom('session_revocations')
      .select(['seq', 'session_id', 'min_token_version'])
      .where('seq', '>', after)
      .where('seq', '<=', last)
      .where('revoked_at', '>=', iso(revokedSinceMs))
      .orderBy('seq')
      .limit(limit + 1)
      .execute();
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    return {
      cursor: more ? Number(page[page.length - 1]!.seq) : last,
      full,
      more,
      sessions: page.map((row) => ({
        sessionId: row.session_id,
        ...(row.min_token_version === null ? {} : { minTokenVersion: Number(row.min_token_version) }),
      })),
    };
  }
}
