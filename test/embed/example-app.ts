/**
 * What the Express and Hono examples must both do, checked over real HTTP:
 * each runs as a child process (`node --import tsx examples/<name>/server.ts`,
 * as its header says) on a free port, with a fresh SQLite file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { openPortcullis } from '../../src/index.js';
import { sendRaw } from '../helpers/raw-http.js';
import { makeTempDir, TEST_SECRET_KEY } from '../helpers/server.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PASSWORD = 'correct horse battery';
/** Only guards against a child that hangs; nothing is asserted about how long anything takes. */
const START_LIMIT_MS = 90_000;

export interface ExampleApp {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts `script` with PORT=0 and resolves with the url of its `{"url": ...}` line. */
export async function startExampleApp(script: string, env: Record<string, string>): Promise<ExampleApp> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, HOST: '127.0.0.1', PORT: '0', ...env };
  delete childEnv.NODE_OPTIONS; // the test runner's own flags are not the example's
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not report its url\n${output}`));
    }, START_LIMIT_MS);
    createInterface({ input: child.stdout }).on('line', (line) => {
      output += `${line}\n`;
      if (!line.startsWith('{"url"')) return;
      clearTimeout(timer);
      resolveUrl((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (code ${code}) before listening\n${output}`));
    });
  });
  return {
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      assert.equal(child.exitCode, 0, `${script} did not stop cleanly\n${output}`);
    },
  };
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

async function call(app: ExampleApp, path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(`${app.url}${path}`, init);
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
const form = (fields: Record<string, string>): RequestInit => ({ method: 'POST', body: new URLSearchParams(fields) });
const bearer = (token: string): RequestInit => ({ headers: { authorization: `Bearer ${token}` } });

export function describeExampleApp(name: string, script: string): void {
  describe(`${script}`, () => {
    let dir: string;
    let database: string;
    let app: ExampleApp;
    before(async () => {
      dir = makeTempDir();
      database = `sqlite:${join(dir, 'example.db')}`;
      app = await startExampleApp(script, { SECRET_KEY: TEST_SECRET_KEY, DATABASE_URL: database });
    });
    after(async () => {
      await app?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    async function login(username: string): Promise<string> {
      const answer = await call(app, '/login', form({ username, password: PASSWORD }));
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      return answer.body.access_token as string;
    }

    it(`serves /public to anyone (${name})`, async () => {
      const answer = await call(app, '/public');
      assert.equal(answer.status, 200);
      assert.equal(typeof answer.body.message, 'string');
    });

    it('signs up, logs in with a form or JSON, and answers /me with the user', async () => {
      const signUp = await call(
        app,
        '/signup',
        json({ username: 'alice', password: PASSWORD, email: 'alice@example.com', scopes: ['admin'] }),
      );
      assert.equal(signUp.status, 201);
      assert.equal(signUp.body.username, 'alice');
      assert.deepEqual(signUp.body.scopes, []);
      const tokens = await call(app, '/login', json({ username: 'alice', password: PASSWORD }));
      assert.equal(tokens.status, 200);
      assert.equal(tokens.body.token_type, 'bearer');
      assert.equal(typeof tokens.body.refresh_token, 'string');
      assert.equal(tokens.headers.get('cache-control'), 'no-store');
      const me = await call(app, '/me', bearer(await login('ALICE')));
      assert.equal(me.status, 200);
      assert.deepEqual(me.body, { username: 'alice', email: 'alice@example.com', scopes: [] });
    });

    it('answers a wrong password and a missing one as POST /token does', async () => {
      const wrong = await call(app, '/login', form({ username: 'alice', password: 'not the password' }));
      assert.equal(wrong.status, 401);
      assert.deepEqual(wrong.body, {
        detail: 'Incorrect username or password',
        error: 'invalid_grant',
        error_description: 'Incorrect username or password',
      });
      assert.equal(wrong.headers.get('www-authenticate'), 'Bearer');
      const missing = await call(app, '/login', form({ username: 'alice' }));
      assert.equal(missing.status, 400);
      assert.equal(missing.body.error, 'invalid_request');
    });

    it('answers a refused sign-up with 400 or 409 and the reason', async () => {
      const taken = await call(app, '/signup', json({ username: 'Alice', password: 'another fine password' }));
      assert.equal(taken.status, 409);
      assert.deepEqual(taken.body, { detail: 'Username already registered' });
      const weak = await call(app, '/signup', json({ username: 'mallory', password: 'password' }));
      assert.equal(weak.status, 400);
      assert.equal(typeof weak.body.detail, 'string');
      assert.equal((await call(app, '/signup', json({ password: PASSWORD }))).status, 400);
    });

    it('answers 401 with WWW-Authenticate without a token or with a bad one', async () => {
      for (const path of ['/me', '/items']) {
        const none = await call(app, path);
        assert.equal(none.status, 401);
        assert.deepEqual(none.body, { detail: 'Not authenticated' });
        assert.equal(none.headers.get('www-authenticate'), 'Bearer');
        const bad = await call(app, path, bearer('not.a.token'));
        assert.equal(bad.status, 401);
        assert.deepEqual(bad.body, { detail: 'Could not validate credentials' });
        assert.equal(bad.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
      }
    });

    it('never answers a request with two Authorization headers as if only the first were sent', async () => {
      const token = await login('alice');
      for (const second of ['Bearer garbage', `Bearer ${token}`]) {
        const { received } = await sendRaw(
          app.url,
          `GET /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nAuthorization: ${second}\r\nConnection: close\r\n\r\n`,
        );
        const status = Number(received.split(' ')[1]);
        // Express, through authorizationHeader(req.rawHeaders): 400. Hono joins the two into one value: an invalid token, 401.
        assert.ok(status === 400 || status === 401, received);
      }
    });

    it('answers /items with 403 insufficient_scope without the items scope, and 200 with it', async () => {
      const refused = await call(app, '/items', bearer(await login('alice')));
      assert.equal(refused.status, 403);
      assert.deepEqual(refused.body, { detail: 'Not enough permissions' });
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer error="insufficient_scope", scope="items"');
      // An account with the scope, made by another process on the same database (as an admin tool would).
      const admin = await openPortcullis({ secretKey: TEST_SECRET_KEY, database: { url: database } });
      try {
        await admin.createUser({ username: 'erin', password: PASSWORD, scopes: ['items'] });
      } finally {
        await admin.close();
      }
      const allowed = await call(app, '/items', bearer(await login('erin')));
      assert.equal(allowed.status, 200);
      assert.equal(allowed.body.owner, 'erin');
    });
  });
}
