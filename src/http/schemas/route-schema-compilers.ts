/**
 * The standalone server's schema compilers (buildApp's `schemaController`):
 * the route validators (Ajv) and response serializers (fast-json-stringify)
 * come precompiled from precompiled-schemas.generated.ts, which
 * scripts/precompile-schemas.ts writes from the route schemas with Fastify's
 * documented standalone mode (@fastify/ajv-compiler/standalone,
 * @fastify/fast-json-stringify-compiler's StandaloneSerializer). Starting a
 * server then neither loads Ajv and fast-json-stringify's compiler nor
 * compiles ~40 schemas (about a quarter of a cold start before this).
 *
 * Each precompiled function is found by a fingerprint of everything its code
 * was generated from: the kind, the schema, the shared schemas the app added
 * (`$ref` targets) and the compiler options (AJV_OPTIONS). A schema that
 * changed without the file being regenerated, a schema that is not in it,
 * or an installed Ajv / fast-json-stringify of another version than the one
 * that generated the code is compiled exactly as Fastify's default compilers
 * would compile it (the same packages, resolved from Fastify's installation,
 * loaded only then): the answers are the same either way, only slower to
 * start. src/http/schemas/precompiled-schemas.test.ts fails while the file
 * is out of date.
 *
 * One difference from Fastify's defaults remains by construction: Fastify
 * lowercases the property names of a `headers` schema only for its own
 * validator compiler. No Portcullis route validates headers; one that did
 * would be refused at start (below) rather than validated differently.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { FastifySchemaCompiler, FastifySerializerCompiler, FastifyServerOptions } from 'fastify';
import { SERIALIZER_MODULES, SERIALIZERS, TOOLCHAIN, VALIDATOR_MODULES, VALIDATORS } from './precompiled-schemas.generated.js';

/** What Fastify passes to a validator compiler. */
export interface ValidatorRequest {
  readonly schema: unknown;
  readonly method: string;
  readonly url: string;
  readonly httpPart?: string;
  readonly contentType?: string;
}

/** What Fastify passes to a serializer compiler. */
export interface SerializerRequest {
  readonly schema: unknown;
  readonly method: string;
  readonly url: string;
  readonly httpStatus: string;
  readonly contentType?: string;
}

type ValidatorBuilder = (externalSchemas: unknown, options: unknown) => FastifySchemaCompiler<unknown>;
type SerializerBuilder = (externalSchemas: unknown, options: unknown) => FastifySerializerCompiler<unknown>;

/** One compilation Fastify asked for, as recordRouteSchemas() reports it. */
export type CompileRecord =
  | { readonly kind: 'validator'; readonly key: string; readonly precompiled: boolean; readonly externalSchemas: unknown; readonly options: unknown; readonly request: ValidatorRequest }
  | { readonly kind: 'serializer'; readonly key: string; readonly precompiled: boolean; readonly externalSchemas: unknown; readonly options: unknown; readonly request: SerializerRequest };

/** The versions of the code generators, and where the generated code's `require`s resolve. */
interface Toolchain {
  readonly ajv: string;
  readonly fastJsonStringify: string;
  /** Resolves as Fastify does: its default compilers. */
  readonly fastifyRequire: NodeJS.Require;
  /** Resolves as @fastify/ajv-compiler does: `ajv/dist/runtime/...`, `ajv-formats/...`. */
  readonly ajvRequire: NodeJS.Require;
  /** Resolves as @fastify/fast-json-stringify-compiler does: `fast-json-stringify/lib/...`. */
  readonly fjsRequire: NodeJS.Require;
}

let toolchain: Toolchain | undefined;

/** Fastify's own compilers, resolved from Fastify's installation (they are its dependencies, not ours). */
function installedToolchain(): Toolchain {
  if (toolchain === undefined) {
    const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
    const ajvRequire = createRequire(fromFastify.resolve('@fastify/ajv-compiler'));
    const fjsRequire = createRequire(fromFastify.resolve('@fastify/fast-json-stringify-compiler'));
    toolchain = {
      ajv: (ajvRequire('ajv/package.json') as { version: string }).version,
      fastJsonStringify: (fjsRequire('fast-json-stringify/package.json') as { version: string }).version,
      fastifyRequire: fromFastify,
      ajvRequire,
      fjsRequire,
    };
  }
  return toolchain;
}

/** The generated code can be used only with the Ajv and fast-json-stringify that generated it. */
function generatedCodeUsable(tools: Toolchain): boolean {
  return tools.ajv === TOOLCHAIN.ajv && tools.fastJsonStringify === TOOLCHAIN.fastJsonStringify;
}

/** The fingerprint a compilation is found by; `base` covers the kind, shared schemas and options. */
export function compileKey(base: string, request: ValidatorRequest | SerializerRequest): string {
  return createHash('sha256').update(base).update('\0').update(JSON.stringify(request.schema) ?? 'undefined').digest('base64url').slice(0, 32);
}

function baseOf(kind: 'validator' | 'serializer', externalSchemas: unknown, options: unknown): string {
  return JSON.stringify([kind, externalSchemas, options]);
}

type ModuleFactory = (module: { exports: unknown }, exports: unknown, require: NodeJS.Require) => void;

function instantiate(factory: ModuleFactory, require: NodeJS.Require): unknown {
  const module: { exports: unknown } = { exports: {} };
  factory(module, module.exports, require);
  return module.exports;
}

/** Each generated module is evaluated once, when a route first needs it. */
const loadedValidators = new Map<number, ReturnType<FastifySchemaCompiler<unknown>>>();
const loadedSerializers = new Map<number, (data: unknown) => string>();

/** The precompiled function at `index`, instantiated the first time a route asks for it. */
function loadOnce<T>(loaded: Map<number, T>, index: number, factory: ModuleFactory, require: NodeJS.Require): T {
  let compiled = loaded.get(index);
  if (compiled === undefined) {
    compiled = instantiate(factory, require) as T;
    loaded.set(index, compiled);
  }
  return compiled;
}

let recorder: CompileRecord[] | undefined;

/**
 * Records every compilation asked of these compilers from now until stop() (for the generator and
 * the test that checks the generated file covers the routes).
 */
export function recordRouteSchemas(): { stop(): CompileRecord[] } {
  const records: CompileRecord[] = [];
  recorder = records;
  return {
    stop() {
      if (recorder === records) recorder = undefined;
      return records;
    },
  };
}

let defaultValidatorSelector: ValidatorBuilder | undefined;
let defaultSerializerSelector: SerializerBuilder | undefined;

/** Fastify's default validator compiler (a pool of Ajv instances), made when first needed. */
function fallbackValidatorBuilder(tools: Toolchain): ValidatorBuilder {
  defaultValidatorSelector ??= (tools.fastifyRequire('@fastify/ajv-compiler') as () => ValidatorBuilder)();
  return defaultValidatorSelector;
}

function fallbackSerializerBuilder(tools: Toolchain): SerializerBuilder {
  defaultSerializerSelector ??= (tools.fastifyRequire('@fastify/fast-json-stringify-compiler') as { SerializerSelector: () => SerializerBuilder }).SerializerSelector();
  return defaultSerializerSelector;
}

/** `compilersFactory.buildValidator`: Fastify calls it with the app's shared schemas and its `ajv` option. */
function buildValidator(externalSchemas: unknown, options: unknown): FastifySchemaCompiler<unknown> {
  const base = baseOf('validator', externalSchemas, options);
  let fallback: FastifySchemaCompiler<unknown> | undefined;
  return (request) => {
    const req = request as ValidatorRequest;
    if (req.httpPart === 'headers') {
      throw new Error('header schemas are not supported by the precompiled route validators (see src/http/schemas/route-schema-compilers.ts)');
    }
    const tools = installedToolchain();
    const key = compileKey(base, req);
    const index = generatedCodeUsable(tools) ? VALIDATORS[key] : undefined;
    recorder?.push({ kind: 'validator', key, precompiled: index !== undefined, externalSchemas, options, request: req });
    if (index !== undefined) return loadOnce(loadedValidators, index, VALIDATOR_MODULES[index] as ModuleFactory, tools.ajvRequire);
    fallback ??= fallbackValidatorBuilder(tools)(externalSchemas, options);
    return fallback(request);
  };
}

/** `compilersFactory.buildSerializer`: Fastify calls it with the app's shared schemas and its `serializerOpts`. */
function buildSerializer(externalSchemas: unknown, options: unknown): FastifySerializerCompiler<unknown> {
  const base = baseOf('serializer', externalSchemas, options);
  let fallback: FastifySerializerCompiler<unknown> | undefined;
  return (request) => {
    const req = request as SerializerRequest;
    const tools = installedToolchain();
    const key = compileKey(base, req);
    const index = generatedCodeUsable(tools) ? SERIALIZERS[key] : undefined;
    recorder?.push({ kind: 'serializer', key, precompiled: index !== undefined, externalSchemas, options, request: req });
    if (index !== undefined) return loadOnce(loadedSerializers, index, SERIALIZER_MODULES[index] as ModuleFactory, tools.fjsRequire);
    fallback ??= fallbackSerializerBuilder(tools)(externalSchemas, options);
    return fallback(request);
  };
}

type SchemaControllerOption = NonNullable<FastifyServerOptions['schemaController']>;
type CompilersFactory = NonNullable<SchemaControllerOption['compilersFactory']>;

/** Fastify's `schemaController` option for the standalone server's app. */
export function routeSchemaController(): SchemaControllerOption {
  return {
    compilersFactory: {
      buildValidator: buildValidator as unknown as NonNullable<CompilersFactory['buildValidator']>,
      buildSerializer: buildSerializer as unknown as NonNullable<CompilersFactory['buildSerializer']>,
    },
  };
}
