import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import {
  cliEnv,
  makeDataDir,
  runCli,
  startServe,
  tokenRequest,
  type CliResult,
  type RunOptions,
  type ServeProcess,
} from '../helpers/cli.js';

const PASSWORD = 'Tr0ubadour-and-horse-staple';

interface Tokens {
  readonly access: string;
  readonly refresh: string;
}

describe('portcullis users list filters, show, update, sessions and revoke-sessions', () => {
  const dataDir = makeDataDir();
  const printed: string[] = [];
  const run = async (args: readonly string[], options: Omit<RunOptions, 'env'> = {}): Promise<CliResult> => {
    const result = await runCli(args, { ...options, env: cliEnv(dataDir) });
    printed.push(result.stdout, result.stderr);
    return result;
  };
  const issued: string[] = [];
  let server: ServeProcess;

  before(async () => {
    for (const [name, extra] of [
      ['alice', ['--scopes', 'me']],
      ['alfred', ['--disabled']],
      ['bob', []],
    ] as const) {
      const added = await run(['users', 'add', name, '--password-stdin', ...extra], { input: `${PASSWORD}\n` });
      assert.equal(added.code, 0, added.stderr);
    }
    server = await startServe(cliEnv(dataDir));
  });
  after(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function login(username: string): Promise<Tokens> {
    const response = await tokenRequest(server.url, username, PASSWORD);
    assert.equal(response.status, 200, await response.clone().text());
    const body = (await response.json()) as { access_token: string; refresh_token: string };
    issued.push(body.access_token, body.refresh_token);
    return { access: body.access_token, refresh: body.refresh_token };
  }

  async function meStatus(token: string): Promise<number> {
    return (await server.fetch('/users/me', { headers: { authorization: `Bearer ${token}` } })).status;
  }

  async function refreshStatus(token: string): Promise<number> {
    const response = await server.fetch('/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }).toString(),
    });
    return response.status;
  }

  async function listed(args: readonly string[]): Promise<string[]> {
    const result = await run(['users', 'list', '--json', ...args]);
    assert.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as Array<{ username: string }>).map((row) => row.username);
  }

  async function sessionIds(name: string): Promise<Array<{ id: string; scope: string; current: boolean }>> {
    const result = await run(['users', 'sessions', name, '--json']);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as Array<{ id: string; scope: string; current: boolean }>;
  }

  it('lists users by prefix and by state', async () => {
    assert.deepEqual(await listed([]), ['alfred', 'alice', 'bob']);
    assert.deepEqual(await listed(['--prefix', 'AL']), ['alfred', 'alice']);
    assert.deepEqual(await listed(['--disabled']), ['alfred']);
    assert.deepEqual(await listed(['--enabled']), ['alice', 'bob']);
    assert.deepEqual(await listed(['--prefix', 'al', '--enabled']), ['alice']);
    assert.deepEqual(await listed(['--prefix', 'zed']), []);
    const table = await run(['users', 'list', '--disabled']);
    assert.match(table.stdout, /^alfred\s+disabled/m);
    assert.doesNotMatch(table.stdout, /alice|bob/);
    const both = await run(['users', 'list', '--disabled', '--enabled']);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /cannot be used with/);
  });

  it('shows a user as text and as JSON, without any hash', async () => {
    const text = await run(['users', 'show', 'ALICE']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^username\s+alice$/m);
    assert.match(text.stdout, /^status\s+active$/m);
    assert.match(text.stdout, /^scopes\s+me$/m);
    const json = await run(['users', 'show', 'alice', '--json']);
    const user = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(user).sort(), [
      'created_at',
      'disabled',
      'email',
      'email_verified',
      'full_name',
      'mfa_required',
      'scopes',
      'username',
    ]);
    assert.deepEqual(user.scopes, ['me']);
    for (const output of [text.stdout, json.stdout]) assert.doesNotMatch(output, /hash|\$argon2|password/i);
    const missing = await run(['users', 'show', 'nobody']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no user named "nobody"/i);
  });

  it('requires a second factor of one user with --mfa-required, and leaves it to MFA_POLICY with --mfa-required=false', async () => {
    const on = await run(['users', 'update', 'bob', '--mfa-required', '--json']);
    assert.equal(on.code, 0, on.stderr);
    assert.equal((JSON.parse(on.stdout) as Record<string, unknown>).mfa_required, true);
    assert.match((await run(['users', 'show', 'bob'])).stdout, /^mfa_required\s+yes$/m);
    const refused = await tokenRequest(server.url, 'bob', PASSWORD);
    assert.equal(refused.status, 401);
    const body = (await refused.json()) as { error: string; factors: string[]; enrolment_required?: boolean };
    assert.deepEqual([body.error, body.factors, body.enrolment_required], ['mfa_required', [], true]);

    const off = await run(['users', 'update', 'bob', '--mfa-required=false', '--json']);
    assert.equal(off.code, 0, off.stderr);
    assert.equal((JSON.parse(off.stdout) as Record<string, unknown>).mfa_required, false);
    assert.equal((await tokenRequest(server.url, 'bob', PASSWORD)).status, 200);

    const bad = await run(['users', 'update', 'bob', '--mfa-required=maybe']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--mfa-required must be true or false/);

    const added = await run(['users', 'add', 'mallory', '--password-stdin', '--mfa-required'], { input: `${PASSWORD}\n` });
    assert.equal(added.code, 0, added.stderr);
    assert.equal((JSON.parse((await run(['users', 'show', 'mallory', '--json'])).stdout) as Record<string, unknown>).mfa_required, true);
    assert.equal((await run(['users', 'remove', 'mallory'])).code, 0);
  });

  it('updates e-mail, full name and scopes, and clears a field with an empty value', async () => {
    const result = await run([
      'users',
      'update',
      'alice',
      '--email',
      'alice@example.com',
      '--full-name',
      'Alice Liddell',
      '--scopes',
      'me,items',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Updated user alice/);
    let user = JSON.parse((await run(['users', 'show', 'alice', '--json'])).stdout) as Record<string, unknown>;
    assert.equal(user.email, 'alice@example.com');
    assert.equal(user.full_name, 'Alice Liddell');
    assert.deepEqual(user.scopes, ['me', 'items']);
    const granted = (await (await tokenRequest(server.url, 'alice', PASSWORD)).json()) as { scope: string };
    assert.equal(granted.scope, 'me items', 'new logins get the new scopes');

    const cleared = await run(['users', 'update', 'alice', '--email', '', '--json']);
    assert.equal(cleared.code, 0, cleared.stderr);
    user = JSON.parse(cleared.stdout) as Record<string, unknown>;
    assert.equal(user.email, null);
    assert.equal(user.full_name, 'Alice Liddell');
  });

  it('refuses updates that are not valid', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['users', 'update', 'alice'], 1, /nothing to update/],
      [['users', 'update', 'alice', '--disable', '--enable'], 1, /cannot be used with/],
      [['users', 'update', 'alice', '--scopes', 'me,"x"'], 1, /--scopes/],
      [['users', 'update', 'alice', '--email', 'not-an-email'], 2, /Invalid e-mail address/],
      [['users', 'update', 'nobody', '--full-name', 'No One'], 2, /no user named "nobody"/i],
    ];
    for (const [args, code, message] of cases) {
      const result = await run(args);
      assert.equal(result.code, code, args.join(' '));
      assert.match(result.stderr, message, args.join(' '));
    }
    const user = JSON.parse((await run(['users', 'show', 'alice', '--json'])).stdout) as Record<string, unknown>;
    assert.deepEqual(user.scopes, ['me', 'items']);
  });

  it('disables with update --disable at once, and enables with --enable', async () => {
    const live = await login('alice');
    assert.equal(await meStatus(live.access), 200);
    const result = await run(['users', 'update', 'alice', '--disable']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await meStatus(live.access), 401);
    const refused = await tokenRequest(server.url, 'alice', PASSWORD);
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { detail: string }).detail, 'Inactive user');
    assert.equal((await run(['users', 'update', 'alice', '--enable'])).code, 0);
    assert.equal(await meStatus((await login('alice')).access), 200);
    await run(['users', 'revoke-sessions', 'alice']);
  });

  it("lists a user's active sessions, without any token", async () => {
    assert.deepEqual(await sessionIds('alice'), []);
    const none = await run(['users', 'sessions', 'alice']);
    assert.match(none.stdout, /No active sessions for alice/);
    await login('alice');
    await login('alice');
    const sessions = await sessionIds('alice');
    assert.equal(sessions.length, 2);
    assert.ok(sessions.every((session) => session.current === false && session.scope === 'me items'));
    const table = await run(['users', 'sessions', 'alice']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID\s+CREATED\s+LAST USED/);
    for (const { id } of sessions) assert.match(table.stdout, new RegExp(`^${id}\\s`, 'm'));
    const missing = await run(['users', 'sessions', 'nobody']);
    assert.equal(missing.code, 2);
  });

  it('revokes one session with --session: its tokens stop working, the others keep working', async () => {
    await run(['users', 'revoke-sessions', 'alice']);
    const kept = await login('alice');
    const ended = await login('alice');
    const sessions = await sessionIds('alice');
    // Sessions are newest first: the second login is the first row.
    const endedId = sessions[0]!.id;
    const result = await run(['users', 'revoke-sessions', 'alice', '--session', endedId]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`Revoked session ${endedId} of alice`));
    assert.equal(await meStatus(ended.access), 401);
    assert.equal(await refreshStatus(ended.refresh), 401);
    assert.equal(await meStatus(kept.access), 200);
    assert.deepEqual(
      (await sessionIds('alice')).map((session) => session.id),
      [sessions[1]!.id],
    );

    const again = await run(['users', 'revoke-sessions', 'alice', '--session', endedId]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /No such session/);
    const bobs = await login('bob');
    const bobSession = (await sessionIds('bob'))[0]!.id;
    const crossed = await run(['users', 'revoke-sessions', 'alice', '--session', bobSession]);
    assert.equal(crossed.code, 2, "another user's session is not found");
    assert.equal(await meStatus(bobs.access), 200);
  });

  it("revokes every session of a user, and no one else's", async () => {
    const one = await login('alice');
    const two = await login('alice');
    const bobs = await login('bob');
    const result = await run(['users', 'revoke-sessions', 'alice']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Revoked 3 sessions of alice/);
    for (const ended of [one, two]) {
      assert.equal(await meStatus(ended.access), 401);
      assert.equal(await refreshStatus(ended.refresh), 401);
    }
    assert.equal(await meStatus(bobs.access), 200);
    assert.deepEqual(await sessionIds('alice'), []);
    const missing = await run(['users', 'revoke-sessions', 'nobody']);
    assert.equal(missing.code, 2);
  });

  it('audits these changes with the actor cli', async () => {
    const result = await run(['audit', '--actor', 'cli', '--json', '--limit', '500']);
    assert.equal(result.code, 0, result.stderr);
    const events = JSON.parse(result.stdout) as Array<{
      type: string;
      subject: string | null;
      actor: string;
      details: Record<string, unknown>;
    }>;
    assert.ok(events.every((event) => event.actor === 'cli'));
    const types = new Set(events.filter((event) => event.subject === 'alice').map((event) => event.type));
    for (const type of ['user.created', 'user.updated', 'user.disabled', 'user.enabled', 'session.revoked'])
      assert.ok(types.has(type), type);
    assert.ok(
      events.some((event) => event.type === 'session.revoked' && event.details.reason === 'revoked_by_admin'),
      'revocations carry their reason',
    );
    assert.ok(events.some((event) => event.type === 'user.created' && event.subject === 'alfred' && event.details.disabled === true));
  });

  it('never prints a password or a token', () => {
    const all = [...printed, server.output().stdout, server.output().stderr].join('\n');
    assert.ok(!all.includes(PASSWORD), 'a password was printed');
    for (const token of issued) assert.ok(!all.includes(token), 'a token was printed');
    for (const token of issued.filter((value) => !value.startsWith('ey'))) {
      assert.ok(!all.includes(token.split('.')[1]!), 'a refresh-token secret was printed');
    }
  });
});
