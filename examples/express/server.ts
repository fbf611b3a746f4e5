/**
 * An Express app with Portcullis as a library: its own routes for sign-up and
 * login, and routes protected by Portcullis access tokens, with the answers
 * (401, 403, WWW-Authenticate) the Portcullis server gives. In your own app
 * the import is `from 'portcullis'`.
 *
 *   SECRET_KEY=$(openssl rand -hex 32) node --import tsx examples/express/server.ts
 *
 * Environment:
 *   SECRET_KEY     signs the tokens (required, at least 32 bytes)
 *   DATABASE_URL   sqlite:PATH or postgres://... (default sqlite:./data/express-example.db)
 *   HOST, PORT     where to listen (127.0.0.1, 3002)
 *
 * Prints one JSON line `{"url": "http://HOST:PORT"}` on stdout once it listens.
 */
import express, { type ErrorRequestHandler, type RequestHandler, type Response } from 'express';
import { authorizationHeader, errorResponse, openPortcullis, type AuthenticatedUser, type ErrorResponseOptions } from '../../src/index.js';

const secretKey = process.env.SECRET_KEY;
if (!secretKey) {
  console.error('express example: set SECRET_KEY (generate one with: openssl rand -hex 32)');
  process.exit(1);
}
const auth = await openPortcullis({
  secretKey,
  database: { url: process.env.DATABASE_URL ?? 'sqlite:./data/express-example.db' },
});

/** Answers an error as Portcullis would: status, WWW-Authenticate and friends, `{"detail": ...}`. */
function sendError(res: Response, error: unknown, options?: ErrorResponseOptions): void {
  const answer = errorResponse(error, options);
  if (answer.status >= 500) console.error(error);
  res.status(answer.status).set(answer.headers).json(answer.body);
}

/** Middleware: a valid user token holding every one of `scopes`; the user goes to res.locals.user. */
function requireAuth(...scopes: string[]): RequestHandler {
  return async (req, res, next) => {
    try {
      // Not req.headers.authorization: Node keeps the first of two Authorization headers there; this refuses two (400).
      res.locals.user = await auth.verifyRequest(authorizationHeader(req.rawHeaders), { scopes });
    } catch (error) {
      sendError(res, error);
      return;
    }
    next();
  };
}

const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '16kb' }), express.urlencoded({ extended: false, limit: '16kb' }));

app.get('/public', (_req, res) => {
  res.json({ message: 'Anyone may read this.' });
});

app.post('/signup', async (req, res) => {
  // Only these: a sign-up must not choose its own scopes. createUser checks the values.
  const { username, password, email } = req.body ?? {};
  res.status(201).json(await auth.createUser({ username, password, email }));
});

// Form or JSON, as POST /token: {"username", "password"} → {"access_token", "refresh_token", ...}.
app.post('/login', async (req, res) => {
  try {
    res.set('cache-control', 'no-store').json(await auth.issueTokens(req.body?.username, req.body?.password, { ip: req.ip }));
  } catch (error) {
    sendError(res, error, { oauth: true });
  }
});

app.get('/me', requireAuth(), (_req, res) => {
  const user = res.locals.user as AuthenticatedUser;
  res.json({ username: user.username, email: user.email, scopes: user.scopes });
});

app.get('/items', requireAuth('items'), (_req, res) => {
  const user = res.locals.user as AuthenticatedUser;
  res.json({ owner: user.username, items: ['portcullis', 'drawbridge'] });
});

// Express 5 passes rejected promises here (a refused password at /signup, say).
const answerErrors: ErrorRequestHandler = (error, _req, res, _next) => sendError(res, error);
app.use(answerErrors);

const host = process.env.HOST ?? '127.0.0.1';
const server = app.listen(Number(process.env.PORT ?? 3002), host, (error) => {
  if (error) {
    console.error(`express example: ${error.message}`);
    process.exit(1);
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  console.log(JSON.stringify({ url: `http://${host}:${port}` }));
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close(() => {
      auth.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
    server.closeIdleConnections();
  });
}
