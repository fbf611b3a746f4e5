/**
 * Inside a host's app, Portcullis's routes would be validated with the host's
 * Ajv settings, and Fastify's defaults coerce types (`{"username": 1}` becomes
 * "1") and silently drop unknown fields, where API.md promises 400s. So the
 * embedded routes get a validator of their own with the standalone server's
 * settings (AJV_OPTIONS). It is built by Fastify's own compiler,
 * @fastify/ajv-compiler, resolved from Fastify's installation (a dependency
 * of fastify, not of this package), so no second copy of Ajv is loaded.
 */
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { AJV_OPTIONS } from '../http/app.js';

type ValidatorBuilder = (externalSchemas: unknown, options: { customOptions: object }) => FastifySchemaCompiler<unknown>;

let builder: ValidatorBuilder | undefined;

function validatorBuilder(): ValidatorBuilder {
  if (builder === undefined) {
    const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
    builder = (fromFastify('@fastify/ajv-compiler') as () => ValidatorBuilder)();
  }
  return builder;
}

/** Call once the scope's shared schemas are added: they are compiled into the validator. */
export function useStrictValidation(scope: FastifyInstance): void {
  scope.setValidatorCompiler(validatorBuilder()(scope.getSchemas(), { customOptions: { ...AJV_OPTIONS } }));
}
