import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import bcryptjs from 'bcryptjs';
import { fastHasher, FAST_ARGON2, IDLE_SECONDS, serviceFixture, T0, type ServiceFixture } from '../../../test/helpers/service-fixture.js';
import type { ActionContext } from '../action-context.js';
import type { Client } from '../clients/client.js';
import {
  InactiveUserError,
  InvalidClientError,
  InvalidCredentialsError,
  InvalidRefreshTokenError,
  InvalidScopeError,
  RefreshTokenReusedError,
} from '../errors.js';
import { parseRefreshToken } from '../sessions/refresh-token.js';

const PASSWORD = 'correct horse battery staple 42';
const CONTEXT: ActionContext = { actor: 'test', ip: '192.0.2.1', userAgent: 'unit-test' };
const client = (id: string, scopes: readonly string[] = ['items:read']): Client => ({
  id,
  name: id,
  type: 'confidential',
  secretHash: 'ab'.repeat(32),
  scopes,
  createdAt: T0,
  redirectUris: [],
  grantTypes: ['client_credentials'],
  firstParty: false,
  postLogoutRedirectUris: [],
  backchannelLogoutUri: null,
});

async function withUser(f: ServiceFixture, more: { scopes?: readonly string[]; disabled?: boolean } = {}) {
  return f.userService.create({
    username: 'Alice',
    password: PASSWORD,
    scopes: more.scopes ?? ['me', 'items:read'],
    disabled: more.disabled ?? false,
  });
}

async function login(f: ServiceFixture, scopes?: readonly string[], by?: Client) {
  return (await f.tokenService.passwordGrant({ username: 'alice', password: PASSWORD, scopes }, by, CONTEXT)).tokens;
}

describe('TokenService', () => {
  describe('password grant', () => {
    it('opens a session and issues an access token bound to it and to the token version', async () => {
      const f = serviceFixture();
      const user = await withUser(f);
      const tokens = await login(f);
      assert.equal(tokens.token_type, 'bearer');
      assert.equal(tokens.scope, 'me items:read');
      const claims = await f.codec.verify(tokens.access_token);
      assert.equal(claims.sub, 'Alice');
      assert.equal(claims.ver, 0);
      const session = await f.sessions.find(claims.sid!);
      assert.equal(session?.userId, user.id);
      assert.deepEqual(session?.scopes, ['me', 'items:read']);
      const record = await f.sessions.findRefreshToken(parseRefreshToken(tokens.refresh_token!)!.id);
      assert.equal(record?.sessionId, session?.id);
      assert.deepEqual(await f.events('login.success'), [
        { type: 'login.success', outcome: 'success', subject: 'Alice', details: { session: session!.id } },
      ]);
    });

    it('spends a dummy verification on an unknown user, and records no name', async () => {
      const f = serviceFixture();
      await assert.rejects(
        f.tokenService.passwordGrant({ username: 'nobody', password: PASSWORD }, undefined, CONTEXT),
        InvalidCredentialsError,
      );
      assert.deepEqual(f.hasher.calls, { hash: 0, verify: 0, verifyDummy: 1 });
      assert.deepEqual(await f.events('login.failure'), [
        { type: 'login.failure', outcome: 'failure', subject: null, details: { reason: 'unknown_user' } },
      ]);
    });

    it('refuses a wrong password with the same error as an unknown user', async () => {
      const f = serviceFixture();
      await withUser(f);
      await assert.rejects(
        f.tokenService.passwordGrant({ username: 'alice', password: 'wrong password here' }, undefined, CONTEXT),
        InvalidCredentialsError,
      );
      assert.equal(f.hasher.calls.verify, 1);
      assert.equal(f.hasher.calls.verifyDummy, 0);
      assert.equal((await f.events('login.failure'))[0]?.details?.reason, 'wrong_password');
      assert.equal(await f.sessions.countActive(T0), 0);
    });

    it('says a user is inactive only after the right password', async () => {
      const f = serviceFixture();
      await withUser(f, { disabled: true });
      await assert.rejects(
        f.tokenService.passwordGrant({ username: 'alice', password: 'wrong password here' }, undefined, CONTEXT),
        InvalidCredentialsError,
      );
      await assert.rejects(login(f), InactiveUserError);
      assert.equal(await f.sessions.countActive(T0), 0);
    });

    it('rehashes a hash made with other parameters at a successful login, and leaves a current one alone', async () => {
      const older = serviceFixture({ hasher: fastHasher({ ...FAST_ARGON2, iterations: 2 }) });
      const f = serviceFixture();
      const user = await withUser(older);
      await f.users.create({ ...user, scopes: user.scopes }, T0);
      await login(f);
      const rehashed = (await f.users.findByKey('alice'))!.passwordHash;
      assert.match(rehashed, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
      assert.notEqual(rehashed, user.passwordHash);
      await login(f);
      assert.equal((await f.users.findByKey('alice'))!.passwordHash, rehashed);
      assert.equal(f.hasher.calls.hash, 1);
    });

    it('upgrades an imported bcrypt hash to argon2id', async () => {
      const f = serviceFixture();
      const bcrypt = bcryptjs.hashSync(PASSWORD, 4);
      await f.users.create(
        { username: 'Alice', usernameKey: 'alice', email: null, fullName: null, passwordHash: bcrypt, disabled: false, scopes: ['me'] },
        T0,
      );
      await login(f);
      assert.match((await f.users.findByKey('alice'))!.passwordHash, /^\$argon2id\$/);
    });

    it('grants only the requested scopes the user holds', async () => {
      const f = serviceFixture();
      await withUser(f);
      const tokens = await login(f, ['items:read', 'admin']);
      assert.equal(tokens.scope, 'items:read');
      assert.equal((await f.codec.verify(tokens.access_token)).scope, 'items:read');
    });
  });

  describe('refresh grant', () => {
    it('rotates the refresh token and extends the idle expiry', async () => {
      const f = serviceFixture();
      await withUser(f);
      const first = await login(f);
      f.clock.advance(60_000);
      const second = await f.tokenService.refreshGrant(first.refresh_token!, undefined, undefined, CONTEXT);
      assert.notEqual(second.refresh_token, first.refresh_token);
      assert.equal(second.scope, 'me items:read');
      const old = await f.sessions.findRefreshToken(parseRefreshToken(first.refresh_token!)!.id);
      assert.equal(old?.rotatedAt, T0 + 60_000);
      assert.equal(old?.successorId, parseRefreshToken(second.refresh_token!)!.id);
      const session = await f.sessions.find(old!.sessionId);
      assert.equal(session?.idleExpiresAt, T0 + 60_000 + IDLE_SECONDS * 1000);
      assert.ok(f.invalidation.calls.includes(`session:${session!.id}`));
    });

    it('answers a retry within the grace window with the same successor', async () => {
      const f = serviceFixture({ graceSeconds: 10 });
      await withUser(f);
      const first = await login(f);
      const second = await f.tokenService.refreshGrant(first.refresh_token!, undefined, undefined, CONTEXT);
      f.clock.advance(10_000);
      const retry = await f.tokenService.refreshGrant(first.refresh_token!, undefined, undefined, CONTEXT);
      assert.equal(retry.refresh_token, second.refresh_token);
      assert.equal(await f.sessions.countActive(f.clock.now()), 1);
    });

    it('gives two concurrent refreshes of one token the same successor', async () => {
      const f = serviceFixture({ graceSeconds: 10 });
      await withUser(f);
      const first = await login(f);
      const [a, b] = await Promise.all([
        f.tokenService.refreshGrant(first.refresh_token!, undefined, undefined, CONTEXT),
        f.tokenService.refreshGrant(first.refresh_token!, undefined, undefined, CONTEXT),
      ]);
      assert.equal(a.refresh_token, b.refresh_token);
    });

    it('ends the session when a retired token comes back after the grace window', async () => {
      const f = serviceFixture({ graceSeconds: 10 });
      await withUser(f);
      const first = await login(f);
      const second = await f.tokenService.refreshGrant(first.refresh_token!, undefined, undefined, CONTEXT);
      f.clock.advance(10_001);
      await assert.rejects(f.tokenService.refreshGrant(first.refresh_token!, undefined, undefined, CONTEXT), RefreshTokenReusedError);
      const sessionId = (await f.codec.verify(second.access_token)).sid!;
      assert.equal((await f.sessions.find(sessionId))?.revokedReason, 'refresh_token_reused');
      await assert.rejects(f.tokenService.refreshGrant(second.refresh_token!, undefined, undefined, CONTEXT), InvalidRefreshTokenError);
      assert.deepEqual(await f.events('refresh.reuse_detected'), [
        { type: 'refresh.reuse_detected', outcome: 'failure', subject: 'Alice', details: { session: sessionId } },
      ]);
    });

    it('treats any reuse as theft with no grace window, and a retry once the successor was itself rotated', async () => {
      const none = serviceFixture({ graceSeconds: 0 });
      await withUser(none);
      const first = await login(none);
      await none.tokenService.refreshGrant(first.refresh_token!, undefined, undefined, CONTEXT);
      await assert.rejects(none.tokenService.refreshGrant(first.refresh_token!, undefined, undefined, CONTEXT), RefreshTokenReusedError);

      const f = serviceFixture({ graceSeconds: 10 });
      await withUser(f);
      const one = await login(f);
      const two = await f.tokenService.refreshGrant(one.refresh_token!, undefined, undefined, CONTEXT);
      await f.tokenService.refreshGrant(two.refresh_token!, undefined, undefined, CONTEXT);
      await assert.rejects(f.tokenService.refreshGrant(one.refresh_token!, undefined, undefined, CONTEXT), RefreshTokenReusedError);
    });

    it('refuses a malformed token, a wrong secret and an expired session', async () => {
      const f = serviceFixture();
      await withUser(f);
      const tokens = await login(f);
      await assert.rejects(f.tokenService.refreshGrant('not-a-token', undefined, undefined, CONTEXT), InvalidRefreshTokenError);
      const { id } = parseRefreshToken(tokens.refresh_token!)!;
      await assert.rejects(f.tokenService.refreshGrant(`${id}.${'A'.repeat(43)}`, undefined, undefined, CONTEXT), InvalidRefreshTokenError);
      f.clock.advance(IDLE_SECONDS * 1000);
      await assert.rejects(f.tokenService.refreshGrant(tokens.refresh_token!, undefined, undefined, CONTEXT), InvalidRefreshTokenError);
    });

    it('narrows scopes, never widens them past the login, and drops what the user lost', async () => {
      const f = serviceFixture();
      await withUser(f, { scopes: ['me', 'items:read', 'items:write'] });
      const tokens = await login(f, ['me', 'items:read']);
      await assert.rejects(f.tokenService.refreshGrant(tokens.refresh_token!, ['items:write'], undefined, CONTEXT), InvalidScopeError);
      const narrowed = await f.tokenService.refreshGrant(tokens.refresh_token!, ['me'], undefined, CONTEXT);
      assert.equal(narrowed.scope, 'me');
      await f.userService.update('alice', { scopes: ['items:read'] });
      const after = await f.tokenService.refreshGrant(narrowed.refresh_token!, undefined, undefined, CONTEXT);
      assert.equal(after.scope, 'items:read');
    });

    it('binds the refresh token to the client that logged in', async () => {
      const f = serviceFixture();
      await withUser(f);
      const app = client('app');
      const tokens = await login(f, undefined, app);
      assert.equal((await f.codec.verify(tokens.access_token)).client_id, 'app');
      await assert.rejects(f.tokenService.refreshGrant(tokens.refresh_token!, undefined, undefined, CONTEXT), InvalidRefreshTokenError);
      await assert.rejects(
        f.tokenService.refreshGrant(tokens.refresh_token!, undefined, client('other'), CONTEXT),
        InvalidRefreshTokenError,
      );
      const refreshed = await f.tokenService.refreshGrant(tokens.refresh_token!, undefined, app, CONTEXT);
      assert.equal((await f.codec.verify(refreshed.access_token)).client_id, 'app');
    });

    it('refuses a disabled user', async () => {
      const f = serviceFixture();
      await withUser(f);
      const tokens = await login(f);
      await f.users.setDisabled('alice', true, T0);
      await assert.rejects(f.tokenService.refreshGrant(tokens.refresh_token!, undefined, undefined, CONTEXT), InactiveUserError);
    });
  });

  describe('client credentials grant', () => {
    it('requires an authenticated client', async () => {
      const f = serviceFixture();
      await assert.rejects(f.tokenService.clientCredentialsGrant(undefined, undefined, CONTEXT), InvalidClientError);
    });

    it('issues a token for the client with the requested scopes it holds, and no refresh token', async () => {
      const f = serviceFixture();
      const service = client('svc', ['items:read', 'items:write']);
      const tokens = await f.tokenService.clientCredentialsGrant(service, ['items:write', 'admin'], CONTEXT);
      assert.equal(tokens.scope, 'items:write');
      assert.equal(tokens.refresh_token, undefined);
      const claims = await f.codec.verify(tokens.access_token);
      assert.equal(claims.sub, 'svc');
      assert.equal(claims.client_id, 'svc');
      assert.equal(claims.sid, undefined);
      assert.equal((await f.tokenService.clientCredentialsGrant(service, undefined, CONTEXT)).scope, 'items:read items:write');
      assert.equal((await f.events('client.token_issued')).length, 2);
    });
  });
});
