import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serviceFixture, T0 } from '../../../test/helpers/service-fixture.js';
import type { ActionContext } from '../action-context.js';
import { UsernameTakenError, UserNotFoundError, ValidationError } from '../errors.js';

const PASSWORD = 'correct horse battery staple 42';
const ADMIN: ActionContext = { actor: 'root', ip: '192.0.2.3' };

describe('UserService', () => {
  it('creates a user: normalised name, case-folded key, default scopes, an argon2id hash', async () => {
    const f = serviceFixture();
    const user = await f.userService.create({ username: 'Ｂｏｂ', password: PASSWORD, email: ' Bob@Example.COM ' }, ADMIN);
    assert.equal(user.username, 'Bob', 'NFKC');
    assert.equal(user.usernameKey, 'bob');
    assert.deepEqual(user.scopes, ['me']);
    assert.match(user.passwordHash, /^\$argon2id\$/);
    assert.ok(await f.hasher.verify(user.passwordHash, PASSWORD));
    assert.equal(user.createdAt, T0);
    assert.deepEqual(await f.events('user.created'), [
      { type: 'user.created', outcome: 'success', subject: 'Bob', details: { scopes: 'me', disabled: false } },
    ]);
  });

  it('refuses a name taken in another case, a short password and bad scopes, storing nothing', async () => {
    const f = serviceFixture();
    await f.userService.create({ username: 'bob', password: PASSWORD });
    await assert.rejects(f.userService.create({ username: 'BOB', password: PASSWORD }), UsernameTakenError);
    await assert.rejects(f.userService.create({ username: 'carol', password: 'short' }), ValidationError);
    await assert.rejects(f.userService.create({ username: 'dave', password: PASSWORD, scopes: ['bad scope"'] }), ValidationError);
    // A list item is one scope: one with a space is refused, never split into two.
    await assert.rejects(f.userService.create({ username: 'dave', password: PASSWORD, scopes: ['no good'] }), ValidationError);
    await assert.rejects(f.userService.update('bob', { scopes: ['no good'] }, { actor: 'test', ip: null }), ValidationError);
    assert.deepEqual(
      (await f.userService.list({ limit: 10 })).users.map((user) => user.username),
      ['bob'],
    );
  });

  it('finds and lists by name in any case', async () => {
    const f = serviceFixture();
    for (const name of ['Alice', 'alan', 'Bob']) await f.userService.create({ username: name, password: PASSWORD });
    assert.equal((await f.userService.find('ALICE'))?.username, 'Alice');
    await assert.rejects(f.userService.get('nobody'), UserNotFoundError);
    assert.deepEqual(
      (await f.userService.list({ prefix: 'AL', limit: 10 })).users.map((user) => user.username),
      ['alan', 'Alice'],
    );
  });

  it('updates fields, audited by their API names; disabling ends every session', async () => {
    const f = serviceFixture();
    const user = await f.userService.create({ username: 'bob', password: PASSWORD });
    await f.sessionService.open(user, [], null, ADMIN);
    f.clock.advance(1000);
    const updated = await f.userService.update('BOB', { fullName: 'Bob B', scopes: ['me', 'items:read'], disabled: true }, ADMIN);
    assert.equal(updated.fullName, 'Bob B');
    assert.deepEqual(updated.scopes, ['me', 'items:read']);
    assert.equal(updated.updatedAt, T0 + 1000);
    assert.equal(await f.sessions.countActive(f.clock.now()), 0);
    assert.equal((await f.events('user.updated'))[0]?.details?.fields, 'full_name scopes disabled');
    assert.equal((await f.events('user.disabled')).length, 1);
    assert.ok(f.invalidation.calls.includes(`user:${user.id}`));
    await assert.rejects(f.userService.update('bob', { scopes: ['bad"'] }), ValidationError);
    await assert.rejects(f.userService.update('nobody', { fullName: 'x' }), UserNotFoundError);
  });

  it('disables (ending sessions) and enables (bringing none back)', async () => {
    const f = serviceFixture();
    const user = await f.userService.create({ username: 'bob', password: PASSWORD });
    const { session } = await f.sessionService.open(user, [], null, ADMIN);
    await f.userService.setDisabled('bob', true, ADMIN);
    assert.equal((await f.users.findByKey('bob'))?.disabled, true);
    assert.equal((await f.sessions.find(session.id))?.revokedReason, 'user_disabled');
    await f.userService.setDisabled('bob', false, ADMIN);
    assert.equal((await f.users.findByKey('bob'))?.disabled, false);
    assert.notEqual((await f.sessions.find(session.id))?.revokedAt, null);
    assert.deepEqual(
      (await f.events())
        .map((event) => event.type)
        .filter((type) => type.startsWith('user.'))
        .sort(),
      ['user.created', 'user.disabled', 'user.enabled'],
    );
    await assert.rejects(f.userService.setDisabled('nobody', true), UserNotFoundError);
  });

  it('removes a user after revoking its sessions into the feed', async () => {
    const f = serviceFixture();
    const user = await f.userService.create({ username: 'bob', password: PASSWORD });
    const { session } = await f.sessionService.open(user, [], null, ADMIN);
    await f.userService.remove('Bob', ADMIN);
    assert.equal(await f.users.findByKey('bob'), undefined);
    assert.deepEqual((await f.sessions.revocations.read(undefined, 0, 100)).sessions, [{ sessionId: session.id }]);
    assert.equal((await f.events('user.removed')).length, 1);
    await assert.rejects(f.userService.remove('bob'), UserNotFoundError);
  });

  it("sets a password: a new token version, every other session ended, the kept one's old tokens in the feed", async () => {
    const f = serviceFixture();
    const user = await f.userService.create({ username: 'bob', password: PASSWORD });
    const kept = await f.sessionService.open(user, [], null, ADMIN);
    const other = await f.sessionService.open(user, [], null, ADMIN);
    const changed = await f.userService.setPassword('bob', 'another fine passphrase 7', ADMIN, kept.session.id);
    assert.equal(changed.tokenVersion, 1);
    assert.ok(await f.hasher.verify(changed.passwordHash, 'another fine passphrase 7'));
    assert.equal((await f.sessions.find(other.session.id))?.revokedReason, 'password_changed');
    assert.equal((await f.sessions.find(kept.session.id))?.revokedAt, null);
    const feed = await f.sessions.revocations.read(undefined, 0, 100);
    assert.deepEqual(feed.sessions, [{ sessionId: other.session.id }, { sessionId: kept.session.id, minTokenVersion: 1 }]);
    assert.deepEqual((await f.events('password.changed'))[0]?.details, { sessions_ended: 1 });
    await assert.rejects(f.userService.setPassword('bob', 'short'), ValidationError);
    assert.equal((await f.users.findByKey('bob'))?.tokenVersion, 1, 'a refused password changes nothing');
  });
});
