/**
 * Helpers for the signing-key end-to-end tests: a server whose ISSUER is its
 * own URL (so the metadata's jwks_uri answers), token headers, the JWKS
 * private-member check, and Python's joserfc as an independent verifier.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import type { TestContext } from 'node:test';
import type { Env } from '../../src/server/config.js';
import { startTestServer, type TestServer } from './server.js';

export const ASYMMETRIC_ALGORITHMS = ['EdDSA', 'ES256', 'RS256', 'PS256'] as const;
export type AsymmetricAlg = (typeof ASYMMETRIC_ALGORITHMS)[number];

/** JWK members that hold private key material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
export const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'] as const;

export interface PublishedJwk {
  readonly kty: string;
  readonly kid: string;
  readonly alg: string;
  readonly use: string;
  readonly [member: string]: unknown;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** A test server with ISSUER = its own http://127.0.0.1:PORT, so discovery URLs are live. */
export async function startOnOwnUrl(env: Env = {}): Promise<TestServer> {
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    try {
      return await startTestServer({ ...env, PORT: String(port), ISSUER: `http://127.0.0.1:${port}` });
    } catch (error) {
      // Another process may take the port between the probe and the listen.
      if (attempt >= 3 || (error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
    }
  }
}

export function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export async function fetchJwks(server: TestServer): Promise<{ keys: PublishedJwk[] }> {
  const response = await server.fetch('/.well-known/jwks.json');
  assert.equal(response.status, 200);
  return (await response.json()) as { keys: PublishedJwk[] };
}

/** Fails if any object anywhere in `value` has a private JWK member. */
export function assertNoPrivateMembers(value: unknown, path = '$'): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertNoPrivateMembers(item, `${path}[${i}]`));
  } else if (value !== null && typeof value === 'object') {
    for (const [name, member] of Object.entries(value)) {
      assert.ok(!(PRIVATE_MEMBERS as readonly string[]).includes(name), `private member ${name} at ${path}`);
      assertNoPrivateMembers(member, `${path}.${name}`);
    }
  }
}

/** Whether python3 with joserfc is here; skips the test when not (fails under CI=true). */
let joserfcProbe: boolean | undefined;
export function joserfcAvailable(t: TestContext): boolean {
  joserfcProbe ??= spawnSync('python3', ['-c', 'import joserfc'], { encoding: 'utf8' }).status === 0;
  if (joserfcProbe) return true;
  if (process.env.CI === 'true') assert.fail('python3 with joserfc is required under CI=true');
  t.skip('python3 with joserfc is not installed here');
  return false;
}

const JOSERFC_SCRIPT = `
import json, sys, warnings
warnings.simplefilter("ignore")  # EdDSA's RFC 9864 deprecation notice
from joserfc import jwt
from joserfc.jwk import KeySet
def decode(case):
    try:
        keys = KeySet.import_key_set(case["jwks"])
        token = jwt.decode(case["token"], keys, algorithms=[case["alg"]])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": case["issuer"]},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            jti={"essential": True},
        ).validate(token.claims)
        return {"ok": True, "header": token.header, "claims": token.claims}
    except Exception as error:
        return {"ok": False, "error": type(error).__name__, "message": str(error)}
print(json.dumps([decode(case) for case in json.load(sys.stdin)]))
`;

export type JoserfcResult =
  | { readonly ok: true; readonly header: Record<string, unknown>; readonly claims: Record<string, unknown> }
  | { readonly ok: false; readonly error: string; readonly message: string };

export interface JoserfcCase {
  readonly jwks: unknown;
  readonly token: string;
  readonly alg: string;
  readonly issuer: string;
}

/**
 * Python's joserfc, one process for all the cases: for each,
 * jwt.decode(token, KeySet.import_key_set(jwks), algorithms=[alg]) plus iss/sub/exp/iat/jti checks.
 */
export function joserfcDecode(cases: readonly JoserfcCase[]): Promise<JoserfcResult[]> {
  return new Promise((resolve, reject) => {
    const child = execFile('python3', ['-c', JOSERFC_SCRIPT], { encoding: 'utf8', timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`python3 failed: ${error.message}\n${stderr}`));
        return;
      }
      resolve(JSON.parse(stdout) as JoserfcResult[]);
    });
    child.stdin!.end(JSON.stringify(cases));
  });
}
