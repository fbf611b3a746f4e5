/**
 * An attack on a real Portcullis, to show each abuse defence holding.
 * Starts the server on 127.0.0.1 (a temp folder, a free port), runs bounded
 * attack scenarios against it, prints what each defence did, and exits 1 if
 * one did not hold. Traffic goes to loopback only; addresses of "other
 * machines" are simulated with X-Forwarded-For from a trusted proxy
 * (TRUSTED_PROXIES=127.0.0.1), as behind a real reverse proxy.
 *
 * A refused login carries a proof-of-work challenge; the owner's client here
 * solves it as a browser would (altcha-lib's solver, the defaults' work), and
 * the script reports how long that took.
 *
 *   npm run attack            # the whole run, ~20 s
 *   npm run attack -- --short # fewer requests (the smoke test in npm test)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/server/config.js';
import { startServer } from '../src/server/start-server.js';
import { challengeOf, solve } from '../test/helpers/challenge.js';

const short = process.argv.includes('--short');
const scale = short ? 0.5 : 1;
const OWNER_PASSWORD = 'the owner remembers this one';

interface Outcome {
  readonly scenario: string;
  readonly expectation: string;
  readonly observed: string;
  /** undefined: a measurement shown but not judged (latency in the short smoke run). */
  readonly held: boolean | undefined;
}

const outcomes: Outcome[] = [];
function record(scenario: string, expectation: string, observed: string, held: boolean | undefined): void {
  outcomes.push({ scenario, expectation, observed, held });
}

function count(statuses: readonly number[]): string {
  const tally = new Map<number, number>();
  for (const status of statuses) tally.set(status, (tally.get(status) ?? 0) + 1);
  return [...tally.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, n]) => `${n}×${status}`)
    .join(' ');
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const dataDir = mkdtempSync(join(tmpdir(), 'portcullis-attack-'));
const config = loadConfig({
  SECRET_KEY: 'attack-script-secret-key-0123456789abcdef',
  HOST: '127.0.0.1',
  PORT: '0',
  DATA_DIR: dataDir,
  LOG_LEVEL: 'silent',
  TRUSTED_PROXIES: '127.0.0.1',
  ...(process.env.ATTACK_ENV_JSON ? (JSON.parse(process.env.ATTACK_ENV_JSON) as Record<string, string>) : {}),
});
const server = await startServer(config);
const url = server.url;

async function login(username: string, password: string, from: string, cookie?: string, solution?: string): Promise<Response> {
  return fetch(`${url}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-forwarded-for': from,
      ...(cookie ? { cookie } : {}),
    },
    body: new URLSearchParams({ username, password, ...(solution ? { challenge_solution: solution } : {}) }).toString(),
  });
}

/** The no-lockout bound: the owner reaches the password check within this long, whatever the attack. */
const OWNER_BOUND_MS = 120_000;

/** A client that knows the challenge: tries, solves the challenge of a 429, tries again. Status and the time it took. */
async function ownerLogin(
  username: string,
  password: string,
  from: string,
  cookie?: string,
): Promise<{ status: number; ms: number; solved: boolean }> {
  const started = performance.now();
  const first = await login(username, password, from, cookie);
  if (first.status !== 429) return { status: first.status, ms: performance.now() - started, solved: false };
  const { solution } = await solve(challengeOf(await first.json()));
  const second = await login(username, password, from, cookie, solution);
  return { status: second.status, ms: performance.now() - started, solved: true };
}

function recordOwner(scenario: string, outcome: { status: number; ms: number; solved: boolean }): void {
  record(
    scenario,
    `200 within ${OWNER_BOUND_MS / 1000} s (one solved challenge at most): no lockout`,
    `${outcome.status} after ${(outcome.ms / 1000).toFixed(1)} s${outcome.solved ? ', one challenge solved' : ''}`,
    outcome.status === 200 && outcome.ms <= OWNER_BOUND_MS,
  );
}

function deviceCookie(response: Response): string | undefined {
  const header = response.headers.get('set-cookie');
  const match = header ? /(portcullis_device=[^;]+)/.exec(header) : null;
  return match?.[1];
}

try {
  await server.portcullis.users.create({ username: 'victim', password: OWNER_PASSWORD });
  await server.portcullis.users.create({ username: 'solved-for', password: OWNER_PASSWORD });
  for (let i = 0; i < 60; i += 1) await server.portcullis.users.create({ username: `user${i}`, password: `user-password-${i}-x` });

  // The owner has logged in before from their own device: it holds a device cookie.
  const first = await login('victim', OWNER_PASSWORD, '198.51.100.7');
  const cookie = deviceCookie(first);

  // 1. Guessing one account's password from one address.
  const guesses: number[] = [];
  for (let i = 0; i < 20 * scale; i += 1) guesses.push((await login('victim', `guess-${i}`, '203.0.113.5')).status);
  const attackerBlocked = guesses.slice(-3).every((status) => status === 429);
  record('password guessing, one account, one address', 'slowed down (429) after a few failures', count(guesses), attackerBlocked);

  const ownerElsewhere = await login('victim', OWNER_PASSWORD, '198.51.100.7', cookie);
  record(
    '…meanwhile the owner from their own device',
    '200: no lockout of the owner',
    String(ownerElsewhere.status),
    ownerElsewhere.status === 200,
  );
  // Without a device cookie, from a new address and from the attacker's own: at most one solved challenge.
  recordOwner('…and the owner from a new address, no cookie', await ownerLogin('victim', OWNER_PASSWORD, '192.0.2.44'));
  recordOwner("…and from the attacker's own address, no cookie", await ownerLogin('victim', OWNER_PASSWORD, '203.0.113.5'));

  // 2. Spraying one password across many accounts from one address.
  const spray: number[] = [];
  for (let i = 0; i < 50 * scale; i += 1) spray.push((await login(`user${i}`, 'Summer2026!', '203.0.113.9')).status);
  record(
    'password spraying, many accounts, one address',
    'the address is throttled (429)',
    count(spray),
    spray.slice(-3).every((s) => s === 429),
  );
  recordOwner(
    "…a colleague behind the sprayer's address, on a new device",
    await ownerLogin('user59', 'user-password-59-x', '203.0.113.9'),
  );

  // 3. Credential stuffing: one account from many addresses (a botnet).
  const stuffing: number[] = [];
  for (let i = 0; i < 40 * scale; i += 1) stuffing.push((await login('victim', `leaked-${i}`, `10.${i}.${i}.1`)).status);
  record('credential stuffing, one account, many addresses', 'the account is throttled (429)', count(stuffing), stuffing.includes(429));
  const ownerDuringStuffing = await login('victim', OWNER_PASSWORD, '198.51.100.7', cookie);
  record(
    '…the owner meanwhile, from their device',
    '200: the account limit spares known devices',
    String(ownerDuringStuffing.status),
    ownerDuringStuffing.status === 200,
  );
  recordOwner('…and from a new device at a new address', await ownerLogin('victim', OWNER_PASSWORD, '192.0.2.45'));
  recordOwner("…and from a new device at a bot's address", await ownerLogin('victim', OWNER_PASSWORD, '10.1.1.1'));

  // 3b. A guesser that solves every challenge: past the free failures, each failed guess doubles the next one's work, up to the cap.
  const solver = '203.0.113.77';
  const solverTimes: string[] = [];
  const levels: number[] = [];
  for (let i = 0; i < 3; i += 1) await (await login('solved-for', `solver-free-${i}`, solver)).arrayBuffer();
  for (let i = 0; i < 3; i += 1) {
    const refused = await login('solved-for', `solver-guess-${i}`, solver);
    if (refused.status !== 429) {
      record('a guesser that solves every challenge', 'refused (429) with a challenge', String(refused.status), false);
      break;
    }
    const challenge = challengeOf(await refused.json());
    levels.push(challenge.parameters.data!.level as number);
    const started = performance.now();
    const { solution } = await solve(challenge);
    solverTimes.push(`${((performance.now() - started) / 1000).toFixed(1)} s`);
    await (await login('solved-for', `solver-guess-${i}`, solver, undefined, solution)).arrayBuffer();
  }
  record(
    'a guesser that solves every challenge',
    'each solved guess costs more work (the level rises) up to the cap',
    `levels ${levels.join(', ')}; solves took ${solverTimes.join(', ')}`,
    levels.length === 3 && levels.every((level, i) => i === 0 || level > levels[i - 1]!),
  );

  // 4. A login flood meant to turn hashing cost into a denial of service.
  const token = ((await ownerDuringStuffing.json()) as { access_token: string }).access_token;
  const meLatencies: number[] = [];
  let flooding = true;
  const probe = (async () => {
    while (flooding) {
      const started = performance.now();
      const response = await fetch(`${url}/users/me`, { headers: { authorization: `Bearer ${token}` } });
      await response.arrayBuffer();
      meLatencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  const flood = await Promise.all(
    Array.from({ length: Math.round(400 * scale) }, (_, i) =>
      login(`user${i % 60}`, `flood-${i}`, `172.16.${i % 250}.${(i * 7) % 250}`).then((r) => r.status),
    ),
  );
  flooding = false;
  await probe;
  const p99 = percentile(meLatencies, 99);
  record(
    'login flood (hash exhaustion)',
    'excess logins refused at once (503), not queued',
    count(flood),
    flood.includes(503) || flood.includes(429),
  );
  // Latency is judged in the full run only: the short run is a smoke test
  // of the script on a shared CI machine, where a timing bound would flake.
  record(
    '…GET /users/me during the flood',
    short ? 'measured only (judged in the full run)' : 'p99 stays low (< 100 ms)',
    `p99 ${p99.toFixed(1)} ms over ${meLatencies.length} calls`,
    meLatencies.length === 0 ? false : short ? undefined : p99 < 100,
  );

  // 5. Forged tokens.
  const [header, payload] = token.split('.');
  const forged = [
    `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${payload}.`,
    `${header}.${Buffer.from(JSON.stringify({ sub: 'admin', scope: 'admin' })).toString('base64url')}.${token.split('.')[2]}`,
    `${token.slice(0, -4)}AAAA`,
  ];
  const forgedStatuses: number[] = [];
  for (const candidate of forged) {
    forgedStatuses.push((await fetch(`${url}/users/me`, { headers: { authorization: `Bearer ${candidate}` } })).status);
  }
  record(
    'forged tokens (alg none, edited claims, bad signature)',
    'all 401',
    count(forgedStatuses),
    forgedStatuses.every((s) => s === 401),
  );
} finally {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}

const width = Math.max(...outcomes.map((o) => o.scenario.length));
const label = (held: boolean | undefined): string => (held === undefined ? 'NOTED ' : held ? 'HELD  ' : 'FAILED');
for (const outcome of outcomes) {
  console.log(`${label(outcome.held)}  ${outcome.scenario.padEnd(width)}  expected: ${outcome.expectation}; saw: ${outcome.observed}`);
}
const judged = outcomes.filter((o) => o.held !== undefined);
const failed = judged.filter((o) => o.held === false).length;
console.log(`defences held: ${judged.length - failed} of ${judged.length}`);
process.exitCode = failed === 0 ? 0 : 1;
