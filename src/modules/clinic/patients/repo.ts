import { sql, type ExpressionBuilder, type Kysely, type Selectable, type SelectQueryBuilder } from 'kysely';
import { newId, now, todayUtc } from '../../../core/db/columns.js';
import { preparedQuery } from '../../../core/db/prepared.js';
import { lowered } from '../../../core/db/search.js';
import { nextNumber, type Trx } from '../common.js';
import type { ClinicDb, PatientsTable } from '../tables.js';
import { ageOn, formatOpNumber, identifierTerms, identityKey, namePrefixes, opKey, prefixUpperBound, searchPrefixes } from './rules.js';
import type { CreatePatientBody, Patient, PatientsQuery, UpdatePatientBody } from './schema.js';

type Db = Kysely<ClinicDb> | Trx;
export type PatientRow = Selectable<PatientsTable>;

export function toPatient(row: PatientRow, on = todayUtc()): Patient {
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
export type PatientFields = Omit<PatientRow, 'id' | 'op_number' | 'op_key' | 'identity_key' | 'archived_at' | 'created_by' | 'created_at' | 'updated_at'>;

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

/** Keeps the count of active patients in step with inserts and archiving (same transaction). */
export async function addActivePatients(trx: Trx, delta: number): Promise<void> {
  await trx
    .updateTable('clinic_counters')
    .set({ value: sql`value + ${delta}` })
    .where('name', '=', 'active_patients')
    .execute();
}

async function writeSearchTerms(trx: Trx, row: PatientRow): Promise<void> {
  const key = Number(row.op_key);
  await deleteSearchTerms(trx, key);
  const terms = identifierTerms(row);
  if (terms.length > 0) await trx.insertInto('patient_search_terms').values(terms.map((term) => ({ term, op_key: key }))).execute();
  const prefixes = namePrefixes(row);
  if (prefixes.length > 0) await trx.insertInto('patient_name_prefixes').values(prefixes.map((prefix) => ({ prefix, op_key: key }))).execute();
}

async function deleteSearchTerms(trx: Trx, key: number): Promise<void> {
  await trx.deleteFrom('patient_search_terms').where('op_key', '=', key).execute();
  await trx.deleteFrom('patient_name_prefixes').where('op_key', '=', key).execute();
}

/** Registers a patient with the next OP number of the year, taken inside this transaction. */
export async function insertPatient(trx: Trx, fields: PatientFields, userId: string): Promise<PatientRow> {
  const at = now();
  const year = Number(at.slice(0, 4));
  const n = await nextNumber(trx, `clinic:op:${year}`);
  const row: PatientRow = {
    id: newId(),
    op_number: formatOpNumber(year, n),
    op_key: opKey(year, n),
    ...fields,
    identity_key: identityKey(fields),
    archived_at: null,
    created_by: userId,
    created_at: at,
    updated_at: at,
  };
  await trx.insertInto('patients').values(row).execute();
  await addActivePatients(trx, 1);
  await writeSearchTerms(trx, row);
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
  if (row) await writeSearchTerms(trx, row);
  return row;
}

/** Archived records stay in the database (visits, invoices and claims point at them) but leave search and lists. */
export async function archivePatient(trx: Trx, id: string): Promise<boolean> {
  const row = await trx
    .updateTable('patients')
    .set({ archived_at: now(), updated_at: now() })
    .where('id', '=', id)
    .where('archived_at', 'is', null)
    .returning('op_key')
    .executeTakeFirst();
  if (!row) return false;
  await addActivePatients(trx, -1);
  await deleteSearchTerms(trx, Number(row.op_key));
  return true;
}

/*
 * Search runs on every lookup at the front desk, so the probe of each word and the whole one-word
 * search (the usual query) are compiled once (preparedQuery): building these statements with Kysely
 * cost more than running them. Each takes the word and its upper bound as separate values, as a
 * prepared query may not transform its arguments.
 */
const nameKeys = (db: Kysely<ClinicDb>, prefix: string) => db.selectFrom('patient_name_prefixes').select('op_key').where('prefix', '=', prefix);
const identifierKeys = (db: Kysely<ClinicDb>, prefix: string, upper: string) =>
  db.selectFrom('patient_search_terms').select('op_key').where('term', '>=', prefix).where('term', '<', upper);
const patientsIn = (db: Kysely<ClinicDb>, keys: SelectQueryBuilder<ClinicDb, keyof ClinicDb, { op_key: number }>) =>
  db.selectFrom('patients').selectAll().where('op_key', 'in', keys).orderBy('op_key', 'desc');

const oneWord = {
  // Where a word can match at all: two index probes in one statement.
  probe: preparedQuery((db: Kysely<ClinicDb>, prefix: string, upper: string) =>
    db.selectNoFrom((eb) => [eb.exists(identifierKeys(db, prefix, upper)).as('identifier'), eb.exists(nameKeys(db, prefix)).as('name')]),
  ),
  // A name prefix's keys come out of its index unique and in order: the page is an index range.
  namePage: preparedQuery((db: Kysely<ClinicDb>, prefix: string, limit: number, offset: number) =>
    patientsIn(db, nameKeys(db, prefix).orderBy('op_key', 'desc').limit(limit).offset(offset)),
  ),
  nameCount: preparedQuery((db: Kysely<ClinicDb>, prefix: string) =>
    db.selectFrom('patient_name_prefixes').select((eb) => eb.fn.countAll<number>().as('total')).where('prefix', '=', prefix),
  ),
  // A patient has several identifier terms (phone forms, ids): IN keeps each patient once.
  identifierPage: preparedQuery((db: Kysely<ClinicDb>, prefix: string, upper: string, limit: number, offset: number) =>
    patientsIn(db, identifierKeys(db, prefix, upper)).limit(limit).offset(offset),
  ),
  identifierCount: preparedQuery((db: Kysely<ClinicDb>, prefix: string, upper: string) =>
    db
      .selectFrom('patient_search_terms')
      .select((eb) => eb.fn.count<number>('op_key').distinct().as('total'))
      .where('term', '>=', prefix)
      .where('term', '<', upper),
  ),
  bothPage: preparedQuery((db: Kysely<ClinicDb>, prefix: string, upper: string, limit: number, offset: number) =>
    patientsIn(db, nameKeys(db, prefix).union(identifierKeys(db, prefix, upper))).limit(limit).offset(offset),
  ),
  bothCount: preparedQuery((db: Kysely<ClinicDb>, prefix: string, upper: string) =>
    db.selectFrom(nameKeys(db, prefix).union(identifierKeys(db, prefix, upper)).as('m')).select((eb) => eb.fn.countAll<number>().as('total')),
  ),
};

type WordSource = 'name' | 'identifier' | 'both' | 'none';

/** Where a search word can match at all: names, identifiers, both or nothing. */
async function wordSource(db: Db, prefix: string, upper = prefixUpperBound(prefix)): Promise<WordSource> {
  const [probe] = await oneWord.probe(db, prefix, upper);
  const name = Boolean(probe?.name);
  const identifier = Boolean(probe?.identifier);
  return name && identifier ? 'both' : name ? 'name' : identifier ? 'identifier' : 'none';
}

const wordSources = (db: Db, prefixes: string[]): Promise<WordSource[]> => Promise.all(prefixes.map((prefix) => wordSource(db, prefix)));

/** The keys of the patients one word matches (each key once). */
function wordMatches(db: Db, prefix: string, source: WordSource) {
  const names = nameKeys(db, prefix);
  const identifiers = identifierKeys(db, prefix, prefixUpperBound(prefix));
  if (source === 'name') return names;
  if (source === 'identifier') return identifiers.distinct();
  return names.union(identifiers);
}

/** Patients matching every word: the words' key sets intersected (each wrapped, as UNION and INTERSECT bind differently per engine). */
function matchingIds(db: Db, prefixes: string[], sources: WordSource[]) {
  const wrapped = prefixes.map((prefix, index) => db.selectFrom(wordMatches(db, prefix, sources[index]!).as(`w${index}`)).select(`w${index}.op_key as op_key`));
  let ids = wrapped[0]!;
  for (const next of wrapped.slice(1)) ids = ids.intersect(next);
  return ids;
}

/**
 * One word: a probe says where it can match (names, identifiers or both), then the page.
 * The total needs its own count only when the page is full, or empty past the first page: otherwise
 * it is the offset plus the rows returned.
 */
async function searchOneWord(db: Kysely<ClinicDb>, prefix: string, limit: number, offset: number): Promise<{ rows: PatientRow[]; total: number }> {
  const upper = prefixUpperBound(prefix);
  const source = await wordSource(db, prefix, upper);
  if (source === 'none') return { rows: [], total: 0 };
  let rows: PatientRow[];
  let count: () => Promise<Array<{ total: number | string | bigint }>>;
  if (source === 'name') {
    rows = await oneWord.namePage(db, prefix, limit, offset);
    count = () => oneWord.nameCount(db, prefix);
  } else if (source === 'identifier') {
    rows = await oneWord.identifierPage(db, prefix, upper, limit, offset);
    count = () => oneWord.identifierCount(db, prefix, upper);
  } else {
    rows = await oneWord.bothPage(db, prefix, upper, limit, offset);
    count = () => oneWord.bothCount(db, prefix, upper);
  }
  const pageTellsTotal = rows.length < limit && (rows.length > 0 || offset === 0);
  return { rows, total: pageTellsTotal ? offset + rows.length : Number((await count())[0]!.total) };
}

/**
 * Newest first (by OP number: registration order). `search` words must each be the start of a word
 * of the names or of an identifier (OP number, any form of the phone, national id, insurance
 * number). Names are matched through patient_name_prefixes (every prefix of every name word, one
 * row per patient and prefix), so a name word is an equality lookup whose keys come out unique and in
 * order: the count and the page are plain index reads. Identifiers are a range on
 * patient_search_terms. Both tables hold active patients only, so a plain search never reads the
 * patients table except for the page's rows; its cost follows the number of matches.
 */
export async function listPatients(db: Db, filter: PatientsQuery): Promise<{ rows: PatientRow[]; total: number }> {
  const prefixes = searchPrefixes(filter.search ?? '');
  const filtered = Boolean(filter.gender || filter.insurance_type || filter.area);
  const countAll = (eb: ExpressionBuilder<ClinicDb, keyof ClinicDb>) => eb.fn.countAll<number>().as('total');
  if (prefixes.length === 1 && !filtered) return searchOneWord(db, prefixes[0]!, filter.limit, filter.offset);

  const sources = prefixes.length > 0 ? await wordSources(db, prefixes) : [];
  // Every word must match something: one that matches nothing empties the result.
  if (sources.includes('none')) return { rows: [], total: 0 };
  const rowsFor = async (keys: number[]) =>
    keys.length === 0 ? [] : db.selectFrom('patients').selectAll().where('op_key', 'in', keys).orderBy('op_key', 'desc').execute();

  if (prefixes.length > 0 && !filtered) {
    // One pass over the matches gives the page's keys and, through the window, the total.
    const ids = matchingIds(db, prefixes, sources).as('m');
    const page = await db
      .selectFrom(ids)
      .select(['m.op_key', sql<number>`count(*) over ()`.as('total')])
      .orderBy('m.op_key', 'desc')
      .limit(filter.limit)
      .offset(filter.offset)
      .execute();
    const total = page.length > 0
      ? Number(page[0]!.total)
      : filter.offset === 0
        ? 0
        : Number((await db.selectFrom(ids).select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow()).total);
    return { rows: await rowsFor(page.map((row) => Number(row.op_key))), total };
  }

  let query = db.selectFrom('patients').where('archived_at', 'is', null);
  if (prefixes.length > 0) query = query.where('op_key', 'in', matchingIds(db, prefixes, sources));
  if (filter.gender) query = query.where('gender', '=', filter.gender);
  if (filter.insurance_type) query = query.where('insurance_type', '=', filter.insurance_type);
  if (filter.area) query = query.where(sql`lower(area)`, '=', lowered(filter.area.trim()));
  const total = filtered || prefixes.length > 0
    ? query.select(countAll).executeTakeFirstOrThrow()
    : // Every active patient: the running count, as counting 100,000 rows costs a scan on PostgreSQL.
      db
        .selectFrom('clinic_counters')
        .select('value as total')
        .where('name', '=', 'active_patients')
        .executeTakeFirstOrThrow();
  const [rows, count] = await Promise.all([query.selectAll().orderBy('op_key', 'desc').limit(filter.limit).offset(filter.offset).execute(), total]);
  return { rows, total: Number(count.total) };
}
