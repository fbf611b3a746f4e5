/**
 * Property-based fuzzing (fast-check) over real HTTP: /token bodies (form and
 * JSON), Authorization headers, and mutations of a valid access token. Every
 * answer must be below 500, the server must keep answering, and no token but
 * the original (up to base64url's unused trailing bits) may ever be accepted.
 *
 * Brief in `npm test`; long through `npm run fuzz` (scripts/fuzz.mjs), which
 * sets FUZZ_RUNS (runs per property), FUZZ_SECONDS (time bound per property),
 * FUZZ_ALGORITHMS and optionally FUZZ_SEED to replay a failure.
 * Rate limits and the login backoff are set high so that they never mask
 * what the fuzzed code does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { sendRaw } from '../helpers/raw-http.js';
import { login, signUp, startTestServer, type TestServer, UNTHROTTLED } from '../helpers/server.js';
import { applyMutation, mutationArbitrary, sameToken } from './jwt-mutations.js';

const SHORT_RUNS = { token: 400, authorization: 1000, jwt: 2000 };
const LONG_RUNS = Number(process.env.FUZZ_RUNS ?? 0);
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 8);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const ALGORITHMS = (process.env.FUZZ_ALGORITHMS ?? 'HS256').split(',').filter((a) => a !== '');

const USER = 'fuzz-user';
const PASSWORD = 'fuzz-password-correct';

function runsFor(property: keyof typeof SHORT_RUNS): number {
  return LONG_RUNS > 0 ? LONG_RUNS : SHORT_RUNS[property];
}

/** Statuses seen by the running property, reported by the long run. */
const statuses = new Map<number, number>();

/** Runs a property to its run count or its time bound, and fails with fast-check's report (seed included). */
async function check<T>(name: keyof typeof SHORT_RUNS, property: fc.IAsyncProperty<T>): Promise<void> {
  const started = Date.now();
  statuses.clear();
  const details = await fc.check(property, {
    numRuns: runsFor(name),
    interruptAfterTimeLimit: SECONDS * 1000,
    markInterruptAsFailure: false,
    ...(SEED === undefined ? {} : { seed: SEED }),
  });
  if (details.failed) assert.fail(fc.defaultReportMessage(details) ?? 'property failed');
  if (LONG_RUNS > 0) {
    const note = details.interrupted ? ' (stopped by FUZZ_SECONDS)' : '';
    const seen = [...statuses]
      .sort(([a], [b]) => a - b)
      .map(([status, count]) => `${status}x${count}`)
      .join(' ');
    console.log(
      `fuzz ${name}: ${details.numRuns} runs in ${((Date.now() - started) / 1000).toFixed(1)} s${note}, seed ${details.seed}; statuses ${seen}`,
    );
  }
}

interface Reply {
  readonly status: number;
  readonly body: string;
}

/** One request as raw bytes on its own connection, so that any header byte can be sent. */
async function rawExchange(server: TestServer, head: string, body: Buffer = Buffer.alloc(0)): Promise<Reply> {
  const host = new URL(server.url).host;
  const request = Buffer.concat([
    Buffer.from(`${head}Host: ${host}\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1'),
    body,
  ]);
  const outcome = await sendRaw(server.url, request, 10_000);
  assert.ok(outcome.closedByServer, 'the server answered and closed');
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(outcome.received);
  assert.ok(match, `an HTTP response (got ${JSON.stringify(outcome.received.slice(0, 80))})`);
  statuses.set(Number(match[1]), (statuses.get(Number(match[1])) ?? 0) + 1);
  const split = outcome.received.indexOf('\r\n\r\n');
  return { status: Number(match[1]), body: split === -1 ? '' : outcome.received.slice(split + 4) };
}

function assertNo5xx(reply: Reply, label: string): void {
  assert.ok(reply.status >= 200 && reply.status < 500, `${label}: ${reply.status} ${reply.body.slice(0, 200)}`);
}

// ---------------------------------------------------------------- /token bodies
const fieldName = fc.oneof(
  fc.constantFrom('grant_type', 'username', 'password', 'scope', 'refresh_token', 'client_id', 'client_secret', 'token'),
  fc.string({ maxLength: 12 }),
);
const fieldValue = fc.oneof(
  fc.constantFrom(USER, PASSWORD, 'password', 'refresh_token', 'client_credentials', 'authorization_code', '', 'me', 'admin'),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);
const jsonValue = fc.oneof(fieldValue, fc.jsonValue({ maxDepth: 2 }));
const formBody = fc.oneof(
  fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 6 }).map((pairs) => new URLSearchParams(pairs).toString()),
  fc
    .array(fc.tuple(fieldName, fc.string({ unit: fc.constantFrom(...'%=&+;aZ9é\u0000 %2%C3%FF'.split('')), maxLength: 20 })), {
      maxLength: 5,
    })
    .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&')),
  fc.string({ maxLength: 200 }),
);
const jsonBody = fc.oneof(
  fc.dictionary(fieldName, jsonValue, { maxKeys: 6 }).map((o) => JSON.stringify(o)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
);
/** Close to a real login (the known account, sometimes its password), so that the password path is fuzzed too. */
const plausibleLogin = fc.record(
  {
    grant_type: fc.oneof(fc.constantFrom('password', 'refresh_token', 'client_credentials', ''), fc.string({ maxLength: 12 })),
    username: fc.oneof(fc.constantFrom(USER, USER.toUpperCase(), ` ${USER}`, `${USER}\u0000`), fc.string({ maxLength: 30 })),
    password: fc.oneof(fc.constant(PASSWORD), fc.string({ maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 30 })),
    scope: fc.oneof(fc.constantFrom('me', 'admin', 'me admin', '', ' me', 'me\tadmin'), fc.string({ maxLength: 20 })),
    refresh_token: fc.string({ maxLength: 60 }),
    client_id: fc.string({ maxLength: 20 }),
  },
  { requiredKeys: ['username', 'password'] },
);
const tokenRequest = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.oneof(
      plausibleLogin.map((o) => ({ type: 'application/x-www-form-urlencoded', body: Buffer.from(new URLSearchParams(o).toString()) })),
      plausibleLogin.map((o) => ({ type: 'application/json', body: Buffer.from(JSON.stringify(o)) })),
    ),
  },
  fc.record({
    type: fc.constantFrom(
      'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded; charset=UTF-8',
      'APPLICATION/X-WWW-FORM-URLENCODED',
    ),
    body: fc.oneof(
      formBody.map((s) => Buffer.from(s)),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    ),
  }),
  fc.record({
    type: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json;charset=latin1', 'Application/Json'),
    body: fc.oneof(
      jsonBody.map((s) => Buffer.from(s)),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    ),
  }),
  fc.record({
    type: fc.oneof(fc.constantFrom('', 'text/plain', 'multipart/form-data; boundary=x', 'application/jwt'), fc.string({ maxLength: 30 })),
    body: fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b)),
  }),
);
const basicAuth = fc.option(
  fc
    .tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }))
    .map(([id, secret]) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`),
  { freq: 4 },
);

/** A header value Node can carry: no CR, LF or NUL (those are the Authorization fuzz's job). */
const headerSafe = (text: string): string => text.replace(/[\r\n\0]/g, ' ');

// ---------------------------------------------------------------- Authorization
const scheme = fc.oneof(
  fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Basic', 'Token', 'Bearer:', '', 'DPoP', 'Bearer,'),
  fc.string({ maxLength: 8 }),
);
const separator = fc.constantFrom(' ', '  ', '\t', '', ' \t ', ',');

for (const algorithm of ALGORITHMS) {
  describe(`fuzzing (ALGORITHM=${algorithm})`, () => {
    let server: TestServer;
    let token: string;
    let kids: string[] = [];
    let keyMaterial: string[] = [];

    before(async () => {
      server = await startTestServer({ ...UNTHROTTLED, ALGORITHM: algorithm });
      assert.equal((await signUp(server, USER, PASSWORD)).status, 201);
      token = await login(server, USER, PASSWORD);
      const jwks = (await (await server.fetch('/.well-known/jwks.json')).json()) as { keys: Array<Record<string, string>> };
      kids = jwks.keys.map((k) => k.kid ?? '').filter((k) => k !== '');
      const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid?: string };
      if (header.kid !== undefined) kids.push(header.kid);
      keyMaterial = jwks.keys.flatMap((k) => [JSON.stringify(k), k.x ?? '', k.n ?? '']).filter((m) => m !== '');
    });
    after(() => server.stop());

    it('never answers /token with a 5xx, whatever the body', async () => {
      await check(
        'token',
        fc.asyncProperty(tokenRequest, basicAuth, async ({ type, body }, authorization) => {
          const auth = authorization === null ? '' : `Authorization: ${authorization}\r\n`;
          const reply = await rawExchange(server, `POST /token HTTP/1.1\r\nContent-Type: ${headerSafe(type)}\r\n${auth}`, body);
          assertNo5xx(reply, `/token ${type}`);
          const parsed = JSON.parse(reply.body) as Record<string, unknown>;
          assert.equal(typeof parsed, 'object');
          if (reply.status === 200) assert.equal(typeof parsed.access_token, 'string');
        }),
      );
      assert.equal((await server.fetch('/healthz')).status, 200);
    });

    it('never answers a 5xx to an Authorization header, and accepts only the real token', async () => {
      const credential = fc.oneof(
        fc.constant(token),
        mutationArbitrary(kids, keyMaterial).map((m) => applyMutation(token, m)),
        fc.stringMatching(/^[A-Za-z0-9\-._~+/]{1,300}=*$/),
        fc.string({ maxLength: 200 }),
        fc.string({ unit: 'binary', maxLength: 100 }),
        fc.uint8Array({ maxLength: 100 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
        fc.nat({ max: 6000 }).map((n) => 'a'.repeat(n)),
      );
      const header = fc.tuple(scheme, separator, credential).map(([s, sep, c]) => ({ value: `${s}${sep}${c}`, credential: c }));
      await check(
        'authorization',
        fc.asyncProperty(fc.array(header, { minLength: 1, maxLength: 2 }), async (headers) => {
          // Raw bytes: a CR or LF in a value may split it into another header line, as an attacker's would.
          const lines = headers.map((h) => `Authorization: ${h.value}\r\n`).join('');
          const reply = await rawExchange(server, `GET /users/me HTTP/1.1\r\n${lines}`);
          assertNo5xx(reply, 'GET /users/me');
          if (reply.status === 200) {
            assert.ok(
              headers.some((h) => sameToken(token, h.credential.trim())),
              `accepted ${JSON.stringify(headers.map((h) => h.value))}`,
            );
          }
        }),
      );
      assert.equal((await server.fetch('/healthz')).status, 200);
    });

    it('accepts no mutation of a valid token', async () => {
      const mutations = fc.array(mutationArbitrary(kids, keyMaterial), { minLength: 1, maxLength: 3 });
      await check(
        'jwt',
        fc.asyncProperty(mutations, async (list) => {
          const mutant = headerSafe(list.reduce(applyMutation, token));
          const reply = await rawExchange(server, `GET /users/me HTTP/1.1\r\nAuthorization: Bearer ${mutant}\r\n`);
          assertNo5xx(reply, 'GET /users/me');
          if (mutant === token) assert.equal(reply.status, 200, 'the untouched token is accepted');
          if (reply.status === 200) {
            // The server trims the credential, as HTTP trims header values.
            assert.ok(sameToken(token, mutant.trim()), `forgery accepted: ${JSON.stringify(list)} -> ${mutant}`);
          }
        }),
      );
      assert.equal((await server.fetch('/healthz')).status, 200);
    });
  });
}
