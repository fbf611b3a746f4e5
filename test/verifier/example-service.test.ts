/**
 * Starts examples/resource-server/server.ts as a child process, the way its
 * README says, against a stand-in issuer (RFC 8414 metadata + JWKS served by
 * the test) and against a shared secret, and calls it over HTTP.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeSigningKey, mintToken, startKeyServer, type KeyServer, type SigningKey } from '../helpers/key-server.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SECRET = 'test-secret-key-that-is-long-enough-0123456789';

interface Service {
  readonly url: string;
  output(): string;
  stop(): Promise<void>;
}

/** Runs the example with PORT=0 and resolves with the url of its `{"url": ...}` line. */
async function startExample(env: Record<string, string>): Promise<Service> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(childEnv)) if (name.startsWith('PORTCULLIS_') || name === 'NODE_OPTIONS') delete childEnv[name];
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'examples/resource-server/server.ts'], {
    cwd: REPO_ROOT,
    env: { ...childEnv, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the example did not report its url\n${output}`));
    }, 15_000);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      for (const line of output.split('\n')) {
        if (!line.startsWith('{"url"')) continue;
        clearTimeout(timer);
        resolveUrl((JSON.parse(line) as { url: string }).url);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the example exited (code ${code}) before listening\n${output}`));
    });
  });
  return {
    url,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function get(service: Service, path: string, token?: string) {
  const response = await fetch(`${service.url}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

describe('examples/resource-server against an issuer (discovery, EdDSA)', () => {
  let issuer: KeyServer;
  let key: SigningKey;
  let service: Service;

  before(async () => {
    key = await makeSigningKey('EdDSA');
    issuer = await startKeyServer([key.jwk]);
    service = await startExample({ PORTCULLIS_ISSUER: issuer.url });
  });
  after(async () => {
    await service?.stop();
    await issuer?.close();
  });

  it('serves /public without a token', async () => {
    const response = await get(service, '/public');
    assert.equal(response.status, 200);
    assert.equal(typeof response.body.message, 'string');
  });

  it('answers 401 without a token and with a bad one', async () => {
    for (const path of ['/me', '/items']) {
      const none = await get(service, path);
      assert.equal(none.status, 401);
      assert.deepEqual(none.body, { detail: 'Not authenticated' });
      assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    }
    const other = await makeSigningKey('EdDSA');
    const forged = await get(service, '/me', await mintToken(other, { issuer: issuer.url, header: { kid: key.kid } }));
    assert.equal(forged.status, 401);
    assert.deepEqual(forged.body, { detail: 'Could not validate credentials' });
    assert.equal(forged.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
  });

  it('answers /me with the claims of any valid token, and /items with 403 without the items scope', async () => {
    const token = await mintToken(key, { issuer: issuer.url, claims: { scope: 'me' } });
    const me = await get(service, '/me', token);
    assert.equal(me.status, 200);
    assert.equal(me.body.sub, 'alice');
    assert.deepEqual(me.body.scope, ['me']);
    assert.equal(me.body.iss, issuer.url);
    assert.equal(me.body.raw, undefined);
    const items = await get(service, '/items', token);
    assert.equal(items.status, 403);
    assert.deepEqual(items.body, { detail: 'Not enough permissions' });
    assert.equal(items.headers.get('www-authenticate'), 'Bearer error="insufficient_scope", scope="items"');
  });

  it('answers /items with 200 for a token holding items, having fetched the metadata and keys once', async () => {
    const response = await get(service, '/items', await mintToken(key, { issuer: issuer.url, claims: { scope: 'me items' } }));
    assert.equal(response.status, 200);
    assert.equal(response.body.owner, 'alice');
    assert.ok(Array.isArray(response.body.items));
    assert.deepEqual(issuer.counts, { metadata: 1, jwks: 1 });
  });
});

describe('examples/resource-server with a shared secret (HS256)', () => {
  let service: Service;
  const secret = new TextEncoder().encode(SECRET);
  const ISSUER = 'http://127.0.0.1:8000';

  before(async () => {
    service = await startExample({ PORTCULLIS_ISSUER: ISSUER, PORTCULLIS_SECRET: SECRET });
  });
  after(() => service?.stop());

  it('answers 401, 403 and 200 as the token deserves', async () => {
    assert.equal((await get(service, '/items')).status, 401);
    const meOnly = await mintToken({ alg: 'HS256', secret }, { issuer: ISSUER, claims: { scope: 'me' } });
    assert.equal((await get(service, '/me', meOnly)).status, 200);
    assert.equal((await get(service, '/items', meOnly)).status, 403);
    const withItems = await mintToken({ alg: 'HS256', secret }, { issuer: ISSUER, claims: { scope: 'items' } });
    assert.equal((await get(service, '/items', withItems)).status, 200);
    const otherIssuer = await mintToken({ alg: 'HS256', secret }, { issuer: 'http://elsewhere.test', claims: { scope: 'items' } });
    assert.equal((await get(service, '/items', otherIssuer)).status, 401);
  });
});

describe('examples/resource-server misconfigured', () => {
  it('exits with a message when PORTCULLIS_ISSUER is missing', async () => {
    await assert.rejects(startExample({}), /PORTCULLIS_ISSUER/);
  });
});
