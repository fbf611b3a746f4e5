/**
 * bench/algorithms.ts — access tokens signed and verified per second on ONE core, per algorithm,
 * with the exact fast-jwt configuration Portcullis uses (src/core/keys/key-ring.ts: the pinned
 * algorithm list, typ, iss and required claims checked). For the sizing guide: a resource server
 * or a Portcullis instance spends this much CPU per token, whatever else it does.
 *
 * Before timing, each verifier must accept its token and refuse a tampered one.
 * The last line of output is `RESULT {json}`.
 *
 * Run:   node --import tsx bench/algorithms.ts           (~15 s)
 *        node --import tsx bench/algorithms.ts --short   (~3 s, a smoke check)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import { generateSigningKey, publicPemOf } from '../src/core/keys/key-material.js';
import { pinnedVerifier, signerFor } from '../src/core/keys/key-ring.js';
import type { AccessTokenAlgorithm } from '../src/core/tokens/algorithms.js';

const SHORT = process.argv.includes('--short');
const SECONDS = SHORT ? 0.2 : 1.5;
const ALGORITHMS: readonly AccessTokenAlgorithm[] = ['HS256', 'EdDSA', 'ES256', 'RS256', 'PS256'];
const ISSUER = 'https://auth.example.com';
const POLICY = { issuer: ISSUER, audience: undefined, requiredClaims: ['sub', 'exp', 'iat', 'nbf', 'jti', 'iss', 'scope'] };

function keysFor(algorithm: AccessTokenAlgorithm): { signKey: string | Buffer; verifyKey: string | Buffer } {
  if (algorithm.startsWith('HS')) {
    const secret = randomBytes(32);
    return { signKey: secret, verifyKey: secret };
  }
  const generated = generateSigningKey(algorithm as Exclude<AccessTokenAlgorithm, `HS${string}`>);
  return { signKey: generated.privatePem, verifyKey: publicPemOf(generated.publicJwk) };
}

/** Calls `work` for about SECONDS (after a short warm-up); operations per second. */
function rate(work: () => void): number {
  const warmUntil = performance.now() + SECONDS * 200;
  while (performance.now() < warmUntil) work();
  let count = 0;
  const started = performance.now();
  const until = started + SECONDS * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 16; i++) work();
    count += 16;
  }
  return count / ((performance.now() - started) / 1000);
}

const rows = ALGORITHMS.map((algorithm) => {
  const { signKey, verifyKey } = keysFor(algorithm);
  const signer = signerFor(signKey, algorithm, 'bench');
  const verify = pinnedVerifier(verifyKey, algorithm, POLICY);
  const now = Math.floor(Date.now() / 1000);
  const claims = () => ({
    sub: 'bench-user',
    scope: 'me',
    iss: ISSUER,
    iat: now,
    nbf: now,
    exp: now + 1800,
    jti: randomUUID(),
    sid: 'session',
  });
  const token = signer.sign(claims());
  if (verify(token).sub !== 'bench-user') throw new Error(`${algorithm}: the verifier refused its own token`);
  const tampered = `${token.slice(0, -6)}${token.slice(-6) === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA'}`;
  let refused = false;
  try {
    verify(tampered);
  } catch {
    refused = true;
  }
  if (!refused) throw new Error(`${algorithm}: a tampered token was accepted`);
  const signsPerSecond = rate(() => signer.sign(claims()));
  const verifiesPerSecond = rate(() => verify(token));
  return {
    algorithm,
    signsPerSecond: Math.round(signsPerSecond),
    verifiesPerSecond: Math.round(verifiesPerSecond),
    tokenBytes: token.length,
  };
});

console.log(`tokens per second on one core (${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}${SHORT ? ', --short' : ''})`);
console.log('algorithm  signs/s   verifies/s  token bytes');
for (const row of rows) {
  console.log(
    `${row.algorithm.padEnd(9)}  ${String(row.signsPerSecond).padStart(7)}  ${String(row.verifiesPerSecond).padStart(10)}  ${String(row.tokenBytes).padStart(11)}`,
  );
}
console.log(`RESULT ${JSON.stringify({ short: SHORT, node: process.version, rows })}`);
