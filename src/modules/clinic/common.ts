import type { FastifyRequest } from 'fastify';
import type { Transaction } from 'kysely';
import { Type, type TNumberOptions } from 'typebox';
import { appendAudit } from '../../core/audit/repo.js';
import { addDays, afterDay, todayUtc } from '../../core/db/columns.js';
import type { CoreTables } from '../../core/db/tables.js';
import { nextSequenceValue } from '../../core/db/sequences.js';
import { badRequest } from '../../core/http/errors.js';
import { DateOnly, MoneyAmount } from '../../core/http/schemas.js';
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

/** An amount of money in KES: at most two decimals (core's `MoneyAmount`) and at most `MONEY_MAX`. */
export const MoneyOf = (options: TNumberOptions = {}) => MoneyAmount({ maximum: MONEY_MAX, description: 'KES, at most two decimals', ...options });
export const Money = MoneyOf();

export const DateRangeQuery = {
  from: Type.Optional(DateOnly),
  to: Type.Optional(DateOnly),
};

/** 400 for a range that ends before it starts: it could only ever match nothing. */
export const fromAfterTo = () => badRequest('from must not be after to', 'VALIDATION_FAILED', [{ field: 'from', message: 'must not be after to' }]);

/** Throws `fromAfterTo` when both dates (`YYYY-MM-DD`) are given and `from` is the later one. */
export function checkDateOrder(query: { from?: string; to?: string }): void {
  if (query.from !== undefined && query.to !== undefined && query.from > query.to) throw fromAfterTo();
}

/** `[from, to]` dates -> the `[start, end)` timestamps to compare `created_at` with; default the last 30 days. */
export function dateRange(query: { from?: string; to?: string }): { from: string; to: string; start: string; end: string } {
  const to = query.to ?? todayUtc();
  const from = query.from ?? addDays(to, -29);
  return { from, to, start: `${from}T00:00:00.000Z`, end: afterDay(to) };
}


/**
 * `nextSequenceValue` on the clinic's transaction. Kysely's database types are invariant, so the
 * wider transaction is narrowed to the core tables the counter lives in.
 */
export const nextNumber = (trx: Trx, scope: string): Promise<number> => nextSequenceValue(trx as unknown as Transaction<CoreTables>, scope);
