import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditTables } from '../../../core/audit/tables.js';
import { badRequest, conflict, invalidField, invalidReference, notFound } from '../../../core/http/errors.js';
import { fromCents, IdParams, MessageBody, toCents } from '../../../core/http/schemas.js';
import { afterDay } from '../../../core/db/columns.js';
import { audit, checkDateOrder, type Trx } from '../common.js';
import { findPatient } from '../patients/repo.js';
import { ALLOWED, requireClinicRole } from '../roles.js';
import type { ClinicTables } from '../tables.js';
import type { Diagnosis } from '../visits/schema.js';
import { claimBundle } from './fhir.js';
import * as repo from './repo.js';
import { claimAmount, claimAmountProblem, claimItems, canMoveClaim, nextClaimStatuses, readinessProblems, statusAmounts, type ClaimItemCents } from './rules.js';
import { Claim, ClaimList, ClaimsQuery, ClaimStatusBody, CreateClaimBody, UpdateClaimBody, type ClaimStatus, type StatusHistoryEntry } from './schema.js';

const tags = ['clinic: SHA claims'];

type ItemBody = { intervention_code: string; description: string; quantity?: number; unit_price: number };
/** The items in cents; 400 when a line or the claim would exceed the money maximum. */
function itemsFromBody(items: ItemBody[]): ClaimItemCents[] {
  const cents = claimItems(items.map((item) => ({ ...item, unit_price_cents: toCents(item.unit_price) })));
  const problem = claimAmountProblem(cents);
  if (problem) throw invalidField(problem.field, problem.message);
  return cents;
}
const diagnosesFromBody = (diagnoses: Array<{ code: string; description: string }>) =>
  diagnoses.map((diagnosis) => ({ code: diagnosis.code, description: diagnosis.description.trim() }));

/** A claim's visit must be one of the claim patient's visits. */
async function checkVisit(trx: Trx, visitId: string, patientId: string) {
  const visit = await trx.selectFrom('visits').select(['id', 'diagnoses', 'created_at', 'completed_at']).where('id', '=', visitId).where('patient_id', '=', patientId).executeTakeFirst();
  if (!visit) throw invalidReference('visit_id', 'Visit');
  return visit;
}

const FhirBundle = Type.Object(
  { resourceType: Type.Literal('Bundle'), id: Type.String(), type: Type.Literal('message'), timestamp: Type.String(), entry: Type.Array(Type.Object({}, { additionalProperties: true })) },
  { additionalProperties: true, description: 'A FHIR R4 message Bundle' },
);

export async function claimRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const db = app.db.withTables<ClinicTables & AuditTables>();
  const onRequest = requireClinicRole(app, db, ALLOWED.claims);
  const facility = { name: app.config.facilityName, code: app.config.facilityCode };

  app.post(
    '/api/sha/claims',
    { onRequest, schema: { tags, summary: 'Draft an SHA claim (diagnoses default to the visit\'s)', body: CreateClaimBody, response: { 201: Claim } } },
    async (request, reply) => {
      const body = request.body;
      const items = itemsFromBody(body.items ?? []);
      const row = await db.transaction().execute(async (trx) => {
        if (!(await findPatient(trx, body.patient_id))) throw invalidReference('patient_id', 'Patient');
        let diagnoses = body.diagnoses ? diagnosesFromBody(body.diagnoses) : [];
        if (body.visit_id) {
          const visit = await checkVisit(trx, body.visit_id, body.patient_id);
          if (!body.diagnoses) {
            // The visit's primary diagnosis first: a claim's first diagnosis is its primary one.
            const fromVisit = (JSON.parse(visit.diagnoses) as Diagnosis[]).sort((a, b) => Number(b.primary) - Number(a.primary));
            diagnoses = fromVisit.map(({ code, description }) => ({ code, description }));
          }
        }
        const claim = await repo.insertClaim(
          trx,
          { patient_id: body.patient_id, visit_id: body.visit_id ?? null, diagnoses, items, claim_amount: claimAmount(items), notes: body.notes?.trim() || null },
          request.user.id,
        );
        await audit(trx, request, 'create', 'claim', claim.id, { claim_number: claim.claim_number, claim_amount: fromCents(Number(claim.claim_amount)) });
        return claim;
      });
      return reply.code(201).send(repo.toClaim(row));
    },
  );

  app.get(
    '/api/sha/claims',
    { onRequest, schema: { tags, summary: 'List claims, newest first; limit default 50, max 200', querystring: ClaimsQuery, response: { 200: ClaimList } } },
    async (request) => {
      const { from, to, limit, offset, status, patient_id } = request.query;
      checkDateOrder(request.query);
      const { rows, total } = await repo.listClaims(db, {
        status,
        patient_id,
        start: from ? `${from}T00:00:00.000Z` : undefined,
        end: to ? afterDay(to) : undefined,
        limit,
        offset,
      });
      return { claims: rows.map(repo.toClaim), pagination: { limit, offset, total } };
    },
  );

  app.get('/api/sha/claims/:id', { onRequest, schema: { tags, summary: 'One claim', params: IdParams, response: { 200: Claim } } }, async (request) => {
    const claim = await repo.findClaim(db, request.params.id);
    if (!claim) throw notFound('Claim');
    return repo.toClaim(claim);
  });

  app.put(
    '/api/sha/claims/:id',
    { onRequest, schema: { tags, summary: 'Edit a draft claim (409 once it has left draft)', params: IdParams, body: UpdateClaimBody, response: { 200: Claim } } },
    async (request) => {
      const body = request.body;
      const row = await db.transaction().execute(async (trx) => {
        const claim = await repo.findClaim(trx, request.params.id);
        if (!claim) throw notFound('Claim');
        if (claim.status !== 'draft') throw conflict(`A ${claim.status} claim cannot be edited; only drafts can`, 'CLAIM_NOT_EDITABLE');
        if (body.visit_id) await checkVisit(trx, body.visit_id, claim.patient_id);
        const items = body.items ? itemsFromBody(body.items) : undefined;
        const diagnoses = body.diagnoses ? JSON.stringify(diagnosesFromBody(body.diagnoses)) : undefined;
        const notes = body.notes === undefined ? undefined : body.notes?.trim() || null;
        const changes = {
          ...(body.visit_id !== undefined && body.visit_id !== claim.visit_id ? { visit_id: body.visit_id } : {}),
          ...(diagnoses !== undefined && diagnoses !== claim.diagnoses ? { diagnoses } : {}),
          ...(items && JSON.stringify(items) !== claim.items ? { items: JSON.stringify(items), claim_amount: claimAmount(items) } : {}),
          ...(notes !== undefined && notes !== claim.notes ? { notes } : {}),
        };
        const fields = Object.keys(changes).filter((field) => field !== 'claim_amount');
        // The same values again: no write, no audit entry, same updated_at.
        if (fields.length === 0) return claim;
        const updated = await repo.updateClaimIfStatus(trx, claim.id, 'draft', changes);
        if (!updated) throw conflict('The claim left draft meanwhile', 'CLAIM_NOT_EDITABLE');
        await audit(trx, request, 'update', 'claim', claim.id, { fields });
        return updated;
      });
      return repo.toClaim(row);
    },
  );

  app.patch(
    '/api/sha/claims/:id/status',
    {
      onRequest,
      schema: { tags, summary: 'Move a claim: draft, ready_to_submit, submitted, approved/rejected, paid/partially_paid', params: IdParams, body: ClaimStatusBody, response: { 200: Claim } },
    },
    async (request) => {
      const body = request.body;
      const to = body.status as ClaimStatus;
      // On PostgreSQL (READ COMMITTED) the claim, and for the readiness check its patient, are locked
      // until commit: an edit committed between the check and the move made a claim with no items
      // ready to submit. SQLite transactions already hold the write lock.
      const postgres = app.database.dialect === 'postgres';
      const row = await db.transaction().execute(async (trx) => {
        const claim = await repo.findClaim(trx, request.params.id, postgres);
        if (!claim) throw notFound('Claim');
        const from = claim.status as ClaimStatus;
        if (!canMoveClaim(from, to)) {
          const next = nextClaimStatuses(from);
          throw conflict(`A ${from} claim cannot move to ${to}${next.length ? `; allowed: ${next.join(', ')}` : ' (it is final)'}`, 'INVALID_STATUS_TRANSITION');
        }
        if (to === 'ready_to_submit') {
          const read = trx.selectFrom('patients').select(['insurance_type', 'insurance_number', 'archived_at']).where('id', '=', claim.patient_id);
          const patient = await (postgres ? read.forShare() : read).executeTakeFirstOrThrow();
          const problems = readinessProblems({
            patient,
            diagnoses: JSON.parse(claim.diagnoses) as unknown[],
            items: JSON.parse(claim.items) as unknown[],
            claim_amount: Number(claim.claim_amount),
          });
          if (problems.length > 0) throw badRequest(`The claim is not ready to submit: ${problems.map((p) => p.message).join('; ')}`, 'CLAIM_NOT_READY', problems);
        }
        const amounts = statusAmounts(
          to,
          { claim_amount: Number(claim.claim_amount), approved_amount: claim.approved_amount === null ? null : Number(claim.approved_amount) },
          {
            approved_amount: body.approved_amount === undefined ? undefined : toCents(body.approved_amount),
            paid_amount: body.paid_amount === undefined ? undefined : toCents(body.paid_amount),
          },
        );
        if ('field' in amounts) throw badRequest(`Invalid ${amounts.field}: ${amounts.message}`, 'VALIDATION_FAILED', [amounts]);
        const reason = body.reason?.trim() || null;
        const history = JSON.parse(claim.status_history) as StatusHistoryEntry[];
        history.push({ status: to, at: new Date().toISOString(), by: request.user.id, reason });
        const updated = await repo.updateClaimIfStatus(trx, claim.id, from, {
          status: to,
          status_history: JSON.stringify(history),
          ...(to === 'rejected' ? { rejection_reason: reason } : {}),
          ...(to === 'approved' ? { rejection_reason: null } : {}),
          ...amounts,
        });
        if (!updated) throw conflict('The claim changed meanwhile; reload it and try again', 'INVALID_STATUS_TRANSITION');
        // Amounts in the audit log are in KES, as the API shows them, not the stored cents.
        const shown = Object.fromEntries(Object.entries(amounts).map(([field, cents]) => [field, fromCents(cents)]));
        await audit(trx, request, 'status', 'claim', claim.id, { from, to, ...shown });
        return updated;
      });
      return repo.toClaim(row);
    },
  );

  app.delete(
    '/api/sha/claims/:id',
    { onRequest: requireClinicRole(app, db, ALLOWED.deleteClaims), schema: { tags, summary: 'Delete a draft claim (admin)', params: IdParams, response: { 200: MessageBody } } },
    async (request) => {
      await db.transaction().execute(async (trx) => {
        const claim = await repo.findClaim(trx, request.params.id);
        if (!claim) throw notFound('Claim');
        const notDeletable = (status: string) => conflict(`A ${status} claim cannot be deleted; only drafts can`, 'CLAIM_NOT_DELETABLE');
        if (claim.status !== 'draft') throw notDeletable(claim.status);
        if (!(await repo.deleteDraft(trx, claim.id))) {
          // Changed since it was read (PostgreSQL, READ COMMITTED): deleted by a concurrent request, or moved on.
          const current = await repo.findClaim(trx, claim.id);
          throw current ? notDeletable(current.status) : notFound('Claim');
        }
        await audit(trx, request, 'delete', 'claim', claim.id, { claim_number: claim.claim_number });
      });
      return { message: 'Claim deleted' };
    },
  );

  app.get(
    '/api/sha/claims/:id/fhir',
    { onRequest, schema: { tags, summary: 'The claim as a FHIR R4 message Bundle for SHA (the read is audited)', params: IdParams, response: { 200: FhirBundle } } },
    async (request, reply) => {
      const bundle = await db.transaction().execute(async (trx) => {
        const claim = await repo.findClaim(trx, request.params.id);
        if (!claim) throw notFound('Claim');
        const patient = await trx.selectFrom('patients').selectAll().where('id', '=', claim.patient_id).executeTakeFirstOrThrow();
        const visit = claim.visit_id
          ? await trx.selectFrom('visits').select(['created_at', 'completed_at']).where('id', '=', claim.visit_id).executeTakeFirst()
          : undefined;
        const start = visit?.created_at ?? claim.created_at;
        const view = repo.toClaim(claim);
        await audit(trx, request, 'read', 'claim', claim.id, { format: 'fhir', patient_id: patient.id });
        return claimBundle({
          facility,
          claim: { ...view, claim_amount: fromCents(Number(claim.claim_amount)) },
          patient,
          billablePeriod: { start, end: visit?.completed_at ?? start },
        });
      });
      return reply.type('application/fhir+json; charset=utf-8').send(bundle);
    },
  );
}
