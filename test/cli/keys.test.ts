/**
 * `portcullis keys list|rotate|retire` end to end: the real binary on a
 * temporary data folder, next to a running `portcullis serve` that shares
 * the SQLite file and answers the very next request with the change in
 * effect, with one worker and with two. No output ever shows private key
 * material.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SealedBox } from '../../src/core/sealed-box.js';
import { cliEnv, makeDataDir, runCli, startServe, tokenRequest, type CliResult, type ServeProcess } from '../helpers/cli.js';
import { headerOf } from '../helpers/signing-keys.js';
import { rawRequest } from '../helpers/raw-http.js';

const SECRET_KEY = 'cli-keys-secret-key-that-is-long-enough-0123456789';
const OTHER_SECRET_KEY = 'another-secret-key-that-is-long-enough-9876543210';
const PASSWORD = 'shut-the-gate-gently-7';

interface KeyRow {
  kid: string;
  algorithm: string;
  state: 'current' | 'next' | 'retired';
  created_at: string;
  activated_at: string | null;
  retired_at: string | null;
}

describe('portcullis keys', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let serve: ServeProcess | undefined;
  /** Signed by the key that the forced rotation retires. */
  let tokenOfRetiredKey: string;
  const outputs: string[] = [];

  const cli = async (args: string[], extra: Record<string, string> = {}): Promise<CliResult> => {
    const result = await runCli(args, { env: { ...env, ...extra } });
    outputs.push(result.stdout, result.stderr);
    return result;
  };
  const listJson = async (): Promise<KeyRow[]> => {
    const result = await cli(['keys', 'list', '--json']);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as KeyRow[];
  };
  const states = (rows: readonly KeyRow[]) => Object.fromEntries(rows.map((row) => [row.kid, row.state]));
  const kidIn = (rows: readonly KeyRow[], state: KeyRow['state']) => rows.filter((row) => row.state === state).map((row) => row.kid);
  const login = async (): Promise<string> => {
    const response = await tokenRequest(serve!.url, 'alice', PASSWORD);
    assert.equal(response.status, 200);
    return ((await response.json()) as { access_token: string }).access_token;
  };
  const meStatus = async (token: string) => {
    const response = await serve!.fetch('/users/me', { headers: { authorization: `Bearer ${token}` } });
    await response.arrayBuffer();
    return response.status;
  };
  const jwksKids = async () =>
    ((await (await serve!.fetch('/.well-known/jwks.json')).json()) as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid);

  before(() => {
    dataDir = makeDataDir();
    env = cliEnv(dataDir, { ALGORITHM: 'EdDSA', SECRET_KEY }) as Record<string, string>;
  });
  after(async () => {
    await serve?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('says there are no keys before the server ever started', async () => {
    const text = await cli(['keys', 'list']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /No signing keys yet: start the server once/);
    assert.deepEqual(await listJson(), []);
  });

  it('lists the current and next keys the server created, and refuses a rotation right after', async () => {
    serve = await startServe(env);
    const signUp = await serve.fetch('/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: PASSWORD }),
    });
    assert.equal(signUp.status, 201);

    const rows = await listJson();
    assert.deepEqual(rows.map((row) => row.state).sort(), ['current', 'next']);
    for (const row of rows) {
      assert.deepEqual(Object.keys(row).sort(), ['activated_at', 'algorithm', 'created_at', 'kid', 'retired_at', 'state']);
      assert.equal(row.algorithm, 'EdDSA');
    }
    assert.deepEqual((await jwksKids()).sort(), rows.map((row) => row.kid).sort());
    assert.equal(headerOf(await login()).kid, kidIn(rows, 'current')[0]);

    const table = await cli(['keys', 'list']);
    assert.equal(table.code, 0);
    for (const row of rows) assert.match(table.stdout, new RegExp(`${row.kid}\\s+EdDSA\\s+${row.state}`));

    const early = await cli(['keys', 'rotate']);
    assert.equal(early.code, 2);
    assert.match(early.stderr, /published \d+ s ago; resource servers may cache the JWKS for 300 s\. Try again in \d+ s, or force it/);
    assert.deepEqual(states(await listJson()), states(rows), 'nothing moved');
  });

  it('rotates with --force, and the running server signs with the promoted key while earlier tokens still work', async () => {
    const rows = await listJson();
    const [current] = kidIn(rows, 'current');
    const [next] = kidIn(rows, 'next');
    const earlier = await login();

    const rotated = await cli(['keys', 'rotate', '--force']);
    assert.equal(rotated.code, 0, rotated.stderr);
    const match = /^Rotated: (\S+) now signs; (\S+) is retired; (\S+) is published as the next key\.\n$/.exec(rotated.stdout);
    assert.ok(match, rotated.stdout);
    assert.deepEqual(match.slice(1, 3), [next, current]);
    const newNext = match[3]!;
    assert.deepEqual(states(await listJson()), { [current!]: 'retired', [next!]: 'current', [newNext]: 'next' });

    // The very first answers after the command (no waiting: the server sees the commit before it answers).
    assert.deepEqual((await jwksKids()).sort(), [current!, next!, newNext].sort(), 'the first JWKS publishes the new next key');
    assert.equal(headerOf(await login()).kid, next, 'the first login is signed by the promoted key');
    assert.equal(await meStatus(earlier), 200, 'a token of the retired key still works');
    tokenOfRetiredKey = earlier;
  });

  it('retires a key: it leaves the store, and the running server refuses its tokens', async () => {
    const [retired] = kidIn(await listJson(), 'retired');
    assert.equal(headerOf(tokenOfRetiredKey).kid, retired);
    assert.equal(await meStatus(tokenOfRetiredKey), 200);
    const result = await cli(['keys', 'retire', retired!]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^Retired ${retired}: it no longer signs or verifies\\.`));
    assert.ok(!(await listJson()).some((row) => row.kid === retired));
    assert.equal(await meStatus(tokenOfRetiredKey), 401, 'the first request with its token is refused');
    assert.ok(!(await jwksKids()).includes(retired!), 'and the first JWKS no longer has it');
    assert.equal(await meStatus(await login()), 200, 'the current key is unaffected');

    const unknown = await cli(['keys', 'retire', 'no-such-kid']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /No signing key "no-such-kid"/);
    // Key ids are base64url: one in 64 begins with "-", and is a key id all the same, not an option.
    const dashed = await cli(['keys', 'retire', '-no-such-kid']);
    assert.equal(dashed.code, 2, dashed.stderr);
    assert.match(dashed.stderr, /No signing key "-no-such-kid"/);
  });

  it('refuses to rotate or retire under another SECRET_KEY, and under an HMAC ALGORITHM on asymmetric keys', async () => {
    const before = states(await listJson());
    const [next] = kidIn(await listJson(), 'next');
    for (const args of [
      ['keys', 'rotate', '--force'],
      ['keys', 'retire', next!],
    ]) {
      const wrong = await cli(args, { SECRET_KEY: OTHER_SECRET_KEY });
      assert.equal(wrong.code, 2, `${args.join(' ')}: ${wrong.stdout}`);
      assert.match(wrong.stderr, /cannot be decrypted: was SECRET_KEY changed\?/);
    }
    assert.deepEqual(states(await listJson()), before, 'no key sealed under the wrong SECRET_KEY was added');

    const other = await cli(['keys', 'rotate', '--force'], { ALGORITHM: 'ES256' });
    assert.equal(other.code, 2);
    assert.match(other.stderr, /the servers on this database sign with EdDSA: run this command with ALGORITHM=EdDSA/);
    assert.deepEqual(states(await listJson()), before, 'keys of another algorithm were not touched');

    // With an HMAC ALGORITHM the command manages the RS256 keys of ID tokens: not these.
    const hmac = await cli(['keys', 'rotate'], { ALGORITHM: 'HS256' });
    assert.equal(hmac.code, 2);
    assert.match(hmac.stderr, /The keys here are RS256 \(ALGORITHM=HS256\), but the servers on this database sign with EdDSA/);
  });

  it('serve refuses to start with another SECRET_KEY', async () => {
    const result = await serve!.stop();
    outputs.push(result.stdout, result.stderr);
    serve = undefined;
    await assert.rejects(startServe({ ...env, SECRET_KEY: OTHER_SECRET_KEY }), (error: unknown) => {
      assert.ok(error instanceof Error);
      outputs.push(error.message);
      assert.match(error.message, /exited \(code [1-9]\d*\) before listening/);
      assert.match(error.message, /cannot be decrypted: was SECRET_KEY changed\?/);
      return true;
    });
  });

  it('never prints private key material', () => {
    const db = new Database(join(dataDir, 'portcullis.db'), { readonly: true, fileMustExist: true });
    const sealed = db.prepare('SELECT kid, private_sealed FROM signing_keys').all() as Array<{ kid: string; private_sealed: string }>;
    db.close();
    const box = new SealedBox(SECRET_KEY, 'signing-key/v1');
    const all = outputs.join('\n');
    assert.ok(all.length > 0);
    assert.doesNotMatch(all, /PRIVATE KEY|"d"\s*:/);
    for (const row of sealed) {
      assert.ok(!all.includes(row.private_sealed), `the sealed box of ${row.kid}`);
      const pem = box.open(row.private_sealed, row.kid)!;
      const body = pem
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('-----'))
        .join('');
      assert.ok(!all.includes(body), `the private key of ${row.kid}`);
    }
    assert.ok(!all.includes(SECRET_KEY), 'SECRET_KEY');
  });
});

describe('portcullis keys next to two serve workers', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let serve: ServeProcess | undefined;
  /** Enough requests, each on its own connection, for the primary's round robin to reach both workers. */
  const ROUNDS = 6;

  const cli = (args: string[]) => runCli(args, { env });
  const kidIn = async (state: KeyRow['state']) => {
    const result = await cli(['keys', 'list', '--json']);
    assert.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as KeyRow[]).filter((row) => row.state === state).map((row) => row.kid);
  };
  /** One request per new connection: each may land on either worker. */
  const each = async <T>(request: () => Promise<T>): Promise<T[]> => {
    const outcomes: T[] = [];
    for (let i = 0; i < ROUNDS; i += 1) outcomes.push(await request());
    return outcomes;
  };
  const meStatus = async (token: string) => (await rawRequest(serve!.url, 'GET', '/users/me', { authorization: `Bearer ${token}` })).status;
  const loginKid = async () => {
    const response = await rawRequest(
      serve!.url,
      'POST',
      '/token',
      { 'content-type': 'application/x-www-form-urlencoded' },
      new URLSearchParams({ username: 'alice', password: PASSWORD }).toString(),
    );
    assert.equal(response.status, 200, response.body);
    return headerOf((JSON.parse(response.body) as { access_token: string }).access_token).kid as string;
  };
  const jwksKids = async () =>
    (JSON.parse((await rawRequest(serve!.url, 'GET', '/.well-known/jwks.json')).body) as { keys: Array<{ kid: string }> }).keys.map(
      (key) => key.kid,
    );

  before(async () => {
    dataDir = makeDataDir();
    env = cliEnv(dataDir, { ALGORITHM: 'EdDSA', SECRET_KEY, RATE_LIMIT_IP_BURST: '100000', RATE_LIMIT_ACCOUNT_BURST: '100000' }) as Record<
      string,
      string
    >;
    serve = await startServe({ ...env, WORKERS: '2' });
    const signUp = await serve.fetch('/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: PASSWORD }),
    });
    assert.equal(signUp.status, 201);
  });
  after(async () => {
    await serve?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('no worker signs with, accepts a token of, or publishes a key retired a moment ago', async () => {
    const [compromised] = await kidIn('current');
    const [next] = await kidIn('next');
    const response = await tokenRequest(serve!.url, 'alice', PASSWORD);
    const token = ((await response.json()) as { access_token: string }).access_token;
    assert.equal(headerOf(token).kid, compromised);
    // Warm: both workers have verified the token and hold the keys as they were.
    assert.deepEqual(await each(() => meStatus(token)), Array(ROUNDS).fill(200));

    const retired = await cli(['keys', 'retire', compromised!]);
    assert.equal(retired.code, 0, retired.stderr);

    assert.deepEqual(
      await each(() => meStatus(token)),
      Array(ROUNDS).fill(401),
      'its token, refused by every worker from the first request',
    );
    assert.deepEqual(await each(loginKid), Array(ROUNDS).fill(next), 'every login signed by the promoted key');
    for (const kids of await each(jwksKids)) assert.ok(!kids.includes(compromised!), 'and no JWKS publishes it');
  });
});
