import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IDLE_SECONDS, MAX_SECONDS, serviceFixture, T0, type ServiceFixture } from '../../../test/helpers/service-fixture.js';
import type { ActionContext } from '../action-context.js';
import { NotFoundError } from '../errors.js';
import { hashSecret } from '../secrets.js';
import { parseRefreshToken } from './refresh-token.js';

const CONTEXT: ActionContext = { actor: 'alice', ip: '192.0.2.9', userAgent: 'x'.repeat(300) };

async function user(f: ServiceFixture, name: string) {
  return f.userService.create({ username: name, password: 'correct horse battery staple 42' });
}

describe('SessionService', () => {
  it('opens a session that ends after the idle time or the maximum, with its refresh token stored as a hash', async () => {
    const f = serviceFixture();
    const alice = await user(f, 'alice');
    const { session, refreshToken } = await f.sessionService.open(alice, ['me'], 'app', CONTEXT);
    assert.equal(session.createdAt, T0);
    assert.equal(session.idleExpiresAt, T0 + IDLE_SECONDS * 1000);
    assert.equal(session.expiresAt, T0 + MAX_SECONDS * 1000);
    assert.equal(session.clientId, 'app');
    assert.equal(session.ip, '192.0.2.9');
    assert.equal(session.userAgent, 'x'.repeat(256), 'the user agent is cut to 256 characters');
    assert.deepEqual(await f.sessions.find(session.id), session);
    const parsed = parseRefreshToken(refreshToken)!;
    const record = await f.sessions.findRefreshToken(parsed.id);
    assert.equal(record?.secretHash, hashSecret(parsed.secret));
    assert.ok(!record?.secretHash.includes(parsed.secret));
  });

  it('lists the active sessions of a user, newest first', async () => {
    const f = serviceFixture();
    const alice = await user(f, 'alice');
    const bob = await user(f, 'bob');
    const first = await f.sessionService.open(alice, [], null, CONTEXT);
    f.clock.advance(1000);
    const second = await f.sessionService.open(alice, [], null, CONTEXT);
    await f.sessionService.open(bob, [], null, CONTEXT);
    assert.deepEqual(
      (await f.sessionService.listActive(alice)).map((session) => session.id),
      [second.session.id, first.session.id],
    );
    f.clock.advance(IDLE_SECONDS * 1000 - 500);
    assert.deepEqual(
      (await f.sessionService.listActive(alice)).map((session) => session.id),
      [second.session.id],
      'the first went idle',
    );
  });

  it("ends a session of the user once, audited and invalidated; not another user's", async () => {
    const f = serviceFixture();
    const alice = await user(f, 'alice');
    const bob = await user(f, 'bob');
    const { session } = await f.sessionService.open(alice, [], null, CONTEXT);
    await assert.rejects(f.sessionService.revokeOfUser(bob, session.id, 'revoked_by_user', CONTEXT), NotFoundError);
    assert.equal((await f.sessions.find(session.id))?.revokedAt, null);
    await f.sessionService.revokeOfUser(alice, session.id, 'revoked_by_user', CONTEXT);
    assert.equal((await f.sessions.find(session.id))?.revokedReason, 'revoked_by_user');
    assert.ok(f.invalidation.calls.includes(`session:${session.id}`));
    await assert.rejects(f.sessionService.revokeOfUser(alice, session.id, 'revoked_by_user', CONTEXT), NotFoundError, 'over already');
    await assert.rejects(f.sessionService.revokeOfUser(alice, 'missing', 'revoked_by_user', CONTEXT), NotFoundError);
    assert.deepEqual(await f.events('session.revoked'), [
      { type: 'session.revoked', outcome: 'success', subject: 'alice', details: { session: session.id, reason: 'revoked_by_user' } },
    ]);
  });

  it('ends every session of a user, counting them, and audits only when there were some', async () => {
    const f = serviceFixture();
    const alice = await user(f, 'alice');
    const bob = await user(f, 'bob');
    await f.sessionService.open(alice, [], null, CONTEXT);
    await f.sessionService.open(alice, [], null, CONTEXT);
    const kept = await f.sessionService.open(bob, [], null, CONTEXT);
    assert.equal(await f.sessionService.revokeAll(alice, 'logout_global', CONTEXT), 2);
    assert.equal(await f.sessionService.revokeAll(alice, 'logout_global', CONTEXT), 0);
    assert.deepEqual(await f.sessionService.listActive(alice), []);
    assert.deepEqual(
      (await f.sessionService.listActive(bob)).map((session) => session.id),
      [kept.session.id],
    );
    assert.deepEqual(await f.events('session.revoked'), [
      { type: 'session.revoked', outcome: 'success', subject: 'alice', details: { sessions: 2, reason: 'logout_global' } },
    ]);
    assert.ok(f.invalidation.calls.includes(`sessions-of:${alice.id}`));
  });
});
