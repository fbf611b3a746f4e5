import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { GENERATED_FILE, generatePrecompiledSchemas, NODE_MAJOR } from '../../../scripts/precompile-schemas.js';
import { AJV_OPTIONS } from '../app.js';
import { GENERATED_UNDER_NODE } from './precompiled-schemas.generated.js';
import { recordRouteSchemas, routeSchemaController } from './route-schema-compilers.js';

describe('precompiled route schemas', () => {
  let generated: ReturnType<typeof generatePrecompiledSchemas> | undefined;
  const generate = () => (generated ??= generatePrecompiledSchemas());

  it('cover every validator and serializer the server compiles (else: npm run schemas:precompile)', async () => {
    const { records } = await generate();
    assert.ok(records.some((record) => record.kind === 'validator') && records.some((record) => record.kind === 'serializer'));
    const compiledAtStart = records.filter((record) => !record.precompiled).map((record) => `${record.kind} ${record.request.method} ${record.request.url}`);
    assert.deepEqual(compiledAtStart, []);
  });

  it('are up to date: the text the generator writes (else: npm run schemas:precompile)', async (t) => {
    if (GENERATED_UNDER_NODE !== NODE_MAJOR) {
      // fast-json-stringify generates other code (with the same answers) under another Node major.
      t.skip(`generated under Node ${GENERATED_UNDER_NODE}, whose text is checked only there (this is Node ${NODE_MAJOR})`);
      return;
    }
    const { text } = await generate();
    assert.ok(readFileSync(GENERATED_FILE, 'utf8') === text, `${GENERATED_FILE} is out of date: run npm run schemas:precompile`);
  });

  /** A route with `schema`, under the standalone server's compilers or Fastify's own (with the same AJV_OPTIONS). */
  async function app(compilers: 'precompiled' | 'fastify', schema: object) {
    const instance = Fastify({ ajv: { customOptions: AJV_OPTIONS }, ...(compilers === 'precompiled' ? { schemaController: routeSchemaController() } : {}) });
    instance.addSchema({ $id: 'Thing', type: 'object', required: ['id'], properties: { id: { type: 'integer' } }, additionalProperties: false });
    instance.post('/things', { schema }, async (request) => ({ got: request.body, secret: 'never serialised' }));
    await instance.ready();
    return instance;
  }

  it('compiles a schema they do not have as Fastify would: the same 400s and the same serialised bodies', async () => {
    const schema = {
      body: { type: 'object', required: ['name', 'thing'], properties: { name: { type: 'string', minLength: 2 }, thing: { $ref: 'Thing#' } }, additionalProperties: false },
      response: { 200: { type: 'object', properties: { got: { type: 'object', properties: { name: { type: 'string' } } } } } },
    };
    const recording = recordRouteSchemas();
    const ours = await app('precompiled', schema);
    const records = recording.stop();
    const theirs = await app('fastify', schema);
    assert.deepEqual(
      records.map((record) => [record.kind, record.precompiled]),
      [
        ['validator', false],
        ['serializer', false],
      ],
    );
    const bodies = [{ name: 'ab', thing: { id: 1 } }, { name: 'a', thing: { id: 1 } }, { name: 'ab', thing: { id: '1' } }, { name: 'ab', thing: { id: 1 }, extra: true }, { name: 'ab' }, 'not an object'];
    for (const body of bodies) {
      const [a, b] = await Promise.all([ours.inject({ method: 'POST', url: '/things', payload: body }), theirs.inject({ method: 'POST', url: '/things', payload: body })]);
      assert.equal(a.statusCode, b.statusCode, JSON.stringify(body));
      assert.equal(a.body, b.body, JSON.stringify(body));
    }
    await Promise.all([ours.close(), theirs.close()]);
  });

  it('refuse a headers schema at start rather than validate it unlike Fastify (which lowercases its names)', async () => {
    await assert.rejects(app('precompiled', { headers: { type: 'object', properties: { 'X-Thing': { type: 'string' } } } }), /header schemas are not supported/);
  });
});
