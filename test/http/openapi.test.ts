/**
 * GET /openapi.json and GET /docs from a real server: the document lists
 * every route the server has, is OpenAPI 3.1 by a focused structural check
 * (no validator is installed), declares the OAuth2 flows and bearer scheme
 * with Portcullis's scopes, asks for a token exactly where the server does,
 * and its response schemas are the ones that filter what is serialised.
 * The docs page loads only its own assets, under its own CSP; DOCS=off
 * turns both off.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { DOCS_CONTENT_SECURITY_POLICY } from '../../src/http/plugins/security-headers.js';
import { errorResponses, errorSchema } from '../../src/http/schemas/common-schemas.js';
import { publicUserSchema } from '../../src/http/schemas/user-schemas.js';
import { HOSTED_PAGE_PATHS } from '../../src/http/pages/hosted-pages.js';
import { bearer, formPost, login, signUp, startTestServer, type TestServer } from '../helpers/server.js';

const STRICT_CSP = "default-src 'none'; frame-ancestors 'none'";
const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
/** Routes kept out of the document on purpose (schema.hide): operational, not API. */
/** Not the API's: /metrics (Prometheus), and the hosted pages (HTML). */
const HIDDEN_ROUTES = new Set(['/metrics', ...HOSTED_PAGE_PATHS]);
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;
const JSON_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array']);

type Json = Record<string, unknown>;

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly op: Json;
}

function operationsOf(doc: Json): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const method of METHODS) {
      if (item[method] !== undefined) operations.push({ method, path, op: item[method] as Json });
    }
  }
  return operations;
}

/**
 * Every (method, path) Fastify routes, from printRoutes(): its radix tree,
 * lines `├── piece (GET, HEAD)` indented four columns a level, a path being
 * the pieces from the root down.
 */
function registeredRoutes(tree: string): Array<{ method: string; path: string }> {
  const routes: Array<{ method: string; path: string }> = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + match[2]!;
    stack.push(path);
    for (const method of match[3]?.split(', ') ?? []) routes.push({ method: method.toLowerCase(), path });
  }
  return routes;
}

/** `/users/me/sessions/:id` as OpenAPI writes it: `/users/me/sessions/{id}`. */
function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function resolvePointer(doc: Json, ref: string): unknown {
  assert.ok(ref.startsWith('#/'), `only local references: ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, part) => (node as Json | undefined)?.[part], doc);
}

/** Visits every object in the document with its JSON path. */
function walk(node: unknown, visit: (value: Json, where: string) => void, where = '#'): void {
  if (Array.isArray(node)) node.forEach((item, i) => walk(item, visit, `${where}/${i}`));
  else if (node !== null && typeof node === 'object') {
    visit(node as Json, where);
    for (const [key, value] of Object.entries(node)) walk(value, visit, `${where}/${key}`);
  }
}

/** The smallest body the schema accepts the shape of: required strings 'x', and so on. */
function exampleBody(schema: Json | undefined, doc: Json): Json | undefined {
  if (schema === undefined) return undefined;
  const resolved = (typeof schema.$ref === 'string' ? resolvePointer(doc, schema.$ref) : schema) as Json;
  const properties = (resolved.properties ?? {}) as Record<string, Json>;
  const body: Json = {};
  for (const name of (resolved.required ?? []) as string[]) {
    const property = properties[name];
    const type = [property?.type].flat()[0];
    const enumerated = property?.enum as unknown[] | undefined;
    body[name] =
      enumerated !== undefined
        ? enumerated[0]
        : type === 'boolean'
          ? false
          : type === 'array'
            ? []
            : type === 'object'
              ? (exampleBody(property, doc) ?? {})
              : 'x';
  }
  return body;
}

describe('GET /openapi.json', () => {
  let server: TestServer;
  let doc: Json;
  let response: Response;
  before(async () => {
    server = await startTestServer({ DEFAULT_SCOPES: 'me items' });
    response = await server.fetch('/openapi.json');
    doc = (await response.json()) as Json;
  });
  after(() => server.stop());

  it('is an OpenAPI 3.1 document of this version, with the strict headers of the API', () => {
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(response.headers.get('content-security-policy'), STRICT_CSP);
    assert.match(String(doc.openapi), /^3\.1\.\d+$/);
    const info = doc.info as Json;
    assert.equal(info.title, 'Portcullis');
    assert.equal(info.version, PACKAGE_VERSION);
    // Relative, so it stays right behind a proxy that mounts Portcullis under a prefix.
    const servers = doc.servers as Json[];
    assert.ok(servers.length > 0);
    for (const entry of servers) assert.doesNotMatch(String(entry.url), /^[a-z][a-z0-9+.-]*:|^\/\//i, 'a relative server URL');
  });

  it('lists every route the server has, and nothing else', () => {
    const registered = registeredRoutes(server.app.printRoutes())
      // HEAD routes are Fastify's own twins of the GET routes.
      .filter(({ method, path }) => method !== 'head' && path !== '/openapi.json' && path !== '/docs' && !path.startsWith('/docs/'));
    assert.ok(registered.length >= 19, `routes found in printRoutes: ${registered.length}`);
    const documented = new Set(operationsOf(doc).map(({ method, path }) => `${method} ${path}`));
    const expected = new Set<string>();
    for (const { method, path } of registered) {
      const key = `${method} ${openApiPath(path)}`;
      if (HIDDEN_ROUTES.has(path)) {
        assert.ok(!documented.has(key), `${key} is hidden`);
        continue;
      }
      expected.add(key);
      assert.ok(documented.has(key), `${key} is in /openapi.json`);
    }
    assert.deepEqual(
      [...documented].filter((key) => !expected.has(key)),
      [],
      'no operation without a route',
    );
  });

  it('passes a structural check of OpenAPI 3.1', () => {
    const tags = new Set((doc.tags as Json[]).map((tag) => tag.name));
    const schemes = (doc.components as Json).securitySchemes as Record<string, Json>;
    const operationIds = new Set<unknown>();
    for (const { method, path, op } of operationsOf(doc)) {
      const label = `${method.toUpperCase()} ${path}`;
      assert.match(path, /^\//, label);
      assert.equal(typeof op.summary, 'string', `${label}: summary`);
      assert.equal(typeof op.description === 'string' || op.description === undefined, true, `${label}: description`);
      assert.ok(Array.isArray(op.tags) && op.tags.length > 0, `${label}: tags`);
      for (const tag of op.tags as string[]) assert.ok(tags.has(tag), `${label}: tag ${tag} is declared`);
      assert.ok(!operationIds.has(op.operationId), `${label}: unique operationId`);
      operationIds.add(op.operationId);

      const responses = op.responses as Record<string, Json>;
      assert.ok(Object.keys(responses).length > 0, `${label}: responses`);
      assert.ok(
        Object.keys(responses).some((status) => /^2/.test(status)),
        `${label}: a success response`,
      );
      for (const [status, answer] of Object.entries(responses)) {
        assert.match(status, /^(?:[1-5](?:XX|\d\d)|default)$/, `${label}: status ${status}`);
        assert.equal(typeof answer.description, 'string', `${label} ${status}: description`);
        for (const media of Object.values((answer.content ?? {}) as Record<string, Json>)) {
          assert.ok(media.schema !== undefined, `${label} ${status}: a schema`);
        }
        // API.md's error body, documented once.
        if (/^[45]/.test(status)) {
          const media = (answer.content as Json)['application/json'];
          assert.deepEqual(media, { schema: { $ref: '#/components/schemas/PortcullisError' } }, `${label} ${status}`);
        }
      }
      if (op.requestBody !== undefined) {
        const content = (op.requestBody as Json).content as Record<string, Json>;
        assert.ok(Object.keys(content).length > 0, `${label}: request media types`);
        for (const media of Object.values(content)) assert.ok(media.schema !== undefined, `${label}: request schema`);
      }
      const pathParameters = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const parameters = (op.parameters ?? []) as Json[];
      for (const parameter of parameters) {
        assert.ok(['query', 'header', 'path', 'cookie'].includes(String(parameter.in)), `${label}: parameter in`);
        assert.equal(typeof parameter.name, 'string', `${label}: parameter name`);
        assert.ok(parameter.schema !== undefined || parameter.content !== undefined, `${label}: parameter schema`);
        if (parameter.in === 'path') assert.equal(parameter.required, true, `${label}: path parameters are required`);
      }
      assert.deepEqual(
        parameters
          .filter((p) => p.in === 'path')
          .map((p) => p.name)
          .sort(),
        [...pathParameters].sort(),
        `${label}: one path parameter per template variable`,
      );
      for (const requirement of (op.security ?? []) as Array<Record<string, string[]>>) {
        for (const [name, scopes] of Object.entries(requirement)) {
          assert.ok(schemes[name], `${label}: security scheme ${name} is declared`);
          if (schemes[name]!.type !== 'oauth2') continue;
          for (const flow of Object.values(schemes[name]!.flows as Record<string, Json>)) {
            for (const scope of scopes) assert.ok(scope in (flow.scopes as Json), `${label}: scope ${scope} is declared`);
          }
        }
      }
    }
    // JSON Schema 2020-12 throughout (OpenAPI 3.0's `nullable` is gone), and every reference resolves.
    walk(doc, (node, where) => {
      assert.ok(!('nullable' in node), `${where}: no nullable in 3.1`);
      if (typeof node.$ref === 'string') assert.ok(resolvePointer(doc, node.$ref) !== undefined, `${where}: ${node.$ref} resolves`);
      const type: unknown = node.type;
      if ((typeof type === 'string' || Array.isArray(type)) && !where.includes('/securitySchemes/')) {
        for (const name of [type].flat()) assert.ok(JSON_TYPES.has(String(name)), `${where}: type ${String(name)}`);
      }
    });
    for (const name of Object.keys(((doc.components as Json).schemas ?? {}) as Json)) assert.match(name, /^[a-zA-Z0-9._-]+$/);
  });

  it('declares the OAuth2 password and client-credentials flows with the scopes Portcullis knows, and HTTP bearer', () => {
    const schemes = (doc.components as Json).securitySchemes as Record<string, Json>;
    const oauth2 = schemes.OAuth2!;
    assert.equal(oauth2.type, 'oauth2');
    const flows = oauth2.flows as Record<string, Json>;
    assert.deepEqual(Object.keys(flows).sort(), ['clientCredentials', 'password']);
    for (const flow of Object.values(flows)) {
      // Relative to the server, so that it works under a prefix.
      assert.equal(flow.tokenUrl, 'token');
      assert.deepEqual(Object.keys(flow.scopes as Json).sort(), ['admin', 'items', 'me']);
    }
    assert.deepEqual(
      { type: schemes.HTTPBearer!.type, scheme: schemes.HTTPBearer!.scheme, bearerFormat: schemes.HTTPBearer!.bearerFormat },
      { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
    );
    assert.deepEqual({ type: schemes.ClientBasic!.type, scheme: schemes.ClientBasic!.scheme }, { type: 'http', scheme: 'basic' });
    const admin = ((doc.paths as Json)['/admin/users'] as Json).get as Json;
    assert.deepEqual(admin.security, [{ OAuth2: ['admin'] }, { HTTPBearer: ['admin'] }]);
  });

  it('asks for a bearer token exactly where the server refuses a request without one', async () => {
    for (const { method, path, op } of operationsOf(doc)) {
      const content = (op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined;
      const body = exampleBody(content?.['application/json']?.schema as Json | undefined, doc);
      const answer = await server.fetch(path.replace(/\{[^}]+\}/g, 'x'), {
        method: method.toUpperCase(),
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      const refused = answer.status === 401 && ((await answer.json()) as Json).detail === 'Not authenticated';
      const requirements = (op.security ?? []) as Array<Record<string, string[]>>;
      const needsBearer = requirements.length > 0 && requirements.every((r) => 'OAuth2' in r || 'HTTPBearer' in r);
      const label = `${method.toUpperCase()} ${path}: security ${JSON.stringify(requirements)}, answer ${answer.status}`;
      assert.equal(needsBearer, refused, label);
    }
  });

  it('documents the sign-in link grant at POST /token, and POST /signin/link', () => {
    const paths = doc.paths as Json;
    const token = ((((paths['/token'] as Json).post as Json).requestBody as Json).content as Json)[
      'application/x-www-form-urlencoded'
    ] as Json;
    const properties = (token.schema as Json).properties as Json;
    assert.match(String((properties.grant_type as Json).description), /urn:portcullis:params:oauth:grant-type:sign-in-link/);
    assert.ok(properties.token, "the grant's token parameter");
    const link = (paths['/signin/link'] as Json).post as Json;
    assert.equal(link.operationId, 'requestSignInLink');
    assert.ok((link.responses as Json)['202'] && (link.responses as Json)['404']);
  });

  it('documents POST /mfa/enrol (form or JSON, no bearer) and the recovery codes of the token response', () => {
    const paths = doc.paths as Json;
    const enrol = (paths['/mfa/enrol'] as Json).post as Json;
    assert.equal(enrol.operationId, 'enrolAtLogin');
    assert.equal(enrol.security, undefined, 'the mfa_token is the credential');
    const content = (enrol.requestBody as Json).content as Json;
    assert.deepEqual(Object.keys(content).sort(), ['application/json', 'application/x-www-form-urlencoded']);
    assert.ok(((content['application/json'] as Json).schema as Json).properties);
    const responses = enrol.responses as Json;
    assert.ok(responses['201'] && responses['400'] && responses['429']);
    const ok = ((((paths['/token'] as Json).post as Json).responses as Json)['200'] as Json).content as Json;
    const tokenSchema = (ok['application/json'] as Json).schema as Json;
    assert.ok((tokenSchema.properties as Json).recovery_codes);
  });

  it('documents the error body the server sends', async () => {
    const error = ((doc.components as Json).schemas as Json).PortcullisError as Json;
    assert.deepEqual(error.required, ['detail']);
    assert.deepEqual(Object.keys(error.properties as Json).sort(), [
      'acr_values',
      'challenge',
      'detail',
      'enrolment_required',
      'error',
      'error_description',
      'factors',
      'max_age',
      'mfa_token',
      'sign_in_link',
      'webauthn',
    ]);
    const notAuthenticated = await server.fetch('/users/me');
    assert.deepEqual(await notAuthenticated.json(), { detail: 'Not authenticated' });
    const badLogin = await formPost(server, '/token', { username: 'nobody', password: 'wrong password' });
    assert.equal(badLogin.status, 401);
    assert.deepEqual(Object.keys((await badLogin.json()) as Json).sort(), ['detail', 'error', 'error_description']);
  });

  it('serialises GET /users/me through the documented schema, which no password hash can get through', async () => {
    assert.equal((await signUp(server, 'schema-user', 'a schema passphrase')).status, 201);
    const token = await login(server, 'schema-user', 'a schema passphrase');
    const me = (await (await server.fetch('/users/me', { headers: bearer(token) })).json()) as Json;
    const ok = ((((doc.paths as Json)['/users/me'] as Json).get as Json).responses as Json)['200'] as Json;
    const schema = ((ok.content as Json)['application/json'] as Json).schema as Json;
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(Object.keys(me).sort(), Object.keys(schema.properties as Json).sort());

    // The same schema object, through Fastify's serialiser, with everything a user row holds.
    const app = Fastify();
    app.addSchema(errorSchema);
    app.get('/', { schema: { response: { 200: publicUserSchema, ...errorResponses() } } }, async () => ({
      ...me,
      password_hash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
      passwordHash: '$2b$12$abcdefghijklmnopqrstuv',
      password: 'a schema passphrase',
    }));
    try {
      const text = (await app.inject('/')).body;
      assert.deepEqual(JSON.parse(text), me);
      assert.doesNotMatch(text, /argon2|\$2b\$|password/i);
    } finally {
      await app.close();
    }
  });
});

describe('GET /docs', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  it('redirects to docs/ with a relative Location, which keeps a proxy prefix', async () => {
    const response = await server.fetch('/docs', { redirect: 'manual' });
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), 'docs/');
  });

  it('is Swagger UI from the npm package: local assets only, under its own CSP, never framed', async () => {
    const page = await server.fetch('/docs/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.equal(csp, DOCS_CONTENT_SECURITY_POLICY);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:|\*/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    const html = await page.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>\s*\S/, 'no inline script');
    const assets = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
    assert.ok(assets.some((asset) => asset.endsWith('swagger-ui-bundle.js')));
    for (const asset of assets) {
      assert.match(asset, /^\.\/static\//, `${asset} is a local, relative asset`);
      const served = await server.fetch(new URL(asset, `${server.url}/docs/`).pathname);
      assert.equal(served.status, 200, asset);
      assert.equal(served.headers.get('content-security-policy'), DOCS_CONTENT_SECURITY_POLICY, asset);
      await served.arrayBuffer();
    }
    const initializer = await (await server.fetch('/docs/static/swagger-initializer.js')).text();
    assert.match(initializer, /"persistAuthorization":false/);
    assert.match(initializer, /validatorUrl: null/);
  });

  it('gives Swagger UI the document with URLs relative to its page', async () => {
    const forUi = (await (await server.fetch('/docs/json')).json()) as Json;
    const direct = (await (await server.fetch('/openapi.json')).json()) as Json;
    assert.deepEqual(forUi.paths, direct.paths);
    assert.deepEqual(forUi.servers, [{ url: '..', description: 'This server' }]);
    const flows = ((forUi.components as Json).securitySchemes as Record<string, Json>).OAuth2!.flows as Record<string, Json>;
    assert.equal(flows.password!.tokenUrl, '../token');
  });

  it('leaves the strict CSP on every API route', async () => {
    for (const path of ['/users/me', '/healthz', '/openapi.json', '/no-such-route', '/docsx']) {
      const response = await server.fetch(path);
      await response.arrayBuffer();
      assert.equal(response.headers.get('content-security-policy'), STRICT_CSP, path);
    }
  });
});

describe('POST /token as Swagger UI sends it', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    assert.equal((await signUp(server, 'swagger-user', 'a swagger passphrase')).status, 201);
  });
  after(() => server.stop());

  function swaggerLogin(headers: Record<string, string>): Promise<Response> {
    return server.fetch('/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-requested-with': 'XMLHttpRequest', ...headers },
      body: new URLSearchParams({ grant_type: 'password', scope: '', username: 'swagger-user', password: 'a swagger passphrase' }),
    });
  }

  it('treats HTTP Basic with an empty id and secret (the client fields left empty) as no client', async () => {
    const response = await swaggerLogin({ authorization: `Basic ${Buffer.from(':').toString('base64')}` });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as Json).token_type, 'bearer');
  });

  it('logs in with the client fields in the body left out', async () => {
    assert.equal((await swaggerLogin({})).status, 200);
  });

  it('still refuses HTTP Basic with an empty id and a secret', async () => {
    const response = await swaggerLogin({ authorization: `Basic ${Buffer.from(':secret').toString('base64')}` });
    assert.equal(response.status, 401);
    assert.equal(((await response.json()) as Json).error, 'invalid_client');
  });
});

describe('DOCS=off', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ DOCS: 'off' });
  });
  after(() => server.stop());

  it('serves neither /docs nor /openapi.json', async () => {
    for (const path of ['/docs', '/docs/', '/docs/json', '/docs/static/swagger-ui-bundle.js', '/openapi.json']) {
      const response = await server.fetch(path, { redirect: 'manual' });
      assert.equal(response.status, 404, path);
      assert.deepEqual(await response.json(), { detail: 'Not Found' }, path);
    }
    assert.equal((await server.fetch('/healthz')).status, 200);
  });
});
