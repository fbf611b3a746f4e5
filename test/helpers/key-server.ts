/**
 * A stand-in for the Portcullis server's discovery side in verifier tests: a
 * node:http server on 127.0.0.1 (port 0) serving RFC 8414 metadata and a JWKS
 * whose keys the test changes at will, counting the requests to each; plus
 * signing keys made in the test and a token minter (jose's SignJWT).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export type SigningAlgorithm = 'EdDSA' | 'ES256' | 'RS256' | 'PS256';

export interface SigningKey {
  readonly alg: SigningAlgorithm;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  /** The public JWK as Portcullis publishes it: kid, alg, use. */
  readonly jwk: JWK;
}

export async function makeSigningKey(alg: SigningAlgorithm, kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, jwk };
}

export interface MintOptions {
  readonly issuer: string;
  readonly claims?: JWTPayload;
  /** Header fields over { alg, typ: 'at+jwt', kid }; `kid: undefined` leaves it out. */
  readonly header?: Record<string, unknown>;
  /** Seconds from now; default 300. */
  readonly expiresInSeconds?: number;
}

/** A Portcullis-shaped access token. */
export async function mintToken(
  key: SigningKey | { alg: 'HS256' | 'HS384' | 'HS512'; secret: Uint8Array; kid?: string },
  options: MintOptions,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: JWTPayload = {
    sub: 'alice',
    scope: 'me items',
    sid: 'session-1',
    client_id: 'web',
    jti: randomUUID(),
    iss: options.issuer,
    iat: now,
    nbf: now,
    exp: now + (options.expiresInSeconds ?? 300),
    ...options.claims,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  const header: Record<string, unknown> = {
    alg: key.alg,
    typ: 'at+jwt',
    ...(key.kid === undefined ? {} : { kid: key.kid }),
    ...options.header,
  };
  for (const [name, value] of Object.entries(header)) if (value === undefined) delete header[name];
  const signingKey = 'secret' in key ? key.secret : key.privateKey;
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(signingKey);
}

export interface KeyServer {
  readonly url: string;
  readonly jwksUrl: string;
  /** The keys the JWKS serves; change freely. */
  keys: JWK[];
  /** Overrides the metadata's issuer (for the mismatch test). */
  metadataIssuer: string | undefined;
  /** 'ok', an HTTP 500 on every request, or no answer at all. */
  mode: 'ok' | 'error' | 'hang';
  readonly counts: { jwks: number; metadata: number };
  close(): Promise<void>;
}

export async function startKeyServer(keys: JWK[] = []): Promise<KeyServer> {
  const counts = { jwks: 0, metadata: 0 };
  const state: KeyServer = {
    url: '',
    jwksUrl: '',
    keys,
    metadataIssuer: undefined,
    mode: 'ok',
    counts,
    close: () => Promise.resolve(),
  };
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path === '/.well-known/jwks.json') counts.jwks += 1;
    else if (path === '/.well-known/oauth-authorization-server') counts.metadata += 1;
    if (state.mode === 'hang') return; // never answers; the client's timeout must end it
    if (state.mode === 'error') {
      response.writeHead(500, { 'content-type': 'application/json' }).end('{"detail":"Internal Server Error"}');
      return;
    }
    const json = (body: unknown, headers: Record<string, string> = {}) =>
      response.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    if (path === '/.well-known/jwks.json') {
      json({ keys: state.keys }, { 'cache-control': 'public, max-age=300' });
    } else if (path === '/.well-known/oauth-authorization-server') {
      json({
        issuer: state.metadataIssuer ?? state.url,
        jwks_uri: state.jwksUrl,
        token_endpoint: `${state.url}/token`,
        grant_types_supported: ['password', 'refresh_token', 'client_credentials'],
      });
    } else {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Not Found"}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return state;
}

/** A URL on 127.0.0.1 where nothing listens (a port just freed). */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

export { sleep } from './wait.js';
