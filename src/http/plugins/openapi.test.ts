import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../../core/config.js';
import { Argon2PasswordHasher } from '../../core/passwords/password-hasher.js';
import { WorkLimiter } from '../../core/passwords/work-limiter.js';
import { createPortcullis, type Portcullis } from '../../core/portcullis.js';
import { openStorage, storageStores, type SqlStorage } from '../../storage/sql/open-storage.js';
import { AJV_OPTIONS, registerPortcullisPlugins, registerPortcullisRoutes } from '../app.js';
import { lazySwagger, lazySwaggerUi, swaggerOptions, swaggerUiOptions } from './openapi.js';

describe('lazySwagger and lazySwaggerUi', () => {
  let dataDir: string;
  let storage: SqlStorage;
  let config: Config;
  let portcullis: Portcullis;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'portcullis-openapi-'));
    config = loadConfig({ SECRET_KEY: 'openapi-test-secret-key-0123456789abcdef', DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    storage = openStorage(config.database);
    await storage.migrate();
    portcullis = createPortcullis({ config, stores: storageStores(storage), hasher: new Argon2PasswordHasher(config.argon2, new WorkLimiter(1, 0)) });
  });

  after(async () => {
    await storage.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Portcullis's routes, plus an encapsulated context with a shared schema of its own, documented by `plugin`. */
  async function documented(plugin: typeof lazySwagger | typeof swagger): Promise<FastifyInstance> {
    const app = Fastify({ ajv: { customOptions: AJV_OPTIONS } });
    await registerPortcullisPlugins(app, portcullis);
    await app.register(plugin as typeof lazySwagger, swaggerOptions(config));
    registerPortcullisRoutes(app, portcullis);
    await app.register(async (child) => {
      child.addSchema({ $id: 'Widget', type: 'object', properties: { id: { type: 'string' } } });
      child.get('/widgets/:id', { schema: { tags: ['Widgets'], response: { 200: { $ref: 'Widget#' } } } }, async () => ({ id: 'w' }));
      child.get('/hidden', { schema: { hide: true } }, async () => 'hidden');
    });
    return app;
  }

  it('produces the document @fastify/swagger produces when registered at start, as JSON and YAML', async () => {
    const eager = await documented(swagger);
    const lazy = await documented(lazySwagger);
    assert.throws(() => lazy.swagger(), /must be called after \.ready\(\)/);
    await Promise.all([eager.ready(), lazy.ready()]);
    const document = lazy.swagger();
    assert.ok(Object.keys(document.paths ?? {}).length > 15);
    assert.ok(Object.keys(document.paths ?? {}).includes('/widgets/{id}'));
    assert.deepEqual(document, eager.swagger());
    assert.equal(lazy.swagger({ yaml: true }), eager.swagger({ yaml: true }));
    await Promise.all([eager.close(), lazy.close()]);
  });

  /** The server's routes and docs, with @fastify/swagger and @fastify/swagger-ui registered at start or lazily. */
  async function withDocs(how: 'at start' | 'lazily'): Promise<FastifyInstance> {
    const app = Fastify({ ajv: { customOptions: AJV_OPTIONS }, routerOptions: { ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: 200 } });
    await registerPortcullisPlugins(app, portcullis);
    if (how === 'at start') {
      await app.register(swagger, swaggerOptions(config));
      await app.register(swaggerUi, swaggerUiOptions(config));
    } else {
      await app.register(lazySwagger, swaggerOptions(config));
      await app.register(lazySwaggerUi, swaggerUiOptions(config));
    }
    registerPortcullisRoutes(app, portcullis);
    await app.ready();
    return app;
  }

  it('serves /docs as @fastify/swagger-ui registered at start does: same routes, statuses, headers and bodies', async () => {
    const [eager, lazy] = await Promise.all([withDocs('at start'), withDocs('lazily')]);
    assert.equal(lazy.printRoutes(), eager.printRoutes());
    const paths = [
      '/docs',
      '/docs/',
      '/docs/?x=1',
      '/docs/static/index.html',
      '/docs/static/swagger-initializer.js',
      '/docs/json',
      '/docs/yaml',
      '/docs/static/index.css',
      '/docs/static/swagger-ui-bundle.js',
      '/docs/static/logo.svg',
      '/docs/static/',
      '/docs/static/nope.js',
      '/docs/static/../package.json',
      '/docs/static/%2e%2e/%2e%2e/package.json',
      '/docs/static/.hidden',
      '/docs/static/%00',
      '/docs/static/a%2fb',
      '/docs/nope',
      '/docs/JSON',
      '/docsx',
    ];
    const compare = async (label: string, request: { method: 'GET' | 'HEAD'; url: string; headers?: Record<string, string> }) => {
      const [a, b] = [await lazy.inject(request), await eager.inject(request)];
      const headers = (response: typeof a) => Object.fromEntries(Object.entries(response.headers).filter(([name]) => name !== 'date'));
      assert.equal(a.statusCode, b.statusCode, label);
      assert.deepEqual(headers(a), headers(b), label);
      assert.ok(a.rawPayload.equals(b.rawPayload), `${label}: the bodies differ`);
      return a;
    };
    for (const url of paths) {
      for (const method of ['GET', 'HEAD'] as const) await compare(`${method} ${url}`, { method, url });
    }
    const css = await compare('GET index.css', { method: 'GET', url: '/docs/static/index.css' });
    assert.equal(css.statusCode, 200);
    const etag = String(css.headers.etag);
    await compare('GET index.css, If-None-Match', { method: 'GET', url: '/docs/static/index.css', headers: { 'if-none-match': etag } });
    await compare('GET index.css, Range', { method: 'GET', url: '/docs/static/index.css', headers: { range: 'bytes=0-9' } });
    await compare('GET index.css, bad Range', { method: 'GET', url: '/docs/static/index.css', headers: { range: 'bytes=999999-' } });
    await Promise.all([eager.close(), lazy.close()]);
  });
});
