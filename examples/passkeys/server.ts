/**
 * The passkeys example: a page (index.html, app.js) that signs in with a password and a passkey as
 * second step, adds a passkey, and signs in with a passkey alone, served on one origin with a
 * running Portcullis server behind it, as an app's reverse proxy would. WebAuthn binds a passkey
 * to the page's origin, so Portcullis's PUBLIC_URL is this server's URL.
 *
 *   PUBLIC_URL=http://localhost:3000 PASSKEY_LOGIN=on npm start     # Portcullis, on :8000
 *   node --import tsx examples/passkeys/server.ts                   # then open http://localhost:3000
 *
 * Environment:
 *   PORTCULLIS_URL  the Portcullis server (default http://127.0.0.1:8000)
 *   PORT            where to listen on localhost (default 3000; 0 picks a free port)
 *
 * Browsers allow WebAuthn on https:// origins and on http://localhost only. Prints one JSON line
 * `{"url": "http://localhost:PORT"}` on stdout once it listens.
 */
import { readFileSync } from 'node:fs';
import { createServer, request as forward, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const browserBundle = createRequire(import.meta.url)
  .resolve('@simplewebauthn/browser')
  .replace(/script[\\/]index\.js$|esm[\\/]index\.js$/, 'dist/bundle/index.umd.min.js');

/** The page's own files; everything else goes to Portcullis. */
const ASSETS: Readonly<Record<string, { readonly file: string; readonly type: string }>> = {
  '/': { file: here('index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { file: here('app.js'), type: 'text/javascript; charset=utf-8' },
  '/simplewebauthn-browser.js': { file: browserBundle, type: 'text/javascript; charset=utf-8' },
};

/** Only this page's own scripts, and requests to its own origin. */
const CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; form-action 'none'; frame-ancestors 'none'";

/** Request headers not passed on (hop-by-hop, RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function proxy(portcullis: URL, request: IncomingMessage, response: ServerResponse): void {
  const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
  const upstream = forward(
    {
      host: portcullis.hostname,
      port: portcullis.port,
      method: request.method,
      path: request.url,
      headers: { ...headers, host: portcullis.host },
    },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    },
  );
  upstream.on('error', (error) => {
    if (!response.headersSent) response.writeHead(502, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ detail: `Portcullis is not reachable: ${error.message}` }));
  });
  request.pipe(upstream);
}

export interface PasskeyExample {
  /** http://localhost:PORT: the origin to set as Portcullis's PUBLIC_URL. */
  readonly url: string;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (the page is opened as http://localhost:PORT); `portcullisUrl` may be given later (setPortcullis) when the page's URL must be known first. */
export async function startPasskeyExample(
  options: { readonly port?: number; readonly portcullisUrl?: string } = {},
): Promise<PasskeyExample & { setPortcullis(url: string): void }> {
  let portcullis = options.portcullisUrl === undefined ? undefined : new URL(options.portcullisUrl);
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const asset = request.method === 'GET' ? ASSETS[path] : undefined;
    if (asset) {
      response.writeHead(200, { 'content-type': asset.type, 'content-security-policy': CSP, 'cache-control': 'no-store' });
      response.end(readFileSync(asset.file));
    } else if (portcullis) {
      proxy(portcullis, request, response);
    } else {
      response.writeHead(503).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 3000, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}`,
    setPortcullis: (url) => {
      portcullis = new URL(url);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const example = await startPasskeyExample({
    port: Number(process.env.PORT ?? 3000),
    portcullisUrl: process.env.PORTCULLIS_URL ?? 'http://127.0.0.1:8000',
  });
  console.log(JSON.stringify({ url: example.url }));
}
