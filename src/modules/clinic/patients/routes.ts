import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { todayUtc } from '../../../core/db/columns.js';
import { isUniqueViolation } from '../../../core/db/errors.js';
import { badRequest, notFound } from '../../../core/http/errors.js';
import { IdParams, MessageBody } from '../../../core/http/schemas.js';
import { audit } from '../common.js';
import { ALLOWED, requireClinicRole } from '../roles.js';
import type { ClinicTables } from '../tables.js';
import type { AuditTables } from '../../../core/audit/tables.js';
import { recentVisits, toVisit } from '../visits/repo.js';
import { Visit } from '../visits/schema.js';
import * as repo from './repo.js';
import { CreatePatientBody, Patient, PatientList, PatientsQuery, UpdatePatientBody } from './schema.js';

const tags = ['clinic: patients'];
const RECENT_VISITS = 5;

const DuplicateBody = Type.Object({
  error: Type.String(),
  code: Type.String(),
  existing_id: Type.String({ description: 'The id of the patient already registered' }),
  existing_patient_id: Type.String({ description: 'The same id, under the name some clients use' }),
});

/** Thrown inside a transaction when the patient already exists; answered as 409 with the existing id. */
class DuplicatePatient extends Error {
  constructor(readonly existingId: string) {
    super('duplicate patient');
  }
}

/** Rules across fields, on the record as it would be stored (after merging an edit). */
function checkFields(fields: repo.PatientFields): void {
  if (fields.date_of_birth && (fields.date_of_birth > todayUtc() || fields.date_of_birth < '1900-01-01')) {
    throw badRequest('The date of birth must be a past date after 1900', 'VALIDATION_FAILED', [
      { field: 'date_of_birth', message: 'must not be in the future or before 1900' },
    ]);
  }
  if (fields.insurance_type === 'sha' && !fields.insurance_number) {
    throw badRequest('An SHA patient needs an insurance_number (the SHA number)', 'VALIDATION_FAILED', [
      { field: 'insurance_number', message: 'is required when insurance_type is sha' },
    ]);
  }
}

export async function patientRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const db = app.db.withTables<ClinicTables & AuditTables>();
  const guard = (allowed: Parameters<typeof requireClinicRole>[2]) => requireClinicRole(app, db, allowed);

  const duplicateReply = (existingId: string) => ({
    error: 'This patient is already registered',
    code: 'DUPLICATE_PATIENT',
    existing_id: existingId,
    existing_patient_id: existingId,
  });

  app.get(
    '/api/patients',
    {
      onRequest: guard(ALLOWED.readPatients),
      schema: {
        tags,
        summary: 'List and search patients (names, phone, OP number, national id, insurance number); limit default 50, max 200',
        querystring: PatientsQuery,
        response: { 200: PatientList },
      },
    },
    async (request) => {
      const { rows, total } = await repo.listPatients(db, request.query);
      const { limit, offset } = request.query;
      const on = todayUtc(); // once per page: ages are as of the same day for every row
      return { patients: rows.map((row) => repo.toPatient(row, on)), pagination: { limit, offset, total } };
    },
  );

  app.post(
    '/api/patients',
    {
      onRequest: guard(ALLOWED.writePatients),
      schema: { tags, summary: 'Register a patient (OP number assigned)', body: CreatePatientBody, response: { 201: Patient, 409: DuplicateBody } },
    },
    async (request, reply) => {
      const fields = repo.fieldsFromBody(request.body);
      checkFields(fields);
      try {
        const row = await db.transaction().execute(async (trx) => {
          const existing = await repo.findDuplicate(trx, fields);
          if (existing) throw new DuplicatePatient(existing);
          const inserted = await repo.insertPatient(trx, fields, request.user.id);
          await audit(trx, request, 'create', 'patient', inserted.id, { op_number: inserted.op_number });
          return inserted;
        });
        return reply.code(201).send(repo.toPatient(row));
      } catch (error) {
        if (error instanceof DuplicatePatient) return reply.code(409).send(duplicateReply(error.existingId));
        // A concurrent registration of the same person won the unique index: answer as if we had seen it.
        if (isUniqueViolation(error)) {
          const existing = await repo.findDuplicate(db, fields);
          if (existing) return reply.code(409).send(duplicateReply(existing));
        }
        throw error;
      }
    },
  );

  app.get(
    '/api/patients/:id',
    {
      onRequest: guard(ALLOWED.readPatients),
      schema: { tags, summary: 'One patient with the last 5 visits (the read is audited)', params: IdParams, response: { 200: Type.Object({ patient: Patient, recent_visits: Type.Array(Visit) }) } },
    },
    async (request) => {
      const found = await db.transaction().execute(async (trx) => {
        const patient = await repo.findPatient(trx, request.params.id);
        if (!patient) return null;
        const visits = await recentVisits(trx, patient.id, RECENT_VISITS);
        await audit(trx, request, 'read', 'patient', patient.id);
        return { patient: repo.toPatient(patient), recent_visits: visits.map(toVisit) };
      });
      if (!found) throw notFound('Patient');
      return found;
    },
  );

  app.put(
    '/api/patients/:id',
    {
      onRequest: guard(ALLOWED.writePatients),
      schema: { tags, summary: 'Edit a patient (partial)', params: IdParams, body: UpdatePatientBody, response: { 200: Patient, 409: DuplicateBody } },
    },
    async (request, reply) => {
      const { id } = request.params;
      let fields: repo.PatientFields | undefined;
      try {
        const row = await db.transaction().execute(async (trx) => {
          const current = await repo.findPatient(trx, id);
          if (!current) throw notFound('Patient');
          const stored = repo.pickFields(current);
          const merged = repo.mergeFields(stored, request.body);
          fields = merged;
          checkFields(merged);
          const changed = (Object.keys(request.body) as Array<keyof repo.PatientFields>).filter((field) => merged[field] !== stored[field]);
          // The same values again: no write, no audit entry, same updated_at.
          if (changed.length === 0) return current;
          const existing = await repo.findDuplicate(trx, merged, id);
          if (existing) throw new DuplicatePatient(existing);
          const updated = await repo.updatePatient(trx, id, merged);
          if (!updated) throw notFound('Patient');
          await audit(trx, request, 'update', 'patient', id, { fields: changed });
          return updated;
        });
        return repo.toPatient(row);
      } catch (error) {
        if (error instanceof DuplicatePatient) return reply.code(409).send(duplicateReply(error.existingId));
        if (isUniqueViolation(error) && fields) {
          const existing = await repo.findDuplicate(db, fields, id);
          if (existing) return reply.code(409).send(duplicateReply(existing));
        }
        throw error;
      }
    },
  );

  app.delete(
    '/api/patients/:id',
    {
      onRequest: guard(ALLOWED.archivePatients),
      schema: { tags, summary: 'Archive a patient: kept with its records, no longer listed', params: IdParams, response: { 200: MessageBody } },
    },
    async (request) => {
      const archived = await db.transaction().execute(async (trx) => {
        if (!(await repo.archivePatient(trx, request.params.id))) return false;
        await audit(trx, request, 'delete', 'patient', request.params.id, { archived: true });
        return true;
      });
      if (!archived) throw notFound('Patient');
      return { message: 'Patient archived' };
    },
  );
}
