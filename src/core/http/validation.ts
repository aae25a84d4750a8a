import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { SerializerSelector, type SerializerFactory } from '@fastify/fast-json-stringify-compiler';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * Bodies are validated strictly: wrong types are errors (no coercion of "5" to 5), unknown fields
 * are errors (schemas say `additionalProperties: false`), and every bad field is reported.
 * Query strings, params and headers arrive as text, so they are coerced.
 */
const bodyAjv = addFormats.default(new Ajv.default({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: true, strict: false }));
const textAjv = addFormats.default(new Ajv.default({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: true, strict: false }));

/**
 * Compiling every route's schemas took over half of start-up with all modules mounted. In production
 * each validator and serializer is compiled on its route's first request instead (the same code,
 * deferred); development and tests compile eagerly so a schema mistake stops the start.
 */
export function createValidatorCompiler(lazy: boolean): FastifySchemaCompiler<unknown> {
  return ({ schema, httpPart }) => {
    const compile = () => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema as object);
    if (!lazy) return compile();
    let compiled: ValidateFunction | undefined;
    const validate = (data: unknown) => {
      compiled ??= compile();
      const valid = compiled(data);
      validate.errors = compiled.errors;
      return valid;
    };
    validate.errors = null as ValidateFunction['errors'];
    return validate;
  };
}

export function createSerializerFactory(lazy: boolean): SerializerFactory {
  const buildDefault = SerializerSelector();
  return (externalSchemas, options) => {
    const compile = buildDefault(externalSchemas, options);
    if (!lazy) return compile;
    return (routeSchema) => {
      let serialize: ((data: unknown) => string) | undefined;
      return (data: unknown) => (serialize ??= compile(routeSchema))(data);
    };
  };
}
