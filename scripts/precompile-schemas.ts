/**
 * Writes src/http/schemas/precompiled-schemas.generated.ts: the standalone
 * server's route validators and response serializers as code, generated with
 * Fastify's documented standalone mode (@fastify/ajv-compiler/standalone and
 * @fastify/fast-json-stringify-compiler's StandaloneSerializer, in write mode)
 * from exactly the compilations buildApp asks for (every optional route on).
 * src/http/schemas/route-schema-compilers.ts explains how they are used.
 *
 * Run after changing a route schema, AJV_OPTIONS, or Fastify's compilers:
 *   npm run schemas:precompile            (writes the file)
 *   npm run schemas:precompile -- --check (exit 1 if the file is out of date)
 * A stale file does not change behaviour (what it lacks is compiled at start,
 * as before), only start-up time; the test next to the file fails until it
 * is regenerated.
 *
 * fast-json-stringify tunes the code it generates to the Node it runs under
 * (array lengths from which it hands over to JSON.stringify differ on Node 20
 * and 22+): the same answers on any Node, but not the same text. The file
 * records the Node major it was generated under (GENERATED_UNDER_NODE), and
 * its text is compared with the generator's only under that major.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfig } from '../src/core/config.js';
import { Argon2PasswordHasher } from '../src/core/passwords/password-hasher.js';
import { WorkLimiter } from '../src/core/passwords/work-limiter.js';
import { createPortcullis } from '../src/core/portcullis.js';
import { buildApp } from '../src/http/app.js';
import { GENERATED_UNDER_NODE } from '../src/http/schemas/precompiled-schemas.generated.js';
import { recordRouteSchemas, type CompileRecord } from '../src/http/schemas/route-schema-compilers.js';
import { openStorage, storageStores } from '../src/storage/sql/open-storage.js';

export const GENERATED_FILE = fileURLToPath(new URL('../src/http/schemas/precompiled-schemas.generated.ts', import.meta.url));

/** The major version of the Node running this: the generated text is the same only under the same major. */
export const NODE_MAJOR = process.versions.node.split('.')[0]!;

/** Every schema compilation the standalone server's app asks Fastify's compilers for (DOCS and METRICS on). */
export async function routeSchemaCompilations(): Promise<CompileRecord[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'portcullis-precompile-'));
  try {
    const config = loadConfig({
      SECRET_KEY: 'precompile-schemas-secret-key-0123456789abcdef',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      DOCS: 'on',
      METRICS: 'on',
    });
    const storage = openStorage(config.database);
    const recording = recordRouteSchemas();
    try {
      await storage.migrate();
      // Nothing is hashed: building the app only declares the routes.
      const hasher = new Argon2PasswordHasher(config.argon2, new WorkLimiter(1, 0));
      const app = await buildApp(createPortcullis({ config, stores: storageStores(storage), hasher }));
      await app.ready();
      await app.close();
    } finally {
      recording.stop();
      await storage.close();
    }
    return recording.stop();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

type StoreFunction = (options: unknown, code: string) => void;
type Compile = (request: unknown) => unknown;
type Builder = (externalSchemas: unknown, options?: unknown) => Compile;

/** The generated file's text, and the compilations it was generated from. */
export async function generatePrecompiledSchemas(): Promise<{ text: string; records: CompileRecord[] }> {
  const records = await routeSchemaCompilations();
  const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
  const ajvRequire = createRequire(fromFastify.resolve('@fastify/ajv-compiler'));
  const fjsRequire = createRequire(fromFastify.resolve('@fastify/fast-json-stringify-compiler'));
  const versions = {
    ajv: (ajvRequire('ajv/package.json') as { version: string }).version,
    fastJsonStringify: (fjsRequire('fast-json-stringify/package.json') as { version: string }).version,
  };
  const StandaloneValidator = fromFastify('@fastify/ajv-compiler/standalone') as (options: { readMode: false; storeFunction: StoreFunction }) => Builder;
  const { StandaloneSerializer } = fromFastify('@fastify/fast-json-stringify-compiler') as {
    StandaloneSerializer: (options: { readMode: false; storeFunction: StoreFunction }) => Builder;
  };

  let stored: string | undefined;
  const storeFunction: StoreFunction = (_options, code) => {
    stored = code;
  };
  const validatorFactory = StandaloneValidator({ readMode: false, storeFunction });
  const serializerFactory = StandaloneSerializer({ readMode: false, storeFunction });
  // One compiler per set of shared schemas and options, as Fastify makes them.
  const compilers = new Map<string, Compile>();

  const modules = { validator: [] as string[], serializer: [] as string[] };
  const indexes = { validator: new Map<string, number>(), serializer: new Map<string, number>() };
  const keys = { validator: new Map<string, number>(), serializer: new Map<string, number>() };
  for (const record of records) {
    const compilerKey = JSON.stringify([record.kind, record.externalSchemas, record.options]);
    let compile = compilers.get(compilerKey);
    if (compile === undefined) {
      // The write modes add their own options (code.source, mode: 'standalone') to what they are given.
      const options = structuredClone(record.options ?? {}) as Record<string, unknown>;
      compile = record.kind === 'validator' ? validatorFactory(record.externalSchemas, options) : serializerFactory(record.externalSchemas, options);
      compilers.set(compilerKey, compile);
    }
    stored = undefined;
    compile(record.request);
    if (stored === undefined) throw new Error(`no code generated for the ${record.kind} of ${record.request.method} ${record.request.url}`);
    const code = stored;
    let index = indexes[record.kind].get(code);
    if (index === undefined) {
      index = modules[record.kind].push(code) - 1;
      indexes[record.kind].set(code, index);
    }
    keys[record.kind].set(record.key, index);
  }

  const moduleList = (codes: string[]) =>
    codes.map((code, i) => `  // ${i}\n  (module, exports, require) => {\n${code.trim()}\n  },`).join('\n');
  const keyList = (map: Map<string, number>) => [...map].map(([key, index]) => `  '${key}': ${index},`).join('\n');
  const text = `/* eslint-disable */
// @ts-nocheck
// Generated by scripts/precompile-schemas.ts (npm run schemas:precompile) from the route schemas: do not edit.
// ${records.length} compilations: ${modules.validator.length} validators (Ajv ${versions.ajv}), ${modules.serializer.length} serializers (fast-json-stringify ${versions.fastJsonStringify}).
// How they are used: src/http/schemas/route-schema-compilers.ts.

/** The Node major this was generated under: fast-json-stringify's code differs per Node, not its answers. */
export const GENERATED_UNDER_NODE: string = '${NODE_MAJOR}';

export const TOOLCHAIN: { readonly ajv: string; readonly fastJsonStringify: string } = ${JSON.stringify(versions)};

/** Compilation fingerprint → index in VALIDATOR_MODULES. */
export const VALIDATORS: Readonly<Record<string, number>> = {
${keyList(keys.validator)}
};

/** Compilation fingerprint → index in SERIALIZER_MODULES. */
export const SERIALIZERS: Readonly<Record<string, number>> = {
${keyList(keys.serializer)}
};

export const VALIDATOR_MODULES: readonly unknown[] = [
${moduleList(modules.validator)}
];

export const SERIALIZER_MODULES: readonly unknown[] = [
${moduleList(modules.serializer)}
];
`;
  return { text, records };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { text } = await generatePrecompiledSchemas();
  if (process.argv.includes('--check')) {
    const current = readFileSync(GENERATED_FILE, 'utf8');
    if (GENERATED_UNDER_NODE !== NODE_MAJOR) {
      console.log(`${GENERATED_FILE} was generated under Node ${GENERATED_UNDER_NODE}: its text can be checked only there (this is Node ${NODE_MAJOR})`);
      process.exit(0);
    }
    if (current !== text) {
      console.error(`${GENERATED_FILE} is out of date: run npm run schemas:precompile`);
      process.exit(1);
    }
    console.log(`${GENERATED_FILE} is up to date`);
  } else {
    writeFileSync(GENERATED_FILE, text);
    console.log(`wrote ${GENERATED_FILE}`);
  }
}
