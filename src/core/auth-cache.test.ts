import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthStateCache } from './auth-cache.js';
import type { Session } from './sessions/session.js';
import type { User } from './users/user.js';

function user(id: string): User {
  return {
    id,
    username: id,
    usernameKey: id,
    email: null,
    emailVerified: false,
    fullName: null,
    passwordHash: 'x',
    disabled: false,
    scopes: [],
    createdAt: 0,
    updatedAt: 0,
    tokenVersion: 0,
    mfaRequired: false,
  };
}

function session(id: string, userId: string): Session {
  return {
    id,
    userId,
    clientId: null,
    scopes: [],
    createdAt: 0,
    lastUsedAt: 0,
    idleExpiresAt: 1,
    expiresAt: 1,
    ip: null,
    userAgent: null,
    revokedAt: null,
    revokedReason: null,
  };
}

function counting<T>(value: T | undefined): { load: () => Promise<T | undefined>; calls: () => number } {
  let calls = 0;
  return {
    load: async () => {
      calls += 1;
      return value;
    },
    calls: () => calls,
  };
}

describe('AuthStateCache', () => {
  const options = { ttlMs: 60_000, maxEntries: 100 };

  it('loads once and answers from memory afterwards, "missing" included', async () => {
    const cache = new AuthStateCache({ version: () => 1 }, options);
    const present = counting(user('u1'));
    const missing = counting<User>(undefined);
    for (let i = 0; i < 3; i += 1) {
      assert.equal((await cache.user('u1', present.load))?.id, 'u1');
      assert.equal(await cache.user('ghost', missing.load), undefined);
    }
    assert.equal(present.calls(), 1);
    assert.equal(missing.calls(), 1);
  });

  it('forgets a user or session when told it changed', async () => {
    const cache = new AuthStateCache({ version: () => 1 }, options);
    const users = counting(user('u1'));
    await cache.user('u1', users.load);
    cache.userChanged('u1');
    await cache.user('u1', users.load);
    assert.equal(users.calls(), 2);

    const sessions = counting(session('s1', 'u1'));
    await cache.session('s1', sessions.load);
    cache.sessionChanged('s1');
    await cache.session('s1', sessions.load);
    assert.equal(sessions.calls(), 2);
  });

  it("forgets every cached session of a user, and no one else's", async () => {
    const cache = new AuthStateCache({ version: () => 1 }, options);
    const a = counting(session('a', 'u1'));
    const b = counting(session('b', 'u2'));
    await cache.session('a', a.load);
    await cache.session('b', b.load);
    cache.sessionsOfUserChanged('u1');
    await cache.session('a', a.load);
    await cache.session('b', b.load);
    assert.equal(a.calls(), 2);
    assert.equal(b.calls(), 1);
  });

  it('empties itself when another process changed the storage', async () => {
    let version = 1;
    const cache = new AuthStateCache({ version: () => version }, options);
    const users = counting(user('u1'));
    await cache.user('u1', users.load);
    await cache.user('u1', users.load);
    version = 2;
    await cache.user('u1', users.load);
    assert.equal(users.calls(), 2);
  });

  it('does not keep a row that was read while an invalidation happened', async () => {
    const cache = new AuthStateCache({ version: () => 1 }, options);
    let release: () => void = () => undefined;
    const slow = async () => {
      await new Promise<void>((resolve) => (release = resolve));
      return session('s1', 'u1');
    };
    const pending = cache.session('s1', slow);
    cache.sessionChanged('s1');
    release();
    await pending;
    const fresh = counting(session('s1', 'u1'));
    await cache.session('s1', fresh.load);
    assert.equal(fresh.calls(), 1, 'the stale read was not cached');
  });

  it('always loads when caching is disabled', async () => {
    const cache = new AuthStateCache({ version: () => 1 }, { ttlMs: 60_000, maxEntries: 0 });
    const users = counting(user('u1'));
    await cache.user('u1', users.load);
    await cache.user('u1', users.load);
    assert.equal(users.calls(), 2);
  });

  it('trusts nothing while the change source cannot tell, and starts afresh when it can again', async () => {
    let version: number | undefined = 1;
    const cache = new AuthStateCache({ version: () => version }, options);
    const users = counting(user('u1'));
    await cache.user('u1', users.load);
    await cache.user('u1', users.load);
    assert.equal(users.calls(), 1, 'cached while the bus listens');

    version = undefined; // the listener dropped: a revocation elsewhere could be missed
    await cache.user('u1', users.load);
    await cache.user('u1', users.load);
    assert.equal(users.calls(), 3, 'every look-up reads the store');

    version = 2; // listening again, in a new epoch
    await cache.user('u1', users.load);
    assert.equal(users.calls(), 4, 'what was cached before the gap is gone');
    await cache.user('u1', users.load);
    assert.equal(users.calls(), 4, 'and caching resumes');
  });
});
