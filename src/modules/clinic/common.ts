import type { FastifyRequest } from 'fastify';
import type { Transaction } from 'kysely';
import { Type } from 'typebox';
import { appendAudit } from '../../core/audit/repo.js';
import type { CoreTables } from '../../core/db/tables.js';
import { nextSequenceValue } from '../../core/db/sequences.js';
import { DateOnly } from '../../core/http/schemas.js';
import type { ClinicDb } from './tables.js';

export type Trx = Transaction<ClinicDb>;

export type AuditAction = 'create' | 'read' | 'update' | 'delete' | 'status';
export type AuditResource = 'patient' | 'visit' | 'invoice' | 'payment' | 'claim' | 'staff';

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

/** An amount of money in the currency unit (KES), two decimals at most in practice. */
export const Money = Type.Number({ minimum: 0, maximum: 100_000_000 });

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
