import { sql, type Kysely, type Selectable } from 'kysely';
import { newId, now, todayUtc } from '../../../core/db/columns.js';
import { preparedQuery } from '../../../core/db/prepared.js';
import { nextNumber, type Trx } from '../common.js';
import type { ClinicDb, VisitsTable } from '../tables.js';
import { EMPTY_VITALS, formatVisitNumber, TRIAGE_RANK } from './rules.js';
import { VISIT_STATUSES, type Diagnosis, type TriageCategory, type Visit, type VisitStatus, type Vitals } from './schema.js';

type Db = Kysely<ClinicDb> | Trx;
export type VisitRow = Selectable<VisitsTable>;

export function toVisit(row: VisitRow): Visit {
  return {
    id: row.id,
    visit_number: row.visit_number,
    patient_id: row.patient_id,
    status: row.status as VisitStatus,
    triage_category: row.triage_category as TriageCategory,
    chief_complaint: row.chief_complaint,
    vitals: { ...EMPTY_VITALS, ...(JSON.parse(row.vitals) as Partial<Vitals>) },
    diagnoses: JSON.parse(row.diagnoses) as Diagnosis[],
    notes: row.notes,
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
    completed_at: row.completed_at,
  };
}

const OPEN = sql<boolean>`status not in ('completed', 'cancelled')`;

export async function findOpenVisitToday(db: Db, patientId: string): Promise<string | undefined> {
  const row = await db.selectFrom('visits').select('id').where('patient_id', '=', patientId).where('visit_date', '=', todayUtc()).where(OPEN).executeTakeFirst();
  return row?.id;
}

export async function insertVisit(
  trx: Trx,
  visit: { patient_id: string; chief_complaint: string | null; triage_category: TriageCategory },
  userId: string,
): Promise<VisitRow> {
  const at = now();
  const day = at.slice(0, 10);
  const n = await nextNumber(trx, `clinic:visit:${day}`);
  const row: VisitRow = {
    id: newId(),
    visit_number: formatVisitNumber(day, n),
    patient_id: visit.patient_id,
    visit_date: day,
    status: 'registered',
    triage_category: visit.triage_category,
    triage_rank: TRIAGE_RANK[visit.triage_category],
    chief_complaint: visit.chief_complaint,
    vitals: JSON.stringify(EMPTY_VITALS),
    diagnoses: '[]',
    notes: null,
    created_by: userId,
    created_at: at,
    updated_at: at,
    completed_at: null,
  };
  await trx.insertInto('visits').values(row).execute();
  return row;
}

export async function findVisit(db: Db, id: string): Promise<VisitRow | undefined> {
  return db.selectFrom('visits').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Moves a visit only if nobody moved it since it was read (compare-and-set on the status). */
export async function setStatus(trx: Trx, id: string, from: VisitStatus, to: VisitStatus): Promise<VisitRow | undefined> {
  const at = now();
  return trx
    .updateTable('visits')
    .set({ status: to, updated_at: at, completed_at: to === 'completed' ? at : null })
    .where('id', '=', id)
    .where('status', '=', from)
    .returningAll()
    .executeTakeFirst();
}

export async function updateVisit(
  trx: Trx,
  id: string,
  changes: { vitals?: Vitals; diagnoses?: Diagnosis[]; notes?: string | null; triage_category?: TriageCategory; chief_complaint?: string | null },
): Promise<VisitRow | undefined> {
  return trx
    .updateTable('visits')
    .set({
      ...(changes.vitals ? { vitals: JSON.stringify(changes.vitals) } : {}),
      ...(changes.diagnoses ? { diagnoses: JSON.stringify(changes.diagnoses) } : {}),
      ...(changes.notes !== undefined ? { notes: changes.notes } : {}),
      ...(changes.chief_complaint !== undefined ? { chief_complaint: changes.chief_complaint } : {}),
      ...(changes.triage_category ? { triage_category: changes.triage_category, triage_rank: TRIAGE_RANK[changes.triage_category] } : {}),
      updated_at: now(),
    })
    .where('id', '=', id)
    .where(OPEN)
    .returningAll()
    .executeTakeFirst();
}

export async function listVisits(db: Db, filter: { status?: VisitStatus; date?: string; patient_id?: string; limit: number; offset: number }) {
  let query = db.selectFrom('visits');
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.date) query = query.where('visit_date', '=', filter.date);
  if (filter.patient_id) query = query.where('patient_id', '=', filter.patient_id);
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).offset(filter.offset).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.total) };
}

export async function recentVisits(db: Db, patientId: string, limit: number): Promise<VisitRow[]> {
  return db.selectFrom('visits').selectAll().where('patient_id', '=', patientId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

/** The most a queue answers: far more than a clinic sees in a day. */
export const QUEUE_LIMIT = 500;

/*
 * The queue is what waiting-room screens and desks poll all day: both of its statements are compiled
 * once (preparedQuery). Built by Kysely per request, they were a fifth of the request's CPU.
 */
const queueRows = preparedQuery((db: Kysely<ClinicDb>, day: string) =>
  db
    .selectFrom('visits')
    .innerJoin('patients', 'patients.id', 'visits.patient_id')
    .selectAll('visits')
    .select(['patients.first_name', 'patients.last_name', 'patients.op_number'])
    .where('visits.visit_date', '=', day)
    .where(sql<boolean>`visits.status not in ('completed', 'cancelled')`)
    .orderBy('visits.triage_rank', 'asc')
    .orderBy('visits.created_at', 'asc')
    .orderBy('visits.id', 'asc')
    .limit(QUEUE_LIMIT),
);
const queueCounts = preparedQuery((db: Kysely<ClinicDb>, day: string) =>
  db
    .selectFrom('visits')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('visit_date', '=', day)
    .groupBy('status'),
);

/** Today's open visits, emergency first, then urgent, then normal; oldest first within each. */
export async function queue(db: Kysely<ClinicDb>) {
  const day = todayUtc();
  const [rows, counts] = await Promise.all([queueRows(db, day), queueCounts(db, day)]);
  const byStatus = Object.fromEntries(VISIT_STATUSES.map((status) => [status, 0])) as Record<VisitStatus, number>;
  for (const row of counts) byStatus[row.status as VisitStatus] = Number(row.n);
  return {
    queue: rows.map((row) => ({
      ...toVisit(row),
      patient_name: `${row.first_name} ${row.last_name}`,
      first_name: row.first_name,
      last_name: row.last_name,
      op_number: row.op_number,
    })),
    counts: byStatus,
  };
}
