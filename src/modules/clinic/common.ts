import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Transaction } from 'kysely';
import { Type, type TNumberOptions } from 'typebox';
import { appendAudit } from '../../core/audit/repo.js';
import type { CoreTables } from '../../core/db/tables.js';
import { nextSequenceValue } from '../../core/db/sequences.js';
import { badRequest } from '../../core/http/errors.js';
import { DateOnly } from '../../core/http/schemas.js';
import type { ClinicDb } from './tables.js';

export type Trx = Transaction<ClinicDb>;

export const AUDIT_ACTIONS = ['create', 'read', 'update', 'delete', 'status'] as const;
export const AUDIT_RESOURCES = ['patient', 'visit', 'invoice', 'payment', 'claim', 'staff'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export type AuditResource = (typeof AUDIT_RESOURCES)[number];

/** Records a clinic action in the audit chain, inside the transaction of the change. */
export function audit(
  trx: Trx,
  request: FastifyRequest,
  action: AuditAction,
  resource: AuditResource,
  resourceId: string,
  details: Record<string, unknown> = {},
): Promise<unknown> {
  return appendAudit(trx, { userId: request.user.id, action, resource, resourceId, ip: request.ip, details });
}

/** The most any clinic amount may be, in KES: a price, a payment, a line, an invoice or claim total. */
export const MONEY_MAX = 100_000_000;
export const MONEY_MAX_CENTS = MONEY_MAX * 100;

/** Marks a money field in a body schema, for `moneyPrecision` (ajv ignores the keyword). */
const MONEY_KEYWORD = 'x-money';

/** An amount of money in the currency unit (KES): at most two decimals, which `moneyPrecision` checks. */
export const MoneyOf = (options: TNumberOptions = {}) =>
  Type.Number({ minimum: 0, maximum: MONEY_MAX, description: 'KES, at most two decimals', ...options, [MONEY_KEYWORD]: true });
export const Money = MoneyOf();

/**
 * Whether an amount is whole cents. JSON `10.99` is the double nearest 10.99, and whole cents / 100
 * (division is correctly rounded) is that same double, so the comparison is exact: no tolerance, and
 * `50.004` or `1e-7` are refused. (ajv's `multipleOf: 0.01` refuses 0.07 and one amount in six.)
 */
export const isWholeCents = (amount: number): boolean => Math.round(amount * 100) / 100 === amount;

type SchemaNode = { [keyword: string]: unknown };
const isNode = (value: unknown): value is SchemaNode => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The paths of the money fields of a schema, `*` standing for any array index. */
function moneyPaths(schema: unknown, path: string[] = []): string[][] {
  if (!isNode(schema)) return [];
  if (schema[MONEY_KEYWORD] === true) return [path];
  const paths: string[][] = [];
  if (isNode(schema.properties)) {
    for (const [name, property] of Object.entries(schema.properties)) paths.push(...moneyPaths(property, [...path, name]));
  }
  if (isNode(schema.items)) paths.push(...moneyPaths(schema.items, [...path, '*']));
  for (const branch of [schema.anyOf, schema.oneOf, schema.allOf].flat()) paths.push(...moneyPaths(branch, path));
  const seen = new Set<string>();
  return paths.filter((found) => !seen.has(found.join('.')) && seen.add(found.join('.')));
}

function collectCents(value: unknown, path: string[], at: string[], problems: Array<{ field: string; message: string }>): void {
  if (path.length === 0) {
    if (typeof value === 'number' && !isWholeCents(value)) problems.push({ field: at.join('.'), message: 'must have at most two decimal places (whole cents)' });
    return;
  }
  const [step, ...rest] = path as [string, ...string[]];
  if (step === '*') {
    if (Array.isArray(value)) value.forEach((item, index) => collectCents(item, rest, [...at, String(index)], problems));
  } else if (isNode(value)) {
    collectCents(value[step], rest, [...at, step], problems);
  }
}

/**
 * A preHandler for a route whose body has `Money` fields: 400 VALIDATION_FAILED, one detail per field,
 * when an amount has more than two decimals (instead of silently rounding it to the cent). It runs
 * after schema validation, so types and ranges are already right.
 */
export function moneyPrecision(bodySchema: unknown): preHandlerAsyncHookHandler {
  const paths = moneyPaths(bodySchema);
  return async function moneyPrecisionCheck(request) {
    const problems: Array<{ field: string; message: string }> = [];
    for (const path of paths) collectCents(request.body, path, [], problems);
    const [first] = problems;
    if (first) throw badRequest(`Invalid body: ${first.field} ${first.message}`, 'VALIDATION_FAILED', problems);
  };
}

export const DateRangeQuery = {
  from: Type.Optional(DateOnly),
  to: Type.Optional(DateOnly),
};

/** Today in UTC, `YYYY-MM-DD`: the clinic day (see docs/modules/clinic.md). */
export const today = (): string => new Date().toISOString().slice(0, 10);

export function addDays(date: string, days: number): string {
  const value = new Date(`${date}T00:00:00.000Z`);
  value.setUTCDate(value.getUTCDate() + days);
  return value.toISOString().slice(0, 10);
}

/** 400 for a range that ends before it starts: it could only ever match nothing. */
export const fromAfterTo = () => badRequest('from must not be after to', 'VALIDATION_FAILED', [{ field: 'from', message: 'must not be after to' }]);

/** Throws `fromAfterTo` when both dates (`YYYY-MM-DD`) are given and `from` is the later one. */
export function checkDateOrder(query: { from?: string; to?: string }): void {
  if (query.from !== undefined && query.to !== undefined && query.from > query.to) throw fromAfterTo();
}

/** `[from, to]` dates -> the `[start, end)` timestamps to compare `created_at` with; default the last 30 days. */
export function dateRange(query: { from?: string; to?: string }): { from: string; to: string; start: string; end: string } {
  const to = query.to ?? today();
  const from = query.from ?? addDays(to, -29);
  return { from, to, start: `${from}T00:00:00.000Z`, end: `${addDays(to, 1)}T00:00:00.000Z` };
}


/**
 * `nextSequenceValue` on the clinic's transaction. Kysely's database types are invariant, so the
 * wider transaction is narrowed to the core tables the counter lives in.
 */
export const nextNumber = (trx: Trx, scope: string): Promise<number> => nextSequenceValue(trx as unknown as Transaction<CoreTables>, scope);
