/**
 * The behaviour every SessionStore must have, with the revocation feed it
 * writes (RevocationFeedStore), as a node:test suite. Exported so a custom
 * store can be checked too:
 *
 *   sessionStoreContract('MyStore', async () => ({ store, feed, addUser: async () => userId }));
 *
 * `open` is called once for the suite and must give empty stores; `addUser`
 * gives the id of a user the sessions may belong to (a SQL store needs the
 * row); `audit` reads the audit log the store writes a session's opening
 * event to. Tests use users and sessions of their own, so they share the
 * store; the pruning test runs last, since it empties the feed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '../../core/audit/audit-event.js';
import type { AuditStore, RefreshTokenRecord, RevocationFeedStore, SessionStore } from '../../core/ports.js';
import { REVOCATION_LOG_RETENTION_MS } from '../../core/sessions/revocation-feed.js';
import type { Session } from '../../core/sessions/session.js';
import { CONTRACT_T0 as T0, type StoreContractOptions, type StoreHarness } from './store-harness.js';

export interface SessionStoreHarness extends StoreHarness<SessionStore> {
  readonly feed: RevocationFeedStore;
  /** The audit log the store writes each session's opening event to. */
  readonly audit: AuditStore;
  /** A new user's id that sessions can refer to. */
  addUser(): Promise<string>;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Reads the feed back to the beginning of time. */
const ALL = 0;

function sessionOf(userId: string, more: Partial<Session> = {}): Session {
  return {
    id: randomUUID(),
    userId,
    clientId: null,
    scopes: ['me'],
    createdAt: T0,
    lastUsedAt: T0,
    idleExpiresAt: T0 + HOUR_MS,
    expiresAt: T0 + DAY_MS,
    ip: '192.0.2.1',
    userAgent: 'contract/1.0',
    revokedAt: null,
    revokedReason: null,
    ...more,
  };
}

const tokenOf = () => ({ id: randomUUID(), secretHash: randomUUID().replaceAll('-', '') });

/** A session's opening event (the login), as AuditLog.stamp would make it; `id` a fresh one unless given. */
export function openingEventOf(session: Session, id = `${String(session.createdAt).padStart(15, '0')}-${randomUUID()}`): AuditEvent {
  return {
    id,
    at: session.createdAt,
    type: 'login.success',
    outcome: 'success',
    actor: 'contract',
    subject: 'contract',
    ip: session.ip,
    details: { session: session.id },
  };
}

export function sessionStoreContract(name: string, open: () => Promise<SessionStoreHarness>, options: StoreContractOptions = {}): void {
  describe(`SessionStore contract: ${name}`, { skip: options.skip ?? false }, () => {
    let harness: SessionStoreHarness;
    let store: SessionStore;
    let feed: RevocationFeedStore;
    /** A session of a new user (or the given one), stored with its first refresh token. */
    const opened = async (more: Partial<Session> = {}) => {
      const session = sessionOf(more.userId ?? (await harness.addUser()), more);
      const token = tokenOf();
      await store.create(session, token, openingEventOf(session));
      return { session, token };
    };
    const cursorNow = async () => (await feed.read(undefined, ALL, 100_000)).cursor;

    before(async () => {
      harness = await open();
      store = harness.store;
      feed = harness.feed;
    });
    after(async () => {
      await harness?.close?.();
    });

    it('answers undefined, false or nothing for what does not exist', async () => {
      const userId = await harness.addUser();
      assert.equal(await store.find('missing'), undefined);
      assert.equal(await store.findRefreshToken('missing'), undefined);
      assert.equal(await store.revoke('missing', 'logout', T0), false);
      assert.deepEqual(await store.revokeAllOfUser(userId, 'logout_global', T0), []);
      assert.deepEqual(await store.revokeAllOfClient('no-client', 'client_removed', T0), []);
      assert.deepEqual(await store.listActive(userId, T0), []);
      const rotated = await store.rotate({
        oldId: 'missing',
        sessionId: 'missing',
        next: tokenOf(),
        successorSealed: 's',
        nowMs: T0,
        idleExpiresAt: T0 + HOUR_MS,
      });
      assert.equal(rotated, false);
    });

    it('stores a session and its first refresh token', async () => {
      const { session, token } = await opened({ clientId: 'client-1', scopes: [], ip: null, userAgent: null });
      assert.deepEqual(await store.find(session.id), session);
      const record: RefreshTokenRecord = {
        id: token.id,
        sessionId: session.id,
        secretHash: token.secretHash,
        createdAt: session.createdAt,
        rotatedAt: null,
        successorId: null,
        successorSealed: null,
      };
      assert.deepEqual(await store.findRefreshToken(token.id), record);
    });

    it('stores the opening audit event with the session', async () => {
      const session = sessionOf(await harness.addUser());
      const event = openingEventOf(session);
      await store.create(session, tokenOf(), event);
      const { events } = await harness.audit.list({ type: 'login.success', since: event.at, until: event.at + 1, limit: 100_000 });
      const stored = events.find((candidate) => candidate.id === event.id);
      assert.deepEqual(stored, { ...event, details: { session: session.id } });
    });

    it('stores nothing of a session whose opening event is refused (all or nothing)', async () => {
      const earlier = sessionOf(await harness.addUser());
      const event = openingEventOf(earlier);
      await store.create(earlier, tokenOf(), event);
      // The same event id again: the audit log refuses it, so neither the session nor its token may stay.
      const session = sessionOf(await harness.addUser());
      const token = tokenOf();
      await assert.rejects(store.create(session, token, { ...openingEventOf(session), id: event.id }));
      assert.equal(await store.find(session.id), undefined);
      assert.equal(await store.findRefreshToken(token.id), undefined);
      assert.deepEqual(await store.listActive(session.userId, T0), []);
    });

    it('lists the active sessions of a user, newest first, and counts those of everyone', async () => {
      // Far from the other tests' times, so that their sessions are not counted.
      const at = T0 + 100 * DAY_MS;
      const userId = await harness.addUser();
      const older = await opened({ userId, createdAt: at - 2000, idleExpiresAt: at + HOUR_MS, expiresAt: at + DAY_MS });
      const newer = await opened({ userId, createdAt: at - 1000, idleExpiresAt: at + HOUR_MS, expiresAt: at + DAY_MS });
      await opened({ userId, createdAt: at - 3000, idleExpiresAt: at, expiresAt: at + DAY_MS });
      await opened({ userId, createdAt: at - 4000, idleExpiresAt: at + HOUR_MS, expiresAt: at });
      const revoked = await opened({ userId, createdAt: at - 500, idleExpiresAt: at + HOUR_MS, expiresAt: at + DAY_MS });
      await store.revoke(revoked.session.id, 'logout', at - 100);
      const someoneElse = await opened({ createdAt: at - 100, idleExpiresAt: at + HOUR_MS, expiresAt: at + DAY_MS });

      const active = await store.listActive(userId, at);
      assert.deepEqual(
        active.map((session) => session.id),
        [newer.session.id, older.session.id],
        'expired at `at` (idle or absolute) is not active',
      );
      assert.equal(await store.countActive(at), 3);
      assert.deepEqual((await store.listActive(someoneElse.session.userId, at)).length, 1);
      assert.equal(await store.countActive(at + DAY_MS), 0);
    });

    it('rotates a refresh token: the old one retired with its successor, the session used and extended', async () => {
      const { session, token } = await opened();
      const next = tokenOf();
      const now = T0 + 60_000;
      assert.equal(
        await store.rotate({
          oldId: token.id,
          sessionId: session.id,
          next,
          successorSealed: 'sealed-1',
          nowMs: now,
          idleExpiresAt: now + HOUR_MS,
        }),
        true,
      );
      assert.deepEqual(await store.findRefreshToken(token.id), {
        id: token.id,
        sessionId: session.id,
        secretHash: token.secretHash,
        createdAt: session.createdAt,
        rotatedAt: now,
        successorId: next.id,
        successorSealed: 'sealed-1',
      });
      assert.deepEqual(await store.findRefreshToken(next.id), {
        id: next.id,
        sessionId: session.id,
        secretHash: next.secretHash,
        createdAt: now,
        rotatedAt: null,
        successorId: null,
        successorSealed: null,
      });
      assert.deepEqual(await store.find(session.id), { ...session, lastUsedAt: now, idleExpiresAt: now + HOUR_MS });

      const again = tokenOf();
      const later = now + 1000;
      assert.equal(
        await store.rotate({
          oldId: token.id,
          sessionId: session.id,
          next: again,
          successorSealed: 'sealed-2',
          nowMs: later,
          idleExpiresAt: later + HOUR_MS,
        }),
        false,
        'a retired token rotates no more',
      );
      assert.equal((await store.findRefreshToken(token.id))?.successorId, next.id);
      assert.equal(await store.findRefreshToken(again.id), undefined);
      assert.equal((await store.find(session.id))?.lastUsedAt, now);
      assert.equal(
        await store.rotate({
          oldId: next.id,
          sessionId: session.id,
          next: again,
          successorSealed: 'sealed-2',
          nowMs: later,
          idleExpiresAt: later + HOUR_MS,
        }),
        true,
        'its successor does',
      );
    });

    it('lets exactly one of concurrent rotations of a token win', async () => {
      const { session, token } = await opened();
      const candidates = Array.from({ length: 5 }, () => tokenOf());
      const now = T0 + 1000;
      const results = await Promise.all(
        candidates.map((next, i) =>
          store.rotate({
            oldId: token.id,
            sessionId: session.id,
            next,
            successorSealed: `sealed-${i}`,
            nowMs: now,
            idleExpiresAt: now + HOUR_MS,
          }),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1, `results ${JSON.stringify(results)}`);
      const winner = candidates[results.indexOf(true)]!;
      const retired = await store.findRefreshToken(token.id);
      assert.equal(retired?.successorId, winner.id);
      for (const loser of candidates.filter((candidate) => candidate !== winner)) {
        assert.equal(await store.findRefreshToken(loser.id), undefined, 'a losing rotation leaves no token behind');
      }
    });

    it('revokes a session once, with its reason, and logs it in the feed', async () => {
      const { session } = await opened();
      const start = await cursorNow();
      assert.equal(await store.revoke(session.id, 'revoked_by_user', T0 + 5), true);
      assert.deepEqual(await store.find(session.id), { ...session, revokedAt: T0 + 5, revokedReason: 'revoked_by_user' });
      assert.equal(await store.revoke(session.id, 'logout', T0 + 6), false);
      assert.equal((await store.find(session.id))?.revokedReason, 'revoked_by_user', 'the first reason stays');
      assert.deepEqual(await feed.read(start, ALL, 100), {
        cursor: start + 1,
        full: false,
        more: false,
        sessions: [{ sessionId: session.id }],
      });
    });

    it('revokes every live session of a user, returning their ids, sparing a kept one', async () => {
      const userId = await harness.addUser();
      const a = await opened({ userId });
      const b = await opened({ userId });
      const kept = await opened({ userId });
      const over = await opened({ userId });
      const other = await opened();
      await store.revoke(over.session.id, 'logout', T0);
      const start = await cursorNow();

      const ended = await store.revokeAllOfUser(userId, 'password_changed', T0 + 10, { sessionId: kept.session.id, minTokenVersion: 4 });
      assert.deepEqual([...ended].sort(), [a.session.id, b.session.id].sort());
      assert.equal((await store.find(a.session.id))?.revokedReason, 'password_changed');
      assert.equal((await store.find(a.session.id))?.revokedAt, T0 + 10);
      assert.equal((await store.find(kept.session.id))?.revokedAt, null);
      assert.equal((await store.find(over.session.id))?.revokedReason, 'logout', 'revoked earlier: left as it was');
      assert.equal((await store.find(other.session.id))?.revokedAt, null, "another user's session goes on");

      const page = await feed.read(start, ALL, 100);
      assert.equal(page.cursor, start + 3);
      assert.deepEqual(
        [...page.sessions].sort((x, y) => x.sessionId.localeCompare(y.sessionId)),
        [{ sessionId: a.session.id }, { sessionId: b.session.id }, { sessionId: kept.session.id, minTokenVersion: 4 }].sort((x, y) =>
          x.sessionId.localeCompare(y.sessionId),
        ),
      );
      assert.deepEqual(await store.revokeAllOfUser(userId, 'logout_global', T0 + 11), [kept.session.id]);
    });

    it('ends the sessions that codes of a browser session opened, with it (revoke and revokeAllOfUser alike)', async () => {
      const browser = await opened({ clientId: null });
      const userId = browser.session.userId;
      const app = await opened({ userId, clientId: `client-${randomUUID()}`, browserSessionId: browser.session.id });
      const unrelated = await opened({ userId, clientId: `client-${randomUUID()}` });
      assert.equal((await store.find(app.session.id))?.browserSessionId, browser.session.id);
      assert.deepEqual(await store.openedBy(browser.session.id), [app.session.id]);
      assert.deepEqual(await store.openedBy(unrelated.session.id), []);
      const start = await cursorNow();
      assert.equal(await store.revoke(browser.session.id, 'logout', T0 + 30), true);
      assert.deepEqual(await store.find(app.session.id), { ...app.session, revokedAt: T0 + 30, revokedReason: 'browser_session_ended' });
      assert.equal((await store.find(unrelated.session.id))?.revokedAt, null);
      const page = await feed.read(start, ALL, 100);
      assert.deepEqual(page.sessions.map((entry) => entry.sessionId).sort(), [browser.session.id, app.session.id].sort());

      const second = await opened({ userId, clientId: null });
      const secondApp = await opened({ userId, clientId: `client-${randomUUID()}`, browserSessionId: second.session.id });
      const ended = await store.revokeAllOfUser(userId, 'user_disabled', T0 + 40);
      assert.deepEqual([...ended].sort(), [second.session.id, secondApp.session.id, unrelated.session.id].sort());
      assert.equal((await store.find(secondApp.session.id))?.revokedReason, 'user_disabled', 'ended by the same statement first');
    });

    it('revokes every live session opened by a client, returning their ids', async () => {
      const clientId = `client-${randomUUID()}`;
      const one = await opened({ clientId });
      const two = await opened({ clientId });
      const mine = await opened({ clientId: null, userId: one.session.userId });
      const ended = await store.revokeAllOfClient(clientId, 'client_removed', T0 + 20);
      assert.deepEqual([...ended].sort(), [one.session.id, two.session.id].sort());
      assert.equal((await store.find(two.session.id))?.revokedReason, 'client_removed');
      assert.equal((await store.find(mine.session.id))?.revokedAt, null);
      const start = await cursorNow();
      assert.deepEqual(await store.revokeAllOfClient(clientId, 'client_removed', T0 + 21), []);
      assert.equal(await cursorNow(), start, 'nothing revoked, nothing logged');
    });

    it('reads the feed in pages, from a cursor, leaving out what was revoked before `revokedSinceMs`', async () => {
      const sessions = await Promise.all([opened(), opened(), opened()]);
      const start = await cursorNow();
      for (const [i, { session }] of sessions.entries()) await store.revoke(session.id, 'logout', T0 + 1000 + i);
      const ids = sessions.map(({ session }) => session.id);

      const first = await feed.read(start, ALL, 2);
      assert.deepEqual(first, {
        cursor: start + 2,
        full: false,
        more: true,
        sessions: ids.slice(0, 2).map((sessionId) => ({ sessionId })),
      });
      const second = await feed.read(first.cursor, ALL, 2);
      assert.deepEqual(second, { cursor: start + 3, full: false, more: false, sessions: [{ sessionId: ids[2] }] });
      assert.deepEqual(await feed.read(second.cursor, ALL, 2), { cursor: start + 3, full: false, more: false, sessions: [] });

      const recent = await feed.read(start, T0 + 1001, 100);
      assert.deepEqual(recent, { cursor: start + 3, full: false, more: false, sessions: ids.slice(1).map((sessionId) => ({ sessionId })) });

      const everything = await feed.read(undefined, ALL, 100_000);
      assert.equal(everything.full, true);
      assert.equal(everything.cursor, start + 3);
      assert.deepEqual(
        everything.sessions.slice(-3),
        ids.map((sessionId) => ({ sessionId })),
      );
      const ahead = await feed.read(start + 1000, ALL, 100_000);
      assert.equal(ahead.full, true, 'a cursor ahead of the log starts over');
      assert.deepEqual(ahead.sessions, everything.sessions);
    });

    it('prunes entries no token can outlive, and sends a cursor from before the pruning back to the start', async () => {
      const old = await cursorNow();
      assert.ok(old > 0, 'the earlier tests revoked sessions');
      const later = T0 + REVOCATION_LOG_RETENTION_MS + DAY_MS;
      const { session } = await opened({ createdAt: later, lastUsedAt: later, idleExpiresAt: later + HOUR_MS, expiresAt: later + DAY_MS });
      await store.revoke(session.id, 'logout', later);
      assert.deepEqual(await feed.read(undefined, ALL, 100_000), {
        cursor: old + 1,
        full: true,
        more: false,
        sessions: [{ sessionId: session.id }],
      });
      assert.deepEqual(await feed.read(old - 1, ALL, 100), {
        cursor: old + 1,
        full: true,
        more: false,
        sessions: [{ sessionId: session.id }],
      });
      assert.deepEqual(await feed.read(old, ALL, 100), {
        cursor: old + 1,
        full: false,
        more: false,
        sessions: [{ sessionId: session.id }],
      });
    });
  });
}
