/**
 * A tiny resource server that trusts Portcullis access tokens, through the
 * verifier library's Fastify plugin. In your own service the import is
 * `from 'portcullis/verifier'`.
 *
 *   PORTCULLIS_ISSUER=http://127.0.0.1:8000 node --import tsx examples/resource-server/server.ts
 *
 * Environment:
 *   PORTCULLIS_ISSUER    the server's ISSUER (required): the `iss` tokens must carry, and,
 *                        alone, where the keys are discovered (RFC 8414 metadata → jwks_uri)
 *   PORTCULLIS_JWKS_URL  fetch the keys from here instead of discovering them
 *   PORTCULLIS_SECRET    or: the server's SECRET_KEY, for HS256/384/512 tokens
 *   PORTCULLIS_AUDIENCE  the server's AUDIENCE, when it sets one
 *   HOST, PORT           where to listen (127.0.0.1, 3001)
 *   LOG_LEVEL            Fastify's request log level (default warn)
 *
 * Prints one JSON line `{"url": "http://HOST:PORT"}` on stdout once it listens.
 */
import Fastify from 'fastify';
import { portcullisVerifier, type VerifierOptions } from '../../src/verifier/index.js';

function fail(message: string): never {
  console.error(`resource-server: ${message}`);
  process.exit(1);
}

function verifierOptions(env: NodeJS.ProcessEnv): VerifierOptions {
  const issuer = env.PORTCULLIS_ISSUER;
  if (!issuer) fail('set PORTCULLIS_ISSUER to the Portcullis server ISSUER (e.g. http://127.0.0.1:8000)');
  const audience = env.PORTCULLIS_AUDIENCE || undefined;
  if (env.PORTCULLIS_SECRET && env.PORTCULLIS_JWKS_URL) fail('set PORTCULLIS_SECRET or PORTCULLIS_JWKS_URL, not both');
  if (env.PORTCULLIS_SECRET) return { issuer, audience, secret: env.PORTCULLIS_SECRET };
  if (env.PORTCULLIS_JWKS_URL) return { issuer, audience, jwksUri: env.PORTCULLIS_JWKS_URL };
  return { issuer, audience };
}

const port = Number(process.env.PORT ?? 3001);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail('PORT must be a port number');
const host = process.env.HOST ?? '127.0.0.1';

const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'warn' } });
try {
  await app.register(portcullisVerifier, verifierOptions(process.env));
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}

app.get('/public', async () => ({ message: 'Anyone may read this.' }));

app.get('/me', { preHandler: app.requireAuth() }, async (request) => {
  const { raw: _raw, ...claims } = request.verifiedToken!;
  return claims;
});

app.get('/items', { preHandler: app.requireAuth(['items']) }, async (request) => ({
  owner: request.verifiedToken!.sub,
  items: [
    { id: 1, name: 'Portcullis' },
    { id: 2, name: 'Drawbridge' },
  ],
}));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

const address = await app.listen({ host, port });
console.log(JSON.stringify({ url: address }));
