/**
 * Nobody may lock an account out, tried as an attacker would, over HTTP with
 * the default limits: a slow guesser on one address, a botnet on many, a
 * sprayer behind a shared NAT, a flood from the owner's own address. In each,
 * the owner, from a fresh client (no device cookie), from the attacker's own
 * address and from another, reaches the password check at once or after one
 * solved challenge, never after a wait; and the attacker's guesses that skip
 * the work stay within the account bucket.
 *
 * The challenges here are small (LOGIN_CHALLENGE_WORK=1000: a few PBKDF2
 * calls) so the test solves them quickly; how long the defaults take a
 * browser is measured by `npm run bench:challenge`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { challengeOf, solve } from '../helpers/challenge.js';
import { runScript } from '../helpers/script.js';
import { formPostWith } from '../helpers/lifecycle.js';
import { from, randomClientIp } from '../helpers/rate-limits.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'the owner knows this one 1';
const NEW_PASSWORD = 'the owner chose another 2';

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly cookie: string | undefined;
}

describe('no lockout (default limits)', () => {
  let server: TestServer;
  before(async () => {
    // The defaults users run (not the test suite's unlimited buckets), with tiny challenges.
    server = await startTestServer({
      TRUSTED_PROXIES: '127.0.0.1',
      RATE_LIMIT_IP_PER_MINUTE: '60',
      RATE_LIMIT_IP_BURST: '30',
      RATE_LIMIT_ACCOUNT_PER_MINUTE: '10',
      RATE_LIMIT_ACCOUNT_BURST: '10',
      LOGIN_CHALLENGE_WORK: '1000',
      // A backoff that cannot run out while a test works (the default 1 s did on a loaded machine: the client
      // example's first try then got through unchallenged). No test here waits for a backoff to end.
      LOGIN_BACKOFF_BASE_SECONDS: '300',
    });
    for (const name of ['victim', 'slow-victim', 'colleague', 'flooded', 'changer', 'guessed', 'example-user']) {
      await server.portcullis.users.create({ username: name, password: PASSWORD });
    }
  });
  after(() => server.stop());

  async function login(username: string, password: string, ip: string, extra: { cookie?: string; solution?: string } = {}): Promise<Reply> {
    const response = await formPostWith(
      server,
      '/token',
      { username, password, ...(extra.solution ? { challenge_solution: extra.solution } : {}) },
      { ...from(ip), ...(extra.cookie ? { cookie: extra.cookie } : {}) },
    );
    const cookie = /(portcullis_device=[^;]+)/.exec(response.headers.get('set-cookie') ?? '')?.[1];
    return { status: response.status, body: (await response.json()) as Record<string, unknown>, cookie };
  }

  /** The owner's client: tries, and when refused with a challenge, solves it and tries once more. */
  async function ownerLogin(username: string, ip: string, cookie?: string): Promise<{ first: number; final: number; solved: boolean }> {
    const first = await login(username, PASSWORD, ip, cookie ? { cookie } : {});
    if (first.status !== 429) return { first: first.status, final: first.status, solved: false };
    const { solution } = await solve(challengeOf(first.body));
    const second = await login(username, PASSWORD, ip, { ...(cookie ? { cookie } : {}), solution });
    return { first: first.status, final: second.status, solved: true };
  }

  it('a slow guesser on one address (inside its own limits) does not spend the account bucket for everyone', async () => {
    const attacker = randomClientIp();
    const statuses: number[] = [];
    for (let i = 0; i < 15; i += 1) statuses.push((await login('slow-victim', `guess-${i}`, attacker)).status);
    // Three guesses reach the password check, then the backoff refuses; none of the refused ones spends the account's bucket.
    assert.deepEqual(statuses.slice(0, 3), [401, 401, 401]);
    assert.ok(
      statuses.slice(3).every((status) => status === 429),
      statuses.join(' '),
    );
    const owner = await ownerLogin('slow-victim', randomClientIp());
    assert.deepEqual(owner, { first: 200, final: 200, solved: false }, 'a fresh client gets in without even a challenge');
    const atAttackersAddress = await ownerLogin('slow-victim', attacker);
    assert.deepEqual(atAttackersAddress, { first: 429, final: 200, solved: true }, "from the attacker's address: one solve");
  });

  it('a botnet that empties the account bucket: the owner gets in with one solve, from anywhere', async () => {
    const bots = Array.from({ length: 20 }, () => randomClientIp());
    const statuses: number[] = [];
    for (const [i, bot] of bots.entries()) statuses.push((await login('victim', `stuffed-${i}`, bot)).status);
    const checked = statuses.filter((status) => status === 401).length;
    assert.ok(checked <= 10 + 1, `guesses that reached the password check without work: ${checked} (account burst 10, refill 10/min)`);
    assert.ok(statuses.includes(429), statuses.join(' '));
    for (const ip of [randomClientIp(), bots[0]!]) {
      assert.deepEqual(await ownerLogin('victim', ip), { first: 429, final: 200, solved: true }, ip);
    }
  });

  it('a sprayer behind a shared NAT: a colleague on a fresh device gets in with one solve', async () => {
    const nat = randomClientIp();
    for (let i = 0; i < 25; i += 1) await login(`sprayed-${i}`, 'Winter2026!', nat);
    const refused = await login('colleague', PASSWORD, nat);
    assert.equal(refused.status, 429);
    const { solution } = await solve(challengeOf(refused.body));
    assert.equal((await login('colleague', PASSWORD, nat, { solution })).status, 200);
  });

  it("a flood from the owner's own address (its address bucket empty): one solve", async () => {
    const shared = randomClientIp();
    let refusedByAddress = false;
    for (let i = 0; i < 40 && !refusedByAddress; i += 1) {
      const response = await formPostWith(server, '/revoke', { token: 'nothing' }, from(shared));
      refusedByAddress = response.status === 429;
      await response.arrayBuffer();
    }
    assert.ok(refusedByAddress, 'the address bucket ran out');
    assert.deepEqual(await ownerLogin('flooded', shared), { first: 429, final: 200, solved: true });
  });

  it('a solution is accepted once, for its account only; a solver pays more with each failed guess', async () => {
    const attacker = randomClientIp();
    for (let i = 0; i < 3; i += 1) await login('guessed', `guess-${i}`, attacker);
    const levels: number[] = [];
    let reply = await login('guessed', 'guess-x', attacker);
    for (let i = 0; i < 7; i += 1) {
      assert.equal(reply.status, 429);
      const challenge = challengeOf(reply.body);
      levels.push(challenge.parameters.data!.level as number);
      const { solution } = await solve(challenge);
      // Not for another account, even one the attacker is also backed off on.
      if (i === 0) assert.equal((await login('victim', 'guess-y', attacker, { solution })).status, 429);
      assert.equal((await login('guessed', `guess-solved-${i}`, attacker, { solution })).status, 401, 'through to the password check');
      reply = await login('guessed', `guess-reused-${i}`, attacker, { solution });
    }
    // Each failure past the free ones doubles the work, up to LOGIN_CHALLENGE_MAX_DOUBLINGS (5).
    assert.deepEqual(levels, [0, 1, 2, 3, 4, 5, 5]);
  });

  it('the client example (examples/challenge-client/login.mjs) logs in through a challenge', async () => {
    // The address of the test client (127.0.0.1, a trusted proxy here that sends no X-Forwarded-For) is backed off for this account.
    for (let i = 0; i < 3; i += 1) await formPostWith(server, '/token', { username: 'example-user', password: `guess-${i}` });
    assert.equal((await formPostWith(server, '/token', { username: 'example-user', password: PASSWORD })).status, 429);
    const { code, stdout, stderr } = await runScript('examples/challenge-client/login.mjs', [server.url, 'example-user', PASSWORD]);
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    assert.match(stderr, /solving the login challenge/);
    assert.equal(typeof (JSON.parse(stdout) as { access_token?: unknown }).access_token, 'string');
  });

  it('a device cookie stops counting once the password changes', async () => {
    const home = randomClientIp();
    const first = await login('changer', PASSWORD, home);
    assert.equal(first.status, 200);
    const access = first.body.access_token as string;
    assert.ok(first.cookie);
    // The account bucket is emptied from elsewhere; the cookie lets its device past it.
    for (let i = 0; i < 12; i += 1) await login('changer', `stuffed-${i}`, randomClientIp());
    assert.equal((await login('changer', PASSWORD, randomClientIp(), { cookie: first.cookie })).status, 200);
    const change = (solution?: string) =>
      server.fetch('/users/me/password', {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${access}`, ...from(home) },
        body: JSON.stringify({
          current_password: PASSWORD,
          new_password: NEW_PASSWORD,
          ...(solution ? { challenge_solution: solution } : {}),
        }),
      });
    // A password change spends the same account bucket as a login, so under this attack it is challenged too.
    const refusedChange = await change();
    assert.equal(refusedChange.status, 429);
    const changed = await change((await solve(challengeOf(await refusedChange.json()))).solution);
    assert.equal(changed.status, 204);
    const stale = await login('changer', NEW_PASSWORD, randomClientIp(), { cookie: first.cookie });
    assert.equal(stale.status, 429, 'the cookie of the old password is a stranger now');
    const { solution } = await solve(challengeOf(stale.body));
    const renewed = await login('changer', NEW_PASSWORD, randomClientIp(), { cookie: first.cookie, solution });
    assert.equal(renewed.status, 200);
    assert.ok(renewed.cookie);
    assert.equal((await login('changer', NEW_PASSWORD, randomClientIp(), { cookie: renewed.cookie })).status, 200);
  });
});

describe('a wrong current password counts as a failed login', () => {
  let server: TestServer;
  before(async () => {
    // Buckets that never trip: only the login backoff (3 free failures) stands in the way.
    server = await startTestServer({ TRUSTED_PROXIES: '127.0.0.1', LOGIN_CHALLENGE_WORK: '1000' });
    await server.portcullis.users.create({ username: 'stolen', password: PASSWORD });
  });
  after(() => server.stop());

  it('backs off guesses through a stolen session, shares the backoff with /token, and is challenged like a login', async () => {
    const thief = randomClientIp();
    const login = await formPostWith(server, '/token', { username: 'stolen', password: PASSWORD }, from(randomClientIp()));
    const { access_token: token } = (await login.json()) as { access_token: string };
    const change = (current: string, solution?: string) =>
      server.fetch('/users/me/password', {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...from(thief) },
        body: JSON.stringify({
          current_password: current,
          new_password: NEW_PASSWORD,
          ...(solution ? { challenge_solution: solution } : {}),
        }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await change(`guess-${i}`)).status);
    assert.deepEqual(statuses, [400, 400, 400, 429, 429, 429]);
    // The same (account, address) pair as a login: /token from there is backed off too.
    const viaToken = await formPostWith(server, '/token', { username: 'stolen', password: 'guess-t' }, from(thief));
    assert.equal(viaToken.status, 429);
    const refused = await change(PASSWORD);
    assert.equal(refused.status, 429);
    const { solution } = await solve(challengeOf(await refused.json()));
    assert.equal((await change(PASSWORD, solution)).status, 204);
  });
});
