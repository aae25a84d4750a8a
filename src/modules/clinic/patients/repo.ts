import type { Kysely, Selectable } from 'kysely';
import { newId, now } from '../../../core/db/columns.js';
import { nextNumber, today, type Trx } from '../common.js';
import type { ClinicDb, PatientsTable } from '../tables.js';
import { ageOn, formatOpNumber, identityKey, prefixUpperBound, searchPrefixes, searchTerms } from './rules.js';
import type { CreatePatientBody, Patient, PatientsQuery, UpdatePatientBody } from './schema.js';

type Db = Kysely<ClinicDb> | Trx;
export type PatientRow = Selectable<PatientsTable>;

export function toPatient(row: PatientRow, on = today()): Patient {
  return {
    id: row.id,
    op_number: row.op_number,
    first_name: row.first_name,
    last_name: row.last_name,
    date_of_birth: row.date_of_birth,
    age: ageOn(row.date_of_birth, on),
    gender: row.gender as Patient['gender'],
    phone_number: row.phone_number,
    national_id: row.national_id,
    area: row.area,
    next_of_kin: row.next_of_kin,
    next_of_kin_phone: row.next_of_kin_phone,
    insurance_type: row.insurance_type as Patient['insurance_type'],
    insurance_number: row.insurance_number,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** The columns a patient is written with, normalised (trimmed, national id upper-cased). */
export type PatientFields = Omit<PatientRow, 'id' | 'op_number' | 'identity_key' | 'archived_at' | 'created_by' | 'created_at' | 'updated_at'>;

export function fieldsFromBody(body: CreatePatientBody): PatientFields {
  return {
    first_name: body.first_name.trim(),
    last_name: body.last_name.trim(),
    date_of_birth: body.date_of_birth ?? null,
    gender: body.gender,
    phone_number: body.phone_number?.trim() ?? null,
    national_id: body.national_id?.trim().toUpperCase() ?? null,
    area: body.area?.trim() ?? null,
    next_of_kin: body.next_of_kin?.trim() ?? null,
    next_of_kin_phone: body.next_of_kin_phone?.trim() ?? null,
    insurance_type: body.insurance_type ?? 'cash',
    insurance_number: body.insurance_number?.trim() ?? null,
  };
}

export function mergeFields(current: PatientFields, changes: UpdatePatientBody): PatientFields {
  const merged = { ...current };
  for (const [key, value] of Object.entries(changes) as Array<[keyof PatientFields, string | null | undefined]>) {
    if (value === undefined) continue;
    const text = typeof value === 'string' ? value.trim() : null;
    (merged as Record<string, string | null>)[key] = key === 'national_id' && text ? text.toUpperCase() : text;
  }
  return merged;
}

export const pickFields = (row: PatientRow): PatientFields => ({
  first_name: row.first_name,
  last_name: row.last_name,
  date_of_birth: row.date_of_birth,
  gender: row.gender,
  phone_number: row.phone_number,
  national_id: row.national_id,
  area: row.area,
  next_of_kin: row.next_of_kin,
  next_of_kin_phone: row.next_of_kin_phone,
  insurance_type: row.insurance_type,
  insurance_number: row.insurance_number,
});

/** An active patient that the given fields would duplicate (same national id, or same names + birth date + phone). */
export async function findDuplicate(db: Db, fields: PatientFields, exceptId?: string): Promise<string | undefined> {
  const key = identityKey(fields);
  if (!fields.national_id && !key) return undefined;
  let query = db
    .selectFrom('patients')
    .select('id')
    .where('archived_at', 'is', null)
    .where((eb) => {
      const rules = [];
      if (fields.national_id) rules.push(eb('national_id', '=', fields.national_id));
      if (key) rules.push(eb('identity_key', '=', key));
      return eb.or(rules);
    });
  if (exceptId) query = query.where('id', '!=', exceptId);
  return (await query.orderBy('id').limit(1).executeTakeFirst())?.id;
}

async function writeSearchTerms(trx: Trx, id: string, row: PatientRow): Promise<void> {
  await trx.deleteFrom('patient_search_terms').where('patient_id', '=', id).execute();
  const terms = searchTerms(row);
  if (terms.length > 0) await trx.insertInto('patient_search_terms').values(terms.map((term) => ({ term, patient_id: id }))).execute();
}

/** Registers a patient with the next OP number of the year, taken inside this transaction. */
export async function insertPatient(trx: Trx, fields: PatientFields, userId: string): Promise<PatientRow> {
  const at = now();
  const year = Number(at.slice(0, 4));
  const n = await nextNumber(trx, `clinic:op:${year}`);
  const row: PatientRow = {
    id: newId(),
    op_number: formatOpNumber(year, n),
    ...fields,
    identity_key: identityKey(fields),
    archived_at: null,
    created_by: userId,
    created_at: at,
    updated_at: at,
  };
  await trx.insertInto('patients').values(row).execute();
  await writeSearchTerms(trx, row.id, row);
  return row;
}

export async function findPatient(db: Db, id: string): Promise<PatientRow | undefined> {
  return db.selectFrom('patients').selectAll().where('id', '=', id).where('archived_at', 'is', null).executeTakeFirst();
}

export async function updatePatient(trx: Trx, id: string, fields: PatientFields): Promise<PatientRow | undefined> {
  const row = await trx
    .updateTable('patients')
    .set({ ...fields, identity_key: identityKey(fields), updated_at: now() })
    .where('id', '=', id)
    .where('archived_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (row) await writeSearchTerms(trx, id, row);
  return row;
}

/** Archived records stay in the database (visits, invoices and claims point at them) but leave search and lists. */
export async function archivePatient(trx: Trx, id: string): Promise<boolean> {
  const result = await trx.updateTable('patients').set({ archived_at: now(), updated_at: now() }).where('id', '=', id).where('archived_at', 'is', null).executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) return false;
  await trx.deleteFrom('patient_search_terms').where('patient_id', '=', id).execute();
  return true;
}

/**
 * Newest first. `search` words must each be the start of a word of the names or of an identifier
 * (OP number, any form of the phone, national id, insurance number): index range scans on
 * patient_search_terms, so the cost follows the matches, not the table.
 */
export async function listPatients(db: Db, filter: PatientsQuery): Promise<{ rows: PatientRow[]; total: number }> {
  let query = db.selectFrom('patients').where('archived_at', 'is', null);
  for (const prefix of searchPrefixes(filter.search ?? '')) {
    query = query.where(
      'id',
      'in',
      db.selectFrom('patient_search_terms').select('patient_id').where('term', '>=', prefix).where('term', '<', prefixUpperBound(prefix)),
    );
  }
  if (filter.gender) query = query.where('gender', '=', filter.gender);
  if (filter.insurance_type) query = query.where('insurance_type', '=', filter.insurance_type);
  if (filter.area) query = query.where('area', '=', filter.area.trim());
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).offset(filter.offset).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.total) };
}
