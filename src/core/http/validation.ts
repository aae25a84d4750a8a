import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * Bodies are validated strictly: wrong types are errors (no coercion of "5" to 5), unknown fields
 * are errors (schemas say `additionalProperties: false`), and every bad field is reported.
 * Query strings, params and headers arrive as text, so they are coerced.
 */
const bodyAjv = addFormats.default(new Ajv.default({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: true, strict: false }));
const textAjv = addFormats.default(new Ajv.default({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: true, strict: false }));

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? bodyAjv : textAjv).compile(schema as object);
