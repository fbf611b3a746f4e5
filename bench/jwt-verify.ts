/**
 * bench/jwt-verify.ts — how much does it cost to VERIFY one HMAC-signed access token?
 *
 * What it measures, for HS256, HS384 and HS512, in one process:
 *   - baseline      bare node:crypto: createHmac(...).update(header.payload).digest() +
 *                   timingSafeEqual against the decoded signature + JSON.parse of the payload.
 *                   A yardstick only: it checks no header or claims and is not meant to ship.
 *   - fast-jwt      createVerifier({ key: Buffer, algorithms: [alg], allowedIss, checkTyp: 'at+jwt',
 *                   requiredClaims, cache: false }) — synchronous.
 *   - fast-jwt+cache  the same with cache: true (information only: repeated verification of the
 *                   SAME token hits fast-jwt's LRU, which still hashes the token on every call).
 *   - jose/<key>    await jwtVerify(token, key, { algorithms: [alg], issuer, typ: 'at+jwt',
 *                   requiredClaims }) one call at a time, with the key given as a Uint8Array,
 *                   a node:crypto KeyObject (createSecretKey) and a pre-imported CryptoKey.
 *   - jose/<key> x64  the same, 64 concurrent calls per Promise.all batch (throughput).
 * The token is { alg, typ: 'at+jwt' } . { sub, scope, iss, iat, nbf, exp (+30 min), jti } signed
 * with a random 32-byte secret.
 *
 * Before timing, every verifier must accept the valid token and reject (a) the token with one
 * signature character changed, (b) an `alg: none` token and (c) a token signed with another HS
 * algorithm and the same secret (e.g. HS384 while HS256 is pinned); otherwise it exits with 1.
 *
 * Method: all variants of an algorithm are warmed up (20k iterations each, capped at 1 s for the
 * slow async ones), then measured in 5 interleaved rounds timed with process.hrtime.bigint(); each
 * round is sized from the warm-up speed to last ~200 ms (--short: 4k / 0.2 s warm-up, ~40 ms rounds).
 * Reported: median µs per verify, min–max over the rounds, ops/s, and the ratio to the baseline.
 * The last line of output is `RESULT {json}` with every number and the environment.
 *
 * Run:   node --import tsx bench/jwt-verify.ts            (~40 s on a 2-core machine)
 *        node --import tsx bench/jwt-verify.ts --short    (~5x fewer iterations, CI smoke check)
 */
import { createHmac, createSecretKey, randomBytes, randomUUID, timingSafeEqual, webcrypto, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import process from 'node:process';
import { createVerifier } from 'fast-jwt';
import { SignJWT, jwtVerify } from 'jose';

type HsAlg = 'HS256' | 'HS384' | 'HS512';
type Kind = 'sync' | 'async' | 'batch';
type Verify = (token: string) => unknown;

interface Variant {
  name: string;
  kind: Kind;
  fn: Verify;
}

interface Row {
  alg: HsAlg;
  variant: string;
  kind: Kind;
  medianUs: number;
  minUs: number;
  maxUs: number;
  opsPerSec: number;
  vsBaseline: number;
  itersPerRound: number;
}

const SHORT = process.argv.includes('--short');
const WARMUP_ITERS = SHORT ? 4_000 : 20_000;
const ROUNDS = 5;
const WARMUP_MAX_NS = SHORT ? 0.2e9 : 1e9;
const WARMUP_CHUNK = 1_024;
const ROUND_TARGET_NS = SHORT ? 40e6 : 200e6;
const MIN_ROUND_ITERS = 256;
const BATCH = 64;
const ALGS: readonly HsAlg[] = ['HS256', 'HS384', 'HS512'];
const HASH: Record<HsAlg, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };
const ISSUER = 'http://127.0.0.1:8000';
const TYP = 'at+jwt';
const REQUIRED_CLAIMS = ['sub', 'exp', 'iat', 'nbf', 'jti', 'iss'];

function fail(message: string): never {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

function pkgVersion(name: string): string {
  const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  const pkg = JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

// ---------------------------------------------------------------- tokens
const secret = randomBytes(32);
const secretU8 = new Uint8Array(secret); // a plain Uint8Array copy, as jose expects
const secretKeyObject = createSecretKey(secret);
const now = Math.floor(Date.now() / 1000);
const claims = { sub: 'alice', scope: 'me items', iss: ISSUER, iat: now, nbf: now, exp: now + 30 * 60, jti: randomUUID() };

async function sign(alg: HsAlg): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, typ: TYP }).sign(secretU8);
}

/** Change one character in the middle of the signature (a middle character, so the decoded bytes change). */
function tamper(token: string): string {
  const sigStart = token.lastIndexOf('.') + 1;
  const i = sigStart + Math.floor((token.length - sigStart) / 2);
  const replacement = token[i] === 'A' ? 'B' : 'A';
  return token.slice(0, i) + replacement + token.slice(i + 1);
}

const tokens = {} as Record<HsAlg, string>;
for (const alg of ALGS) tokens[alg] = await sign(alg);
const algNoneToken = `${b64url({ alg: 'none', typ: TYP })}.${b64url(claims)}.`;

// ---------------------------------------------------------------- verifiers
function baseline(alg: HsAlg): Verify {
  const hash = HASH[alg];
  return (token: string): unknown => {
    const dot1 = token.indexOf('.');
    const dot2 = token.indexOf('.', dot1 + 1);
    if (dot1 < 0 || dot2 < 0 || token.includes('.', dot2 + 1)) throw new Error('malformed');
    const signature = Buffer.from(token.slice(dot2 + 1), 'base64url');
    const mac = createHmac(hash, secret).update(token.slice(0, dot2)).digest();
    if (signature.length !== mac.length || !timingSafeEqual(signature, mac)) throw new Error('bad signature');
    return JSON.parse(Buffer.from(token.slice(dot1 + 1, dot2), 'base64url').toString('utf8')) as unknown;
  };
}

function fastJwt(alg: HsAlg, cache: boolean): Verify {
  const verify = createVerifier({
    key: secret,
    algorithms: [alg],
    allowedIss: ISSUER,
    checkTyp: TYP,
    requiredClaims: REQUIRED_CLAIMS,
    cache,
  });
  return (token: string): unknown => verify(token) as unknown;
}

type JoseKey = Uint8Array | webcrypto.CryptoKey | KeyObject;

function jose(alg: HsAlg, key: JoseKey): Verify {
  const options = { algorithms: [alg], issuer: ISSUER, typ: TYP, requiredClaims: REQUIRED_CLAIMS };
  return (token: string): Promise<unknown> => jwtVerify(token, key, options);
}

async function accepts(fn: Verify, token: string): Promise<{ ok: boolean; error?: string }> {
  try {
    const result = await fn(token);
    return { ok: result !== undefined && result !== null };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
}

/** Assert that a verifier accepts the valid token and rejects the forged ones. Returns false if the
 * verifier does not accept the valid token at all and `optional` is set (variant is then skipped). */
async function selfTest(alg: HsAlg, v: Variant, optional: boolean): Promise<boolean> {
  const valid = await accepts(v.fn, tokens[alg]);
  if (!valid.ok) {
    if (optional) {
      console.log(`  note: ${alg} ${v.name} does not accept the valid token (${valid.error ?? 'no result'}); skipped`);
      return false;
    }
    fail(`${alg} ${v.name} rejected the VALID token: ${valid.error ?? 'no result'}`);
  }
  const forged: [string, string][] = [
    ['tampered signature', tamper(tokens[alg])],
    ['alg none', algNoneToken],
    ...ALGS.filter((a) => a !== alg).map((a): [string, string] => [`${a} token, ${alg} pinned`, tokens[a]]),
  ];
  for (const [what, token] of forged) {
    if ((await accepts(v.fn, token)).ok) fail(`${alg} ${v.name} ACCEPTED a forged token (${what})`);
  }
  return true;
}

// ---------------------------------------------------------------- measurement
let sink = 0; // consumed at the end so no call can be optimised away

async function timeIt(v: Variant, token: string, iters: number): Promise<bigint> {
  const { fn } = v;
  const start = process.hrtime.bigint();
  if (v.kind === 'sync') {
    for (let i = 0; i < iters; i++) if (fn(token) === undefined) sink++;
  } else if (v.kind === 'async') {
    for (let i = 0; i < iters; i++) if ((await fn(token)) === undefined) sink++;
  } else {
    const batch = new Array<unknown>(BATCH);
    for (let done = 0; done < iters; done += BATCH) {
      for (let j = 0; j < BATCH; j++) batch[j] = fn(token);
      const results = await Promise.all(batch);
      if (results[0] === undefined) sink++;
    }
  }
  return process.hrtime.bigint() - start;
}

const roundUp = (n: number, k: number): number => Math.ceil(n / k) * k;

async function benchAlg(alg: HsAlg, variants: Variant[]): Promise<Row[]> {
  const token = tokens[alg];
  const iters = new Map<Variant, number>();
  const samples = new Map<Variant, number[]>();
  for (const v of variants) {
    // Warm up for WARMUP_ITERS iterations, or WARMUP_MAX_NS if that comes first (slow async variants).
    let done = 0;
    let spent = 0;
    while (done < WARMUP_ITERS && spent < WARMUP_MAX_NS) {
      spent += Number(await timeIt(v, token, WARMUP_CHUNK));
      done += WARMUP_CHUNK;
    }
    iters.set(v, roundUp(Math.max(MIN_ROUND_ITERS, Math.round((ROUND_TARGET_NS * done) / spent)), BATCH));
    samples.set(v, []);
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of variants) {
      const n = iters.get(v) ?? 0;
      const ns = Number(await timeIt(v, token, n));
      samples.get(v)?.push(ns / n / 1_000);
    }
  }
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? (s[(s.length - 1) / 2] ?? NaN) : ((s[s.length / 2 - 1] ?? NaN) + (s[s.length / 2] ?? NaN)) / 2;
  };
  const rows = variants.map((v): Row => {
    const xs = samples.get(v) ?? [];
    const med = median(xs);
    return {
      alg,
      variant: v.name,
      kind: v.kind,
      medianUs: med,
      minUs: Math.min(...xs),
      maxUs: Math.max(...xs),
      opsPerSec: 1e6 / med,
      vsBaseline: NaN,
      itersPerRound: iters.get(v) ?? 0,
    };
  });
  const base = rows.find((r) => r.variant === 'baseline')?.medianUs ?? NaN;
  for (const r of rows) r.vsBaseline = r.medianUs / base;
  return rows;
}

// ---------------------------------------------------------------- main
const t0 = process.hrtime.bigint();
const versions = { node: process.version, fastJwt: pkgVersion('fast-jwt'), jose: pkgVersion('jose') };
const cpu = os.cpus()[0]?.model ?? 'unknown';
console.log(`JWT verify benchmark${SHORT ? ' (--short)' : ''}`);
console.log(`node ${versions.node} | fast-jwt ${versions.fastJwt} | jose ${versions.jose} | ${cpu} x${os.cpus().length}`);
console.log(`token bytes: ${ALGS.map((a) => `${a}=${Buffer.byteLength(tokens[a])}`).join(' ')}`);
console.log(
  `warm-up ${WARMUP_ITERS} iters/variant (at most ${WARMUP_MAX_NS / 1e9} s), ${ROUNDS} interleaved rounds of ~${ROUND_TARGET_NS / 1e6} ms\n`,
);

const joseKeyObjectSupport: Record<string, boolean> = {};
const allRows: Row[] = [];
for (const alg of ALGS) {
  const cryptoKey = await webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: `SHA-${alg.slice(2)}` }, false, ['verify']);
  const candidates: [Variant, boolean][] = [
    [{ name: 'baseline', kind: 'sync', fn: baseline(alg) }, false],
    [{ name: 'fast-jwt', kind: 'sync', fn: fastJwt(alg, false) }, false],
    [{ name: 'fast-jwt+cache', kind: 'sync', fn: fastJwt(alg, true) }, false],
    [{ name: 'jose/Uint8Array', kind: 'async', fn: jose(alg, secretU8) }, false],
    [{ name: 'jose/KeyObject', kind: 'async', fn: jose(alg, secretKeyObject) }, true],
    [{ name: 'jose/CryptoKey', kind: 'async', fn: jose(alg, cryptoKey) }, true],
    [{ name: `jose/Uint8Array x${BATCH}`, kind: 'batch', fn: jose(alg, secretU8) }, false],
    [{ name: `jose/CryptoKey x${BATCH}`, kind: 'batch', fn: jose(alg, cryptoKey) }, true],
  ];
  const variants: Variant[] = [];
  for (const [v, optional] of candidates) {
    const ok = await selfTest(alg, v, optional);
    if (v.name === 'jose/KeyObject') joseKeyObjectSupport[alg] = ok;
    if (ok) variants.push(v);
  }
  console.log(`${alg}: self-test passed for ${variants.length} verifiers (valid accepted; tampered, alg none, other-HS-alg rejected)`);
  allRows.push(...(await benchAlg(alg, variants)));
}

const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const fmt = (n: number, d: number): string => n.toFixed(d);
const header = ['alg', 'variant', 'µs/verify (median)', 'min–max µs', 'ops/s', 'x baseline'];
const body = allRows.map((r) => [
  r.alg,
  r.variant,
  fmt(r.medianUs, 2),
  `${fmt(r.minUs, 2)}–${fmt(r.maxUs, 2)}`,
  Math.round(r.opsPerSec).toLocaleString('en-US'),
  fmt(r.vsBaseline, 2),
]);
const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
console.log('');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
let prevAlg = '';
for (const [i, row] of body.entries()) {
  if (prevAlg && allRows[i]?.alg !== prevAlg) console.log('');
  prevAlg = allRows[i]?.alg ?? '';
  console.log(line(row));
}

const fastestJoseKey: Record<string, string> = {};
for (const alg of ALGS) {
  const seq = allRows.filter((r) => r.alg === alg && r.kind === 'async').sort((a, b) => a.medianUs - b.medianUs);
  fastestJoseKey[alg] = seq[0]?.variant ?? 'n/a';
}
console.log('');
console.log(`jose accepts a KeyObject: ${ALGS.map((a) => `${a}=${String(joseKeyObjectSupport[a])}`).join(' ')}`);
console.log(`fastest sequential jose key type: ${ALGS.map((a) => `${a}=${fastestJoseKey[a]}`).join(' ')}`);
console.log(`total run time: ${seconds.toFixed(1)} s (sink ${sink})`);

const summary = {
  short: SHORT,
  node: versions.node,
  cpu,
  cpus: os.cpus().length,
  fastJwt: versions.fastJwt,
  jose: versions.jose,
  tokenBytes: Object.fromEntries(ALGS.map((a) => [a, Buffer.byteLength(tokens[a])])),
  warmupIters: WARMUP_ITERS,
  rounds: ROUNDS,
  joseAcceptsKeyObject: joseKeyObjectSupport,
  fastestJoseKey,
  seconds: Number(seconds.toFixed(2)),
  results: allRows.map((r) => ({
    alg: r.alg,
    variant: r.variant,
    kind: r.kind,
    medianUs: Number(r.medianUs.toFixed(3)),
    minUs: Number(r.minUs.toFixed(3)),
    maxUs: Number(r.maxUs.toFixed(3)),
    opsPerSec: Math.round(r.opsPerSec),
    vsBaseline: Number(r.vsBaseline.toFixed(3)),
    itersPerRound: r.itersPerRound,
  })),
};
console.log(`RESULT ${JSON.stringify(summary)}`);
