import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import { Type } from 'typebox';
import type { AuditTables } from '../../../core/audit/tables.js';
import { DateOnly, fromCents } from '../../../core/http/schemas.js';
import { CLAIM_STATUSES } from '../claims/schema.js';
import { checkDateOrder, dateRange, DateRangeQuery } from '../common.js';
import { ALLOWED, requireClinicRole } from '../roles.js';
import type { ClinicTables } from '../tables.js';
import { VISIT_STATUSES } from '../visits/schema.js';

const tags = ['clinic: reports'];

const countsOf = (statuses: readonly string[]) => Type.Object(Object.fromEntries(statuses.map((status) => [status, Type.Integer()])));

const Summary = Type.Object({
  from: DateOnly,
  to: DateOnly,
  patients_registered: Type.Integer(),
  visits: Type.Integer(),
  visits_by_status: countsOf(VISIT_STATUSES),
  revenue: Type.Number(),
  outstanding: Type.Number(),
  claims_by_status: countsOf(CLAIM_STATUSES),
  claims_amount: Type.Number(),
});

function zeroFilled(statuses: readonly string[], rows: Array<{ status: string; n: number | string | bigint }>): Record<string, number> {
  const counts = Object.fromEntries(statuses.map((status) => [status, 0])) as Record<string, number>;
  for (const row of rows) counts[row.status] = Number(row.n);
  return counts;
}

export async function reportRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const db = app.db.withTables<ClinicTables & AuditTables>();

  app.get(
    '/api/reports/summary',
    {
      onRequest: requireClinicRole(app, db, ALLOWED.reports),
      schema: { tags, summary: 'Clinic activity over a date range (default the last 30 days), aggregated in SQL', querystring: Type.Object(DateRangeQuery), response: { 200: Summary } },
    },
    async (request) => {
      const range = dateRange(request.query);
      checkDateOrder(range);
      const { start, end } = range;
      const count = sql<number>`count(*)`;
      const [patients, visits, revenue, outstanding, claims] = await Promise.all([
        // Archived records are left out: archiving is how a duplicate registration is removed.
        db.selectFrom('patients').select(count.as('n')).where('created_at', '>=', start).where('created_at', '<', end).where('archived_at', 'is', null).executeTakeFirstOrThrow(),
        db.selectFrom('visits').select(['status', count.as('n')]).where('created_at', '>=', start).where('created_at', '<', end).groupBy('status').execute(),
        db
          .selectFrom('clinic_payments')
          .select(sql<number>`coalesce(sum(amount), 0)`.as('cents'))
          .where('created_at', '>=', start)
          .where('created_at', '<', end)
          .executeTakeFirstOrThrow(),
        db
          .selectFrom('clinic_invoices')
          .select(sql<number>`coalesce(sum(total - amount_paid), 0)`.as('cents'))
          .where('created_at', '>=', start)
          .where('created_at', '<', end)
          .executeTakeFirstOrThrow(),
        db
          .selectFrom('sha_claims')
          .select(['status', count.as('n'), sql<number>`coalesce(sum(claim_amount), 0)`.as('cents')])
          .where('created_at', '>=', start)
          .where('created_at', '<', end)
          .groupBy('status')
          .execute(),
      ]);
      return {
        from: range.from,
        to: range.to,
        patients_registered: Number(patients.n),
        visits: visits.reduce((sum, row) => sum + Number(row.n), 0),
        visits_by_status: zeroFilled(VISIT_STATUSES, visits),
        revenue: fromCents(Number(revenue.cents)),
        outstanding: fromCents(Number(outstanding.cents)),
        claims_by_status: zeroFilled(CLAIM_STATUSES, claims),
        claims_amount: fromCents(claims.reduce((sum, row) => sum + Number(row.cents), 0)),
      };
    },
  );
}
