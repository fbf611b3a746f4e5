/**
 * WebAuthn over HTTP without a browser (issue 15, ADR 0025): what a client gets wrong is refused
 * clearly, and the switches say what they do. Registration options (relying party from PUBLIC_URL,
 * a discoverable credential asked for, the account's id as user handle); a registration answer
 * that does not verify; PASSKEY_LOGIN=off (404, unsupported_grant_type, not in discovery) and on
 * (options with user verification required); passkey and mfa grants with malformed, unknown or
 * misplaced assertions. The real ceremonies, with a real authenticator, are test/browser/passkeys.test.ts's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../../src/core/clock.js';
import { MFA_GRANT, PASSKEY_GRANT } from '../../src/core/portcullis.js';
import type { Tokens } from '../helpers/lifecycle.js';
import { bearer, formPost, jsonPost, signUp, startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'correct-horse-battery-1';
const T0 = Date.parse('2026-12-01T09:00:10Z');
/** A well-formed assertion of a credential nobody registered. */
const STRANGER = JSON.stringify({
  id: 'c3RyYW5nZXI',
  rawId: 'c3RyYW5nZXI',
  type: 'public-key',
  response: { clientDataJSON: 'e30', authenticatorData: 'AAAA', signature: 'AAAA' },
  clientExtensionResults: {},
});

type Json = Record<string, unknown>;

/** The OAuth `error` of an answer. */
async function errorOf(response: Response): Promise<unknown> {
  return ((await response.json()) as Json).error;
}

async function detailOf(response: Response): Promise<string> {
  return String(((await response.json()) as Json).detail);
}

async function newUser(server: TestServer, name: string): Promise<string> {
  assert.equal((await signUp(server, name, PASSWORD)).status, 201);
  const response = await formPost(server, '/token', { username: name, password: PASSWORD });
  assert.equal(response.status, 200);
  return ((await response.json()) as Tokens).access_token;
}

describe('WebAuthn with PASSKEY_LOGIN=off (the default)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ PUBLIC_URL: 'https://id.example.com/' }, { clock: fixedClock(T0) });
  });
  after(() => server.stop());

  it('hands out registration options for the deployment, and refuses an answer that does not verify', async () => {
    const token = await newUser(server, 'keyholder');
    const wrong = await jsonPost(server, '/users/me/factors/webauthn', { current_password: 'not it at all' }, bearer(token));
    assert.equal(wrong.status, 400);
    assert.equal(await detailOf(wrong), 'Current password is incorrect');

    const started = await jsonPost(server, '/users/me/factors/webauthn', { current_password: PASSWORD, name: 'YubiKey' }, bearer(token));
    assert.equal(started.status, 201);
    assert.equal(started.headers.get('cache-control'), 'no-store');
    const { id, kind, options } = (await started.json()) as { id: string; kind: string; options: Json };
    assert.equal(kind, 'webauthn');
    assert.deepEqual(options.rp, { name: 'Portcullis', id: 'id.example.com' });
    const user = options.user as Json;
    assert.equal(user.name, 'keyholder');
    assert.notEqual(Buffer.from(String(user.id), 'base64url').toString(), 'keyholder', 'the user handle is not the name');
    assert.equal(options.attestation, 'none');
    assert.equal((options.authenticatorSelection as Json).residentKey, 'preferred');
    assert.match(String(options.challenge), /^[A-Za-z0-9_-]{32,}$/);

    const forged = {
      response: { id: 'eA', rawId: 'eA', type: 'public-key', response: { clientDataJSON: 'e30', attestationObject: 'oA' } },
    };
    const refused = await jsonPost(server, `/users/me/factors/webauthn/${id}/confirm`, forged, bearer(token));
    assert.equal(refused.status, 400);
    assert.match(await detailOf(refused), /^The registration does not verify/);
    const unknown = await jsonPost(server, '/users/me/factors/webauthn/nope/confirm', forged, bearer(token));
    assert.equal(unknown.status, 404);
    const malformed = await jsonPost(server, `/users/me/factors/webauthn/${id}/confirm`, { response: { id: 'x' } }, bearer(token));
    assert.equal(malformed.status, 400);

    const list = await server.fetch('/users/me/factors', { headers: bearer(token) });
    assert.deepEqual(((await list.json()) as { factors: unknown[] }).factors, [], 'a pending registration is no factor');
    const login = await formPost(server, '/token', { username: 'keyholder', password: PASSWORD });
    assert.equal(login.status, 200, 'no second step without a confirmed factor');
  });

  it('has no passkey login: 404 for its options, unsupported_grant_type for its grant, absent from discovery', async () => {
    const options = await server.fetch('/signin/passkey', { method: 'POST' });
    assert.equal(options.status, 404);
    assert.match(await detailOf(options), /PASSKEY_LOGIN=off/);
    const grant = await formPost(server, '/token', { grant_type: PASSKEY_GRANT, webauthn_response: STRANGER });
    assert.equal(await errorOf(grant), 'unsupported_grant_type');
    const metadata = (await (await server.fetch('/.well-known/oauth-authorization-server')).json()) as Json;
    assert.ok(!(metadata.grant_types_supported as string[]).includes(PASSKEY_GRANT));
  });
});

describe('WebAuthn with PASSKEY_LOGIN=on', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(
      { PUBLIC_URL: 'https://app.example.com', WEBAUTHN_RP_ID: 'example.com', PASSKEY_LOGIN: 'on' },
      { clock: fixedClock(T0) },
    );
  });
  after(() => server.stop());

  it('hands out passkey-login options: the RP id set, no credential named, user verification required', async () => {
    const response = await server.fetch('/signin/passkey', { method: 'POST' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const { options } = (await response.json()) as { options: Json };
    assert.equal(options.rpId, 'example.com');
    assert.equal(options.userVerification, 'required');
    assert.equal(options.allowCredentials, undefined);
    const metadata = (await (await server.fetch('/.well-known/oauth-authorization-server')).json()) as Json;
    assert.ok((metadata.grant_types_supported as string[]).includes(PASSKEY_GRANT));
  });

  it('refuses a passkey grant without an assertion, with one that is not JSON, or of an unknown credential', async () => {
    const missing = await formPost(server, '/token', { grant_type: PASSKEY_GRANT });
    assert.equal(missing.status, 400);
    assert.equal(await errorOf(missing), 'invalid_request');
    const notJson = await formPost(server, '/token', { grant_type: PASSKEY_GRANT, webauthn_response: '{not json' });
    assert.equal(notJson.status, 400);
    assert.equal(await errorOf(notJson), 'invalid_grant');
    const notCredential = await formPost(server, '/token', { grant_type: PASSKEY_GRANT, webauthn_response: '{"id": 1}' });
    assert.equal(await errorOf(notCredential), 'invalid_grant');
    const stranger = await formPost(server, '/token', { grant_type: PASSKEY_GRANT, webauthn_response: STRANGER });
    assert.equal(stranger.status, 400);
    const body = (await stranger.json()) as Json;
    assert.equal(body.error, 'invalid_grant');
    assert.equal(body.error_description, 'Not a registered passkey');
  });

  it('refuses a WebAuthn answer as the second step of a user who had no WebAuthn factor, and two proofs at once', async () => {
    const token = await newUser(server, 'totp-only');
    const started = (await (await jsonPost(server, '/users/me/factors/totp', { current_password: PASSWORD }, bearer(token))).json()) as {
      id: string;
      otpauth_uri: string;
    };
    const { URI } = await import('otpauth');
    const totp = URI.parse(started.otpauth_uri);
    const code = (totp as { generate(options: { timestamp: number }): string }).generate({ timestamp: T0 });
    assert.equal((await jsonPost(server, `/users/me/factors/totp/${started.id}/confirm`, { code }, bearer(token))).status, 200);

    const first = await formPost(server, '/token', { username: 'totp-only', password: PASSWORD });
    assert.equal(first.status, 401);
    const challenge = (await first.json()) as Json;
    assert.deepEqual(challenge.factors, ['totp', 'recovery_code']);
    assert.equal(challenge.webauthn, undefined, 'no WebAuthn options for a user without a WebAuthn factor');

    const both = await formPost(server, '/token', {
      grant_type: MFA_GRANT,
      mfa_token: String(challenge.mfa_token),
      otp: '000000',
      webauthn_response: STRANGER,
    });
    assert.equal(await errorOf(both), 'invalid_request');
    const misplaced = await formPost(server, '/token', {
      grant_type: MFA_GRANT,
      mfa_token: String(challenge.mfa_token),
      webauthn_response: STRANGER,
    });
    assert.equal(misplaced.status, 400);
    const refusal = (await misplaced.json()) as Json;
    assert.equal(refusal.error, 'invalid_grant');
    assert.match(String(refusal.error_description), /no WebAuthn factor.*4 attempts left/);
  });
});
