/**
 * Helpers for the token-lifecycle end-to-end tests: logins that keep the
 * refresh token, refresh and client requests, and reads of the SQLite file
 * behind the server.
 */
import assert from 'node:assert/strict';
import { bearer, type TestServer } from './server.js';

export interface Tokens {
  readonly access_token: string;
  readonly refresh_token: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly scope: string;
}

export interface ErrorReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly www: string | null;
}

export interface AccessClaims {
  readonly sub: string;
  readonly scope: string;
  readonly sid?: string;
  readonly ver?: number;
  readonly client_id?: string;
  readonly exp: number;
  readonly iat: number;
}

export { sleep } from './wait.js';

/** A form POST with extra headers (User-Agent, Authorization: Basic). */
export function formPostWith(
  server: TestServer,
  path: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return server.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

/** A password login that must succeed; returns both tokens. */
export async function passwordLogin(
  server: TestServer,
  username: string,
  password: string,
  options: { scope?: string; userAgent?: string; fields?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<Tokens> {
  const headers = { ...(options.userAgent === undefined ? {} : { 'user-agent': options.userAgent }), ...options.headers };
  const fields = { username, password, ...(options.scope === undefined ? {} : { scope: options.scope }), ...options.fields };
  const response = await formPostWith(server, '/token', fields, headers);
  assert.equal(response.status, 200, `login of ${username}: ${response.status}`);
  const body = (await response.json()) as Tokens;
  assert.equal(typeof body.refresh_token, 'string', 'a password login returns a refresh token');
  return body;
}

/** POST /token with grant_type=refresh_token. */
export function refresh(
  server: TestServer,
  refreshToken: string | undefined,
  fields: Record<string, string> = {},
  headers: Record<string, string> = {},
): Promise<Response> {
  return formPostWith(
    server,
    '/token',
    { grant_type: 'refresh_token', ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }), ...fields },
    headers,
  );
}

/** A refresh that must succeed. */
export async function refreshOk(server: TestServer, refreshToken: string, fields: Record<string, string> = {}): Promise<Tokens> {
  const response = await refresh(server, refreshToken, fields);
  assert.equal(response.status, 200, `refresh: ${response.status}`);
  return (await response.json()) as Tokens;
}

export async function errorOf(response: Response): Promise<ErrorReply> {
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    www: response.headers.get('www-authenticate'),
  };
}

/** Asserts a refresh is refused as RFC 6749 §5.2 invalid_grant. */
export async function assertRefreshRefused(server: TestServer, refreshToken: string, label: string): Promise<ErrorReply> {
  const reply = await errorOf(await refresh(server, refreshToken));
  assert.equal(reply.status, 401, label);
  assert.equal(reply.body.error, 'invalid_grant', label);
  assert.equal(reply.www, 'Bearer', label);
  return reply;
}

/** The status GET /users/me answers for this access token. */
export async function meStatus(server: TestServer, accessToken: string): Promise<number> {
  const response = await server.fetch('/users/me', { headers: bearer(accessToken) });
  await response.arrayBuffer();
  return response.status;
}

/** Asserts the access token is refused at once as RFC 6750 invalid_token. */
export async function assertAccessRefused(server: TestServer, accessToken: string, label: string): Promise<void> {
  const response = await server.fetch('/users/me', { headers: bearer(accessToken) });
  assert.equal(response.status, 401, label);
  assert.equal(response.headers.get('www-authenticate'), 'Bearer error="invalid_token"', label);
  assert.deepEqual(await response.json(), { detail: 'Could not validate credentials' }, label);
}

export function claimsOf(accessToken: string): AccessClaims {
  return JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')) as AccessClaims;
}

export function sessionIdOf(accessToken: string): string {
  const sid = claimsOf(accessToken).sid;
  assert.ok(sid, 'a user token carries sid');
  return sid;
}

/** RFC 6749 §2.3.1: id and secret form-urlencoded, joined by a colon, then base64. */
export function basicAuth(clientId: string, clientSecret: string): { authorization: string } {
  const encode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
  return { authorization: `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`, 'utf8').toString('base64')}` };
}

/** The refresh_tokens rows of a session, read straight from the SQLite file. */
export function refreshTokenRows(server: TestServer, sessionId: string) {
  return server.storage.dialect.db.selectFrom('refresh_tokens').selectAll().where('session_id', '=', sessionId).execute();
}

export async function sessionRow(server: TestServer, sessionId: string) {
  const row = await server.storage.dialect.db.selectFrom('sessions').selectAll().where('id', '=', sessionId).executeTakeFirst();
  assert.ok(row, `session ${sessionId} is stored`);
  return row;
}
