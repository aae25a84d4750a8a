import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditCsvStream, endBound, listAudit, startBound, verifyAudit } from '../../../core/audit/repo.js';
import type { AuditTables } from '../../../core/audit/tables.js';
import { DateOnly, Nullable, Pagination, PagingQuery, Timestamp, Uuid } from '../../../core/http/schemas.js';
import { AUDIT_ACTIONS, AUDIT_RESOURCES, fromAfterTo } from '../common.js';
import { ALLOWED, requireClinicRole } from '../roles.js';
import type { ClinicTables } from '../tables.js';

const tags = ['clinic: audit'];
const When = Type.Union([DateOnly, Timestamp], { description: 'A date (the whole day) or an ISO timestamp' });

const AuditEntry = Type.Object({
  id: Uuid,
  at: Timestamp,
  user_id: Nullable(Type.String()),
  action: Type.String(),
  resource: Type.String(),
  resource_id: Nullable(Type.String()),
  ip: Nullable(Type.String()),
  details: Type.Object({}, { additionalProperties: true }),
  prev_hash: Type.String(),
  hash: Type.String(),
});

const Filter = {
  user_id: Type.Optional(Uuid),
  action: Type.Optional(Type.Enum([...AUDIT_ACTIONS])),
  resource: Type.Optional(Type.Enum([...AUDIT_RESOURCES], { description: 'The singular name of the resource' })),
  resource_id: Type.Optional(Type.String({ maxLength: 100 })),
  from: Type.Optional(When),
  to: Type.Optional(When),
};

/** `from` and `to` are inclusive (a date is its whole day): a range that ends before it starts is 400. */
function checkOrder(query: { from?: string; to?: string }): void {
  if (query.from !== undefined && query.to !== undefined && startBound(query.from) >= endBound(query.to)) throw fromAfterTo();
}

export async function auditRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const db = app.db.withTables<ClinicTables & AuditTables>();
  const onRequest = requireClinicRole(app, db, ALLOWED.staffAdmin);

  app.get(
    '/api/audit',
    {
      onRequest,
      schema: { tags, summary: 'The audit log, newest first; limit default 50, max 200', querystring: Type.Object({ ...PagingQuery(50, 200), ...Filter }), response: { 200: Type.Object({ entries: Type.Array(AuditEntry), pagination: Pagination }) } },
    },
    async (request) => {
      const { limit, offset, ...filter } = request.query;
      checkOrder(filter);
      const { entries, total } = await listAudit(db, filter, { limit, offset });
      return { entries, pagination: { limit, offset, total } };
    },
  );

  app.get(
    '/api/audit/verify',
    {
      onRequest,
      schema: { tags, summary: 'Recompute the hash chain: any edited or deleted entry is found', response: { 200: Type.Object({ ok: Type.Boolean(), checked: Type.Integer(), first_bad_id: Nullable(Type.String()) }) } },
    },
    async () => verifyAudit(db),
  );

  app.get(
    '/api/audit/export.csv',
    {
      onRequest,
      schema: {
        tags,
        summary: 'The filtered log as CSV, oldest first, streamed',
        querystring: Type.Object(Filter),
        produces: ['text/csv'],
        // A stream is sent as it is; the schema only documents the body in /openapi.json.
        response: { 200: Type.Unsafe<Readable>({ type: 'string', description: 'text/csv' }) },
      },
    },
    async (request, reply) => {
      checkOrder(request.query);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="audit-log.csv"')
        .send(auditCsvStream(db, request.query));
    },
  );
}
