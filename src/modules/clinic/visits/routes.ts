import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditTables } from '../../../core/audit/tables.js';
import { isUniqueViolation } from '../../../core/db/errors.js';
import { badRequest, conflict, invalidReference, notFound } from '../../../core/http/errors.js';
import { IdParams } from '../../../core/http/schemas.js';
import { audit } from '../common.js';
import { findPatient, toPatient } from '../patients/repo.js';
import { identification, VisitPatient } from '../patients/schema.js';
import { ALLOWED, mayReadPatients, requireClinicRole } from '../roles.js';
import type { ClinicTables } from '../tables.js';
import * as repo from './repo.js';
import { allowedMoves, canMove, isOpen, mergeVitals, normaliseDiagnoses, visitChanges } from './rules.js';
import { CreateVisitBody, QueueEntry, StatusBody, UpdateVisitBody, Visit, VisitList, VisitsQuery, VISIT_STATUSES, type VisitStatus } from './schema.js';

const tags = ['clinic: visits'];

const openVisitConflict = () => conflict('This patient already has an open visit today', 'VISIT_ALREADY_OPEN');

export async function visitRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const db = app.db.withTables<ClinicTables & AuditTables>();
  const guard = (allowed: Parameters<typeof requireClinicRole>[2]) => requireClinicRole(app, db, allowed);

  app.get(
    '/api/visits',
    {
      onRequest: guard(ALLOWED.readVisits),
      schema: { tags, summary: 'List visits, newest first; limit default 50, max 200', querystring: VisitsQuery, response: { 200: VisitList } },
    },
    async (request) => {
      const { rows, total } = await repo.listVisits(db, request.query);
      const { limit, offset } = request.query;
      return { visits: rows.map(repo.toVisit), pagination: { limit, offset, total } };
    },
  );

  app.get(
    '/api/visits/queue',
    {
      onRequest: guard(ALLOWED.readVisits),
      schema: {
        tags,
        summary: `Today's open visits: emergency, urgent, then normal, oldest first within each (at most ${repo.QUEUE_LIMIT})`,
        response: {
          200: Type.Object({
            queue: Type.Array(QueueEntry),
            counts: Type.Object(Object.fromEntries(VISIT_STATUSES.map((status) => [status, Type.Integer()]))),
          }),
        },
      },
    },
    async () => repo.queue(db),
  );

  app.post(
    '/api/visits',
    {
      onRequest: guard(ALLOWED.writeVisits),
      schema: { tags, summary: 'Open a visit (one open visit per patient per day)', body: CreateVisitBody, response: { 201: Visit } },
    },
    async (request, reply) => {
      const body = request.body;
      try {
        const row = await db.transaction().execute(async (trx) => {
          if (!(await findPatient(trx, body.patient_id))) throw invalidReference('patient_id', 'Patient');
          if (await repo.findOpenVisitToday(trx, body.patient_id)) throw openVisitConflict();
          const visit = await repo.insertVisit(
            trx,
            { patient_id: body.patient_id, chief_complaint: body.chief_complaint?.trim() || null, triage_category: body.triage_category ?? 'normal' },
            request.user.id,
          );
          await audit(trx, request, 'create', 'visit', visit.id, { patient_id: visit.patient_id, visit_number: visit.visit_number });
          return visit;
        });
        return reply.code(201).send(repo.toVisit(row));
      } catch (error) {
        // Two desks opening a visit for the same patient at once: the partial unique index decides.
        if (isUniqueViolation(error)) throw openVisitConflict();
        throw error;
      }
    },
  );

  app.get(
    '/api/visits/:id',
    {
      onRequest: guard(ALLOWED.readVisits),
      schema: {
        tags,
        summary: 'One visit with its patient (the read is audited); the pharmacist and the lab technician see only who the patient is',
        params: IdParams,
        response: { 200: Type.Object({ visit: Visit, patient: VisitPatient }) },
      },
    },
    async (request) => {
      const fullPatient = mayReadPatients(request.clinicRoles);
      const found = await db.transaction().execute(async (trx) => {
        const visit = await repo.findVisit(trx, request.params.id);
        if (!visit) return null;
        // Archived patients keep their visits: read the row whatever its archive state.
        const patient = await trx.selectFrom('patients').selectAll().where('id', '=', visit.patient_id).executeTakeFirstOrThrow();
        await audit(trx, request, 'read', 'visit', visit.id, { patient_id: visit.patient_id });
        const view = toPatient(patient);
        return { visit: repo.toVisit(visit), patient: fullPatient ? view : identification(view) };
      });
      if (!found) throw notFound('Visit');
      return found;
    },
  );

  app.patch(
    '/api/visits/:id/status',
    {
      onRequest: guard(ALLOWED.writeVisits),
      schema: { tags, summary: 'Move a visit along its status flow (409 for any other move)', params: IdParams, body: StatusBody, response: { 200: Visit } },
    },
    async (request) => {
      const to = request.body.status as VisitStatus;
      const row = await db.transaction().execute(async (trx) => {
        const visit = await repo.findVisit(trx, request.params.id);
        if (!visit) throw notFound('Visit');
        const from = visit.status as VisitStatus;
        if (!canMove(from, to)) {
          const next = allowedMoves(from);
          throw conflict(`A ${from} visit cannot move to ${to}${next.length ? `; allowed: ${next.join(', ')}` : ' (it is closed)'}`, 'INVALID_STATUS_TRANSITION');
        }
        const updated = await repo.setStatus(trx, visit.id, from, to);
        if (!updated) throw conflict('The visit changed meanwhile; reload it and try again', 'INVALID_STATUS_TRANSITION');
        await audit(trx, request, 'status', 'visit', visit.id, { from, to });
        return updated;
      });
      return repo.toVisit(row);
    },
  );

  app.put(
    '/api/visits/:id',
    {
      onRequest: guard(ALLOWED.clinicalRecords),
      schema: { tags, summary: 'Record vitals, diagnoses (ICD-11), notes or triage of an open visit', params: IdParams, body: UpdateVisitBody, response: { 200: Visit } },
    },
    async (request) => {
      const body = request.body;
      const diagnoses = body.diagnoses ? normaliseDiagnoses(body.diagnoses) : undefined;
      if (diagnoses === null) {
        throw badRequest('Only one diagnosis can be primary', 'VALIDATION_FAILED', [{ field: 'diagnoses', message: 'at most one diagnosis may be primary' }]);
      }
      const row = await db.transaction().execute(async (trx) => {
        const visit = await repo.findVisit(trx, request.params.id);
        if (!visit) throw notFound('Visit');
        if (!isOpen(visit.status as VisitStatus)) throw conflict(`A ${visit.status} visit can no longer be edited`, 'VISIT_CLOSED');
        const current = repo.toVisit(visit);
        let vitals;
        if (body.vitals) {
          const merged = mergeVitals(current.vitals, body.vitals);
          if (merged.problem) throw badRequest(`Invalid vitals: ${merged.problem.field} ${merged.problem.message}`, 'VALIDATION_FAILED', [merged.problem]);
          vitals = merged.vitals;
        }
        const changes = visitChanges(current, {
          vitals,
          diagnoses,
          // Free text: trimmed, and blank means none (null), as when the visit is opened.
          notes: body.notes === undefined ? undefined : body.notes?.trim() || null,
          triage_category: body.triage_category,
          chief_complaint: body.chief_complaint === undefined ? undefined : body.chief_complaint?.trim() || null,
        });
        // Nothing would change (`{"vitals": {}}`, the same notes again): no write, no audit entry, same updated_at.
        if (Object.keys(changes).length === 0) return visit;
        const updated = await repo.updateVisit(trx, visit.id, changes);
        if (!updated) throw conflict('The visit was closed meanwhile', 'VISIT_CLOSED');
        await audit(trx, request, 'update', 'visit', visit.id, { fields: Object.keys(changes) });
        return updated;
      });
      return repo.toVisit(row);
    },
  );
}
