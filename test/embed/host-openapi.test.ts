/** A host app that documents itself with @fastify/swagger keeps working once Portcullis is embedded. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import swagger from '@fastify/swagger';
import Fastify from 'fastify';
import { portcullis } from '../../src/index.js';
import { makeTempDir, TEST_SECRET_KEY } from '../helpers/server.js';

describe('the portcullis plugin in a host with its own OpenAPI document', () => {
  const dir = makeTempDir();
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("builds the host's document, which lists the host's routes and not Portcullis's", async () => {
    const app = Fastify();
    await app.register(swagger, { openapi: { openapi: '3.1.0', info: { title: 'host', version: '1' } } });
    await app.register(portcullis, { prefix: '/auth', secretKey: TEST_SECRET_KEY, database: { url: `sqlite:${join(dir, 'auth.db')}` } });
    app.get('/me', { preHandler: app.portcullis.requireAuth() }, async (request) => ({ user: request.user?.username }));
    try {
      await app.ready();
      const document = app.swagger() as { paths?: Record<string, unknown> };
      assert.deepEqual(Object.keys(document.paths ?? {}), ['/me']);
      const response = await app.inject({ method: 'GET', url: '/me' });
      assert.equal(response.statusCode, 401);
    } finally {
      await app.close();
    }
  });
});
