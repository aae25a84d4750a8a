import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { SerializerSelector, type SerializerFactory } from '@fastify/fast-json-stringify-compiler';
import type { FastifySchemaCompiler } from 'fastify';
import { EARLIEST_STORED_MS, LATEST_STORED_MS } from '../db/columns.js';
import { isWholeCents, WHOLE_CENTS } from './schemas.js';

/**
 * Bodies are validated strictly: wrong types are errors (no coercion of "5" to 5), unknown fields
 * are errors (schemas say `additionalProperties: false`), and every bad field is reported.
 * Query strings, params and headers arrive as text, so they are coerced.
 */
const bodyOptions = { coerceTypes: false, useDefaults: true, removeAdditional: false, strict: false } as const;
const bodyAjv = withProjectKeywords(new Ajv.default({ ...bodyOptions, allErrors: true }));
const firstErrorBodyAjv = withProjectKeywords(new Ajv.default({ ...bodyOptions, allErrors: false }));
const textAjv = withProjectKeywords(new Ajv.default({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: true, strict: false }));

/**
 * ajv-formats' checks, except that a `date-time` must also be one JavaScript can hold: RFC 3339
 * allows a leap second (`23:59:60`), which `Date` cannot represent, so every later
 * `new Date(value).toISOString()` would throw and turn a bad input into a 500. Its UTC instant must
 * also fall in years 0000-9999: an offset can carry `9999-12-31T23:59:59-23:59` into year 10000,
 * which `toISOString()` writes as `+010000-...`, text no client parses and that sorts before every
 * stored time. And the `x-whole-cents` keyword of `MoneyAmount` (src/core/http/schemas.ts).
 */
function withProjectKeywords(ajv: Ajv.default): Ajv.default {
  addFormats.default(ajv);
  ajv.addKeyword({
    keyword: WHOLE_CENTS,
    type: 'number',
    schemaType: 'boolean',
    error: { message: 'must have at most two decimal places (whole cents)' },
    validate: (on: boolean, amount: number) => !on || isWholeCents(amount),
  });
  const rfc3339 = addFormats.default.get('date-time', 'full') as { validate: (value: string) => boolean; compare: (a: string, b: string) => number | undefined };
  const storable = (value: string) => {
    const instant = Date.parse(value);
    return instant >= EARLIEST_STORED_MS && instant <= LATEST_STORED_MS;
  };
  return ajv.addFormat('date-time', { ...rfc3339, type: 'string', validate: (value: string) => rfc3339.validate(value) && storable(value) });
}

/**
 * Values in a body up to which a refusal lists every bad field. With ajv's `allErrors`, a body's
 * validation costs time in proportion to its bad values: 150,000 wrong array items (300 KB, far past
 * any `maxItems`) took 130-170 ms to refuse, so a 1 MB body was a second of CPU for one request. A
 * larger body is refused with its first error only, found by a validator that stops there.
 */
export const FULL_REPORT_MAX_VALUES = 10_000;

/** Whether `data` holds at most `limit` values (arrays and objects count their items), counted no further than that. */
function hasAtMostValues(data: unknown, limit: number): boolean {
  const pending = [data];
  let counted = 0;
  while (pending.length > 0) {
    const value = pending.pop();
    if (Array.isArray(value)) {
      counted += value.length;
      if (counted > limit) return false;
      for (const item of value) pending.push(item);
    } else if (typeof value === 'object' && value !== null) {
      for (const key in value) {
        if (++counted > limit) return false;
        pending.push((value as Record<string, unknown>)[key]);
      }
    }
  }
  return true;
}

/** What Fastify calls: a check that leaves its errors on itself. */
type Validator = ((data: unknown) => boolean) & { errors: ValidateFunction['errors'] };

/** A body's validator: valid bodies pass one validation; a refusal lists every bad field of a body of ordinary size. */
function compileBodyValidator(schema: object): Validator {
  const firstError = firstErrorBodyAjv.compile(schema);
  let allErrors: ValidateFunction | undefined;
  const validate: Validator = (data) => {
    if (firstError(data)) {
      validate.errors = null;
      return true;
    }
    if (hasAtMostValues(data, FULL_REPORT_MAX_VALUES)) {
      allErrors ??= bodyAjv.compile(schema);
      allErrors(data);
      validate.errors = allErrors.errors;
    } else {
      validate.errors = firstError.errors;
    }
    return false;
  };
  validate.errors = null;
  return validate;
}

/**
 * A query parameter given empty is one not given: `?status=&client_id=` (the contracts' own notation,
 * and what a client sends for a filter left blank) lists everything rather than failing on an empty
 * status, and an empty `limit` takes its default. The backends these APIs replace treated a blank
 * filter as none, and their clients send them.
 */
function withoutEmptyParameters(validate: ValidateFunction): Validator {
  const validateQuery: Validator = (data) => {
    const query = data as Record<string, unknown>;
    for (const name in query) if (query[name] === '') delete query[name];
    const valid = validate(query);
    validateQuery.errors = validate.errors;
    return valid;
  };
  validateQuery.errors = null;
  return validateQuery;
}

/**
 * Compiling every route's schemas took over half of start-up with all modules mounted. In production
 * each validator and serializer is compiled on its route's first request instead (the same code,
 * deferred); development and tests compile eagerly so a schema mistake stops the start.
 */
export function createValidatorCompiler(lazy: boolean): FastifySchemaCompiler<unknown> {
  return ({ schema, httpPart }) => {
    const compile = (): Validator | ValidateFunction =>
      httpPart === 'body' ? compileBodyValidator(schema as object) : httpPart === 'querystring' ? withoutEmptyParameters(textAjv.compile(schema as object)) : textAjv.compile(schema as object);
    if (!lazy) return compile();
    let compiled: Validator | ValidateFunction | undefined;
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

type SchemaObject = { [keyword: string]: unknown };
const isSchemaObject = (value: unknown): value is SchemaObject => typeof value === 'object' && value !== null && !Array.isArray(value);
const isNullSchema = (schema: unknown) => isSchemaObject(schema) && schema.type === 'null' && Object.keys(schema).length === 1;
/** Keywords whose value is data, not a schema: copied as they are. */
const VALUE_KEYWORDS = new Set(['const', 'enum', 'default', 'examples', 'example']);
/** fast-json-stringify writes Date objects under these formats; a union of them must stay as written. */
const DATE_FORMATS = new Set(['date-time', 'date', 'time']);
const isStringList = (values: unknown) => Array.isArray(values) && values.every((value) => typeof value === 'string');
const isStringSchema = (schema: unknown) =>
  isSchemaObject(schema) &&
  !('anyOf' in schema || 'oneOf' in schema || 'allOf' in schema || '$ref' in schema) &&
  !DATE_FORMATS.has(schema.format as string) &&
  (schema.type === 'string' || (schema.type === undefined && (typeof schema.const === 'string' || isStringList(schema.enum))));

/**
 * The response schema as the serializer is given it. fast-json-stringify writes an `anyOf` by
 * running an Ajv validator on the value, branch after branch, on every response: a nullable field
 * (`Nullable(X)` is `anyOf: [X, null]`) costs a validation of the whole value, and a union of
 * literals a failed validation, with its error objects, per branch that does not match. Both have
 * forms it writes directly: `X` with `nullable: true`, and a plain string. The value written is the
 * same; the route's types already guarantee which branch it is. Only the serializer sees this copy:
 * request validation and the OpenAPI document keep the schemas as written.
 */
export function serializationSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(serializationSchema);
  if (!isSchemaObject(schema)) return schema;
  const copy: SchemaObject = {};
  for (const [keyword, value] of Object.entries(schema)) copy[keyword] = VALUE_KEYWORDS.has(keyword) ? value : serializationSchema(value);
  if (copy.type === undefined && isStringList(copy.enum)) copy.type = 'string';
  if (!Array.isArray(copy.anyOf)) return copy;
  const { anyOf, ...siblings } = copy;
  const branches = anyOf.filter((branch) => !isNullSchema(branch));
  const nullable = branches.length < anyOf.length ? { nullable: true } : {};
  const [only] = branches;
  if (branches.length === 1 && isSchemaObject(only) && !('$ref' in only) && !('anyOf' in only)) return { ...siblings, ...only, ...nullable };
  if (branches.length > 0 && branches.every(isStringSchema)) return { ...siblings, type: 'string', ...nullable };
  return copy;
}

export function createSerializerFactory(lazy: boolean): SerializerFactory {
  const buildDefault = SerializerSelector();
  return (externalSchemas, options) => {
    const shared = Object.fromEntries(Object.entries(externalSchemas ?? {}).map(([id, schema]) => [id, serializationSchema(schema)]));
    const build = buildDefault(shared, options);
    const compile: typeof build = (routeSchema) => build({ ...routeSchema, schema: serializationSchema(routeSchema.schema) });
    if (!lazy) return compile;
    return (routeSchema) => {
      let serialize: ((data: unknown) => string) | undefined;
      return (data: unknown) => (serialize ??= compile(routeSchema))(data);
    };
  };
}
