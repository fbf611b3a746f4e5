/**
 * The verifier's `revocations` option against a stand-in feed served by the
 * test (what the feed says is set per test), with an injected clock for
 * staleness. The real server's feed: test/http/revocation-feed.test.ts.
 */
import { fixedClock } from '../core/clock.js';
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mintToken } from '../../test/helpers/key-server.js';
import {
  createVerifier,
  InvalidTokenError,
  RevocationsUnavailableError,
  RevokedTokenError,
  type RevocationFeedOptions,
  type Verifier,
} from './index.js';

const SECRET = 'test-secret-key-that-is-long-enough-0123456789';
const KEY = { alg: 'HS256' as const, secret: new TextEncoder().encode(SECRET) };
const ISSUER = 'http://portcullis.test';

interface FeedPage {
  cursor: string;
  full?: boolean;
  more?: boolean;
  retain_seconds?: number;
  sids?: string[];
  versions?: Array<{ sid: string; ver: number }>;
}

/** The stand-in feed: answers `pages[since ?? '']`, or `status`, and records what it was asked. */
interface StubFeed {
  readonly url: string;
  pages: Record<string, FeedPage | string>;
  status: number;
  readonly requests: Array<{ since: string | null; authorization: string | undefined; accept: string | undefined }>;
  close(): Promise<void>;
}

async function startStubFeed(): Promise<StubFeed> {
  const stub: StubFeed = { url: '', pages: {}, status: 200, requests: [], close: async () => undefined };
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const since = url.searchParams.get('since');
    stub.requests.push({ since, authorization: request.headers.authorization, accept: request.headers.accept });
    if (stub.status !== 200) {
      response.writeHead(stub.status, { 'content-type': 'application/json' }).end('{"detail":"no"}');
      return;
    }
    const page = stub.pages[since ?? ''] ?? { cursor: since ?? '0' };
    const body =
      typeof page === 'string' ? page : JSON.stringify({ full: false, more: false, retain_seconds: 1865, sids: [], versions: [], ...page });
    response.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(stub, {
    url: `http://127.0.0.1:${port}/revocations`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return stub;
}

const token = (claims: Record<string, unknown> = {}) => mintToken(KEY, { issuer: ISSUER, claims: { sid: 'live', ver: 0, ...claims } });

describe('the verifier following a revocation feed', () => {
  let feed: StubFeed;
  let verifier: Verifier | undefined;
  const logged: string[] = [];

  before(async () => {
    feed = await startStubFeed();
  });
  after(() => feed.close());
  afterEach(async () => {
    await verifier?.close();
    verifier = undefined;
    feed.pages = {};
    feed.status = 200;
    feed.requests.length = 0;
    logged.length = 0;
  });

  function follow(clock = fixedClock(Date.now()), extra: Partial<RevocationFeedOptions> = {}): Verifier {
    verifier = createVerifier({
      issuer: ISSUER,
      secret: SECRET,
      clock,
      revocations: {
        url: feed.url,
        clientId: 'pc_resource',
        clientSecret: 's3cret/+=',
        // Long: the tests ask for the syncs they wait for (sync()), and the timer never fires on its own.
        intervalMs: 60_000,
        maxStalenessSeconds: 120,
        log: (message) => logged.push(message),
        ...extra,
      },
    });
    return verifier;
  }

  it('asks with the client as HTTP Basic, and refuses tokens of the sessions it lists', async () => {
    feed.pages[''] = { cursor: '2', full: true, sids: ['gone'], versions: [{ sid: 'changed', ver: 2 }] };
    const v = follow();
    assert.equal((await v.verify(await token())).sid, 'live', 'waits for the first answer, then accepts what it does not list');
    await assert.rejects(
      v.verify(await token({ sid: 'gone' })),
      (error: unknown) => error instanceof RevokedTokenError && error instanceof InvalidTokenError && error.status === 401,
    );
    await assert.rejects(v.verify(await token({ sid: 'changed', ver: 1 })), RevokedTokenError);
    assert.equal((await v.verify(await token({ sid: 'changed', ver: 2 }))).sid, 'changed', 'issued after the password change');
    assert.equal(
      (await v.verify(await token({ sid: undefined, client_id: 'svc', sub: 'svc' }))).sid,
      undefined,
      'no session: nothing to check',
    );
    const expected = `Basic ${btoa(`pc_resource:${encodeURIComponent('s3cret/+=')}`)}`;
    assert.deepEqual(feed.requests, [{ since: null, authorization: expected, accept: 'application/json' }]);
    assert.deepEqual(v.revocations?.stats(), {
      syncs: 1,
      failures: 0,
      lastSyncedAt: v.revocations?.stats().lastSyncedAt,
      entries: 2,
      stale: false,
    });
  });

  it('continues from its cursor, and asks again at once while the feed says there is more', async () => {
    feed.pages[''] = { cursor: '1', sids: ['a'], more: true };
    feed.pages['1'] = { cursor: '2', sids: ['b'] };
    const v = follow();
    await v.verify(await token());
    assert.deepEqual(
      feed.requests.map((request) => request.since),
      [null, '1'],
      'the first sync, which the first verification waits for',
    );
    feed.pages['2'] = { cursor: '3', sids: ['c'] };
    assert.equal((await v.revocations!.sync()).ok, true, 'asked for now, not in a minute');
    assert.deepEqual(
      feed.requests.map((request) => request.since),
      [null, '1', '2'],
    );
    for (const sid of ['a', 'b', 'c']) await assert.rejects(v.verify(await token({ sid })), RevokedTokenError, sid);
  });

  it('syncs every intervalMs by itself; nextSync() waits for the next one', async () => {
    const v = follow(fixedClock(Date.now()), { intervalMs: 20, maxStalenessSeconds: 1 });
    const before = v.revocations!.stats().syncs;
    for (let i = 0; i < 3; i += 1) assert.equal((await v.revocations!.nextSync()).ok, true);
    assert.ok(v.revocations!.stats().syncs >= before + 3);
    assert.ok(feed.requests.length >= 3);
  });

  it('forgets an entry once no token of it can verify: retain_seconds after it heard of it, plus its own clock tolerance', async () => {
    const clock = fixedClock(Date.now());
    feed.pages[''] = { cursor: '1', sids: ['old'], retain_seconds: 100 };
    const v = follow(clock);
    await assert.rejects(v.verify(await token({ sid: 'old' })), RevokedTokenError);
    clock.advance(104_000);
    await v.revocations!.sync();
    assert.equal(v.revocations!.stats().entries, 1, 'kept for 100 s + 5 s of tolerance');
    clock.advance(2000);
    await v.revocations!.sync();
    assert.equal(v.revocations!.stats().entries, 0);
  });

  it('refuses with 503 (fail-closed) once the feed has been silent for maxStalenessSeconds, and recovers by itself', async () => {
    const clock = fixedClock(Date.now());
    feed.pages[''] = { cursor: '1', sids: ['gone'] };
    const v = follow(clock);
    await v.verify(await token());
    feed.status = 500;
    const failed = await v.revocations!.sync();
    assert.equal(failed.ok, false);
    assert.match(String(failed.error?.message), /answered HTTP 500/);
    clock.advance(120_000);
    assert.equal((await v.verify(await token())).sid, 'live', 'still within the bound: what it knew is what it checks');
    await assert.rejects(v.verify(await token({ sid: 'gone' })), RevokedTokenError, 'what it knew is still refused');
    clock.advance(1);
    const refused = await v.verify(await token()).then(
      () => assert.fail('accepted while stale'),
      (error: unknown) => error,
    );
    assert.ok(refused instanceof RevocationsUnavailableError);
    assert.equal(refused.status, 503);
    assert.equal(refused.code, 'ERR_REVOCATIONS_UNAVAILABLE');
    assert.equal(
      (await v.verify(await token({ sid: undefined, client_id: 'svc', sub: 'svc' }))).sub,
      'svc',
      'a client token has no session to ask about',
    );
    await v.revocations!.sync();
    assert.equal(v.revocations!.stats().stale, true);
    feed.status = 200;
    feed.pages['1'] = { cursor: '1' };
    assert.equal((await v.revocations!.sync()).ok, true);
    assert.equal((await v.verify(await token())).sid, 'live');
    assert.deepEqual(
      logged.map((line) => line.replace(/http:\/\/127\.0\.0\.1:\d+/, 'URL')),
      [
        'portcullis verifier: the revocation feed failed: the revocation feed at URL/revocations answered HTTP 500',
        'portcullis verifier: no answer from the revocation feed for over 120 s: refusing tokens (503) until it answers',
        'portcullis verifier: the revocation feed at URL/revocations answers again',
      ],
      'once each: the failure, the staleness, the recovery',
    );
  });

  it("accepts tokens while stale with whenStale: 'accept' (fail-open), saying so once", async () => {
    const clock = fixedClock(Date.now());
    feed.status = 503;
    const v = follow(clock, { whenStale: 'accept' });
    assert.equal((await v.verify(await token())).sid, 'live', 'never synced, and accepted');
    await v.revocations!.sync();
    assert.equal(v.revocations!.stats().failures, 2);
    assert.equal(logged.length, 2);
    assert.match(logged[1]!, /accepting tokens without knowing of revocations since/);
  });

  it('refuses before the first answer when the feed is down at start (fail-closed), and names a 401 as the credentials', async () => {
    feed.status = 401;
    const v = follow();
    await assert.rejects(v.verify(await token()), RevocationsUnavailableError);
    assert.match(logged[0]!, /answered HTTP 401 \(check revocations.clientId and clientSecret\)/);
  });

  it('takes an answer that is not a feed page as a failure', async () => {
    feed.pages[''] = '{"cursor": 5, "sids": "nope"}';
    const v = follow();
    const result = await v.revocations!.sync();
    assert.equal(result.ok, false);
    assert.match(String(result.error?.message), /not a feed page/);
  });

  it('stops asking once closed', async () => {
    const v = follow(fixedClock(Date.now()), { intervalMs: 1, maxStalenessSeconds: 1 });
    await v.revocations!.sync();
    const waiting = v.revocations!.nextSync();
    await v.close();
    assert.deepEqual(await waiting, { ok: false, error: new Error('the verifier is closed') }, 'a wait in progress ends');
    assert.deepEqual(await v.revocations!.nextSync(), { ok: false, error: new Error('the verifier is closed') });
  });

  it('refuses bad options at construction', () => {
    const base = { issuer: ISSUER, secret: SECRET };
    const bad: Array<[unknown, RegExp]> = [
      [{ clientSecret: 'x' }, /revocations.clientId must be a non-empty string/],
      [{ clientId: 'x', clientSecret: '' }, /revocations.clientSecret/],
      [{ clientId: 'x', clientSecret: 'y', url: 'ftp://x' }, /revocations.url must be an http\(s\) URL/],
      [{ clientId: 'x', clientSecret: 'y', intervalMs: 0 }, /revocations.intervalMs must be a positive integer/],
      [{ clientId: 'x', clientSecret: 'y', intervalMs: 5000, maxStalenessSeconds: 5 }, /must be longer than revocations.intervalMs/],
      [{ clientId: 'x', clientSecret: 'y', whenStale: 'ignore' }, /whenStale must be 'refuse' or 'accept'/],
    ];
    for (const [revocations, message] of bad) {
      assert.throws(
        () => createVerifier({ ...base, revocations: revocations as RevocationFeedOptions }),
        (error: unknown) => error instanceof TypeError && message.test(error.message),
      );
    }
    assert.throws(() => createVerifier({ ...base, clock: {} as { now(): number } }), /clock must have a now\(\) method/);
  });
});
