import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { cliEnv, makeDataDir, runCli, startServe, tokenRequest, type CliResult } from '../helpers/cli.js';
import type { PublicAuditEvent } from '../../src/core/audit/audit-event.js';

const PASSWORD = 'Tr0ubadour-and-horse-staple';
const NEW_PASSWORD = 'quiet-Lantern-harbour-71';
const WRONG_PASSWORD = 'not-Quite-the-password-3';

type EventBody = PublicAuditEvent;

describe('portcullis audit', () => {
  const dataDir = makeDataDir();
  const run = (args: readonly string[], input?: string): Promise<CliResult> =>
    runCli(args, { env: cliEnv(dataDir), ...(input === undefined ? {} : { input }) });
  const tokens: string[] = [];
  let clientSecret = '';
  let startedAt = '';

  async function events(args: readonly string[]): Promise<EventBody[]> {
    const result = await run(['audit', '--json', ...args]);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as EventBody[];
  }

  before(async () => {
    startedAt = new Date(Date.now() - 1000).toISOString();
    const steps: Array<[string[], string?]> = [
      [['users', 'add', 'alice', '--password-stdin', '--scopes', 'me'], `${PASSWORD}\n`],
      [['users', 'add', 'bob', '--password-stdin'], `${PASSWORD}\n`],
      [['users', 'disable', 'bob']],
      [['users', 'enable', 'bob']],
      [['users', 'passwd', 'alice', '--password-stdin'], `${NEW_PASSWORD}\n`],
      [['users', 'remove', 'bob']],
    ];
    for (const [args, input] of steps) {
      const result = await run(args, input);
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    }
    const added = await run(['clients', 'add', 'robot']);
    clientSecret = /^client_secret=(\S+)$/m.exec(added.stdout)![1]!;
    const server = await startServe(cliEnv(dataDir));
    try {
      assert.equal((await tokenRequest(server.url, 'alice', WRONG_PASSWORD)).status, 401);
      const ok = await tokenRequest(server.url, 'alice', NEW_PASSWORD);
      assert.equal(ok.status, 200);
      const body = (await ok.json()) as { access_token: string; refresh_token: string };
      tokens.push(body.access_token, body.refresh_token);
    } finally {
      await server.stop();
    }
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints the events newest first as a table', async () => {
    const result = await run(['audit']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.match(lines[0]!, /^AT\s+TYPE\s+OUTCOME\s+ACTOR\s+SUBJECT\s+IP\s+DETAILS$/);
    const times = lines.slice(1).map((line) => line.split(/\s+/)[0]!);
    assert.deepEqual(times, [...times].sort().reverse());
    assert.match(lines.at(-1)!, /\buser\.created\s+success\s+cli\s+alice\b.*scopes=me/);
    assert.match(result.stdout, /\blogin\.failure\s+failure\s+\S*\s*alice\b/);
  });

  it('records the users commands with the actor cli', async () => {
    const byCli = await events(['--actor', 'cli']);
    assert.ok(byCli.every((event) => event.actor === 'cli'));
    const seen = byCli.map((event) => `${event.type} ${event.subject}`);
    for (const expected of [
      'user.created alice',
      'user.created bob',
      'user.disabled bob',
      'user.enabled bob',
      'password.changed alice',
      'user.removed bob',
    ]) {
      assert.ok(seen.includes(expected), `${expected} in ${seen.join(', ')}`);
    }
    assert.ok(byCli.some((event) => event.type === 'client.created' && event.details.name === 'robot'));
  });

  it('filters by type, subject and outcome', async () => {
    const created = await events(['--type', 'user.created']);
    assert.deepEqual(
      created.map((event) => event.subject),
      ['bob', 'alice'],
    );
    assert.deepEqual(
      (await events(['--subject', 'bob'])).map((event) => event.type),
      ['user.removed', 'user.enabled', 'user.disabled', 'user.created'],
    );
    const failures = await events(['--outcome', 'failure']);
    assert.ok(failures.length >= 1);
    assert.ok(failures.every((event) => event.outcome === 'failure'));
    assert.ok(failures.some((event) => event.type === 'login.failure' && event.subject === 'alice'));
    const successes = await events(['--outcome', 'success', '--subject', 'alice', '--type', 'login.success']);
    assert.equal(successes.length, 1);
    assert.deepEqual(await events(['--subject', 'nobody']), []);
  });

  it('filters by time and limits the count', async () => {
    const all = await events(['--limit', '1000']);
    assert.ok(all.length >= 9);
    assert.equal((await events(['--since', startedAt, '--limit', '1000'])).length, all.length);
    assert.deepEqual(await events(['--since', '2999-01-01']), []);
    assert.deepEqual(await events(['--until', '2000-01-01T00:00:00Z']), []);
    assert.equal((await events(['--since', all.at(-1)!.at, '--limit', '1000'])).length, all.length, '--since is inclusive');
    const limited = await events(['--limit', '2']);
    assert.deepEqual(
      limited.map((event) => event.id),
      all.slice(0, 2).map((event) => event.id),
    );
    const empty = await run(['audit', '--since', '2999-01-01']);
    assert.equal(empty.stdout.trim(), 'No events.');
  });

  it('exits 1 for bad options, saying which', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--outcome', 'maybe'], /Allowed choices are success, failure/],
      [['--since', 'yesterday'], /--since must be an ISO 8601 date/],
      [['--until', '2025-02-30'], /--until must be an ISO 8601 date/],
      [['--since', '2025-05-02', '--until', '2025-05-01'], /--since must be earlier than --until/],
      [['--limit', '0'], /--limit must be an integer from 1/],
      [['--limit', 'many'], /--limit must be an integer from 1/],
      [['--type', 'user.exploded'], /--type must be one of: .*user\.created/],
      [['--frob'], /unknown option '--frob'/],
    ];
    for (const [args, message] of cases) {
      const result = await run(['audit', ...args]);
      assert.equal(result.code, 1, args.join(' '));
      assert.match(result.stderr, message, args.join(' '));
    }
  });

  it('never shows a password, hash, token or client secret', async () => {
    const outputs = [(await run(['audit', '--json', '--limit', '1000'])).stdout, (await run(['audit', '--limit', '1000'])).stdout];
    for (const output of outputs) {
      for (const secret of [PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, clientSecret, ...tokens]) {
        assert.ok(!output.includes(secret), 'a secret is in the audit output');
      }
      assert.ok(!output.includes(tokens[1]!.split('.')[1]!), 'a refresh-token secret is in the audit output');
      assert.doesNotMatch(output, /\$argon2|\$2[aby]\$|hash/i);
    }
  });
});
