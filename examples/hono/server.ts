/**
 * A Hono app (on Node.js, through @hono/node-server) with Portcullis as a
 * library: sign-up and login routes of its own, and routes protected by
 * Portcullis access tokens, answered (401, 403, WWW-Authenticate) as the
 * Portcullis server answers. In your own app the import is `from 'portcullis'`.
 *
 *   SECRET_KEY=$(openssl rand -hex 32) node --import tsx examples/hono/server.ts
 *
 * Environment:
 *   SECRET_KEY     signs the tokens (required, at least 32 bytes)
 *   DATABASE_URL   sqlite:PATH or postgres://... (default sqlite:./data/hono-example.db)
 *   HOST, PORT     where to listen (127.0.0.1, 3003)
 *
 * Prints one JSON line `{"url": "http://HOST:PORT"}` on stdout once it listens.
 */
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono, type Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { errorResponse, openPortcullis, type AuthenticatedUser, type CreateUserInput, type ErrorResponseOptions } from '../../src/index.js';

const secretKey = process.env.SECRET_KEY;
if (!secretKey) {
  console.error('hono example: set SECRET_KEY (generate one with: openssl rand -hex 32)');
  process.exit(1);
}
const auth = await openPortcullis({
  secretKey,
  database: { url: process.env.DATABASE_URL ?? 'sqlite:./data/hono-example.db' },
});

type Env = { Variables: { user: AuthenticatedUser } };

/** Answers an error as Portcullis would: status, WWW-Authenticate and friends, `{"detail": ...}`. */
function sendError(c: Context, error: unknown, options?: ErrorResponseOptions): Response {
  const answer = errorResponse(error, options);
  if (answer.status >= 500) console.error(error);
  return c.json(answer.body, answer.status as ContentfulStatusCode, answer.headers);
}

/** Middleware: a valid user token holding every one of `scopes`; the user goes to c.var.user. */
const requireAuth = (...scopes: string[]) =>
  createMiddleware<Env>(async (c, next) => {
    c.set('user', await auth.verifyRequest(c.req.header('authorization'), { scopes }));
    await next();
  });

/** A form or JSON body, as POST /token takes; anything else is an empty one (the fields are then missing). */
async function fields(c: Context): Promise<Record<string, unknown>> {
  const type = c.req.header('content-type') ?? '';
  if (type.startsWith('application/json')) return ((await c.req.json().catch(() => null)) as Record<string, unknown> | null) ?? {};
  if (type.startsWith('application/x-www-form-urlencoded')) return c.req.parseBody();
  return {};
}

const app = new Hono<Env>();
app.onError((error, c) => sendError(c, error));

app.get('/public', (c) => c.json({ message: 'Anyone may read this.' }));

app.post('/signup', async (c) => {
  // Only these: a sign-up must not choose its own scopes. createUser checks the values.
  const { username, password, email } = await fields(c);
  return c.json(await auth.createUser({ username, password, email } as CreateUserInput), 201);
});

app.post('/login', async (c) => {
  const { username, password } = await fields(c);
  try {
    const tokens = await auth.issueTokens(username as string, password as string, { ip: getConnInfo(c).remote.address ?? null });
    return c.json(tokens, 200, { 'cache-control': 'no-store' });
  } catch (error) {
    return sendError(c, error, { oauth: true });
  }
});

app.get('/me', requireAuth(), (c) => {
  const user = c.var.user;
  return c.json({ username: user.username, email: user.email, scopes: user.scopes });
});

app.get('/items', requireAuth('items'), (c) => c.json({ owner: c.var.user.username, items: ['portcullis', 'drawbridge'] }));

const host = process.env.HOST ?? '127.0.0.1';
const server = serve({ fetch: app.fetch, hostname: host, port: Number(process.env.PORT ?? 3003) }, (info) => {
  console.log(JSON.stringify({ url: `http://${host}:${info.port}` }));
});
server.once('error', (error) => {
  console.error(`hono example: ${error.message}`);
  process.exit(1);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close(() => {
      auth.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  });
}
