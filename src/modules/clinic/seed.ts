import { randomBytes } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { AuditTables } from '../../core/audit/tables.js';
import type { Database } from '../../core/db/connect.js';
import { newId } from '../../core/db/columns.js';
import { invoiceStatus, invoiceTotals, isProblem } from './billing/rules.js';
import { formatClaimNumber } from './claims/rules.js';
import { addActivePatients } from './patients/repo.js';
import { formatOpNumber, identifierTerms, identityKey, namePrefixes, opKey } from './patients/rules.js';
import { AREAS, COMPLAINTS, DIAGNOSES, FEMALE_NAMES, INTERVENTIONS, MALE_NAMES, SURNAMES } from './seed-data.js';
import type {
  ClinicDb,
  ClinicInvoicesTable,
  ClinicPaymentsTable,
  ClinicTables,
  PatientsTable,
  PatientNamePrefixesTable,
  PatientSearchTermsTable,
  ShaClaimsTable,
  VisitsTable,
} from './tables.js';
import { formatVisitNumber, TRIAGE_RANK } from './visits/rules.js';

/**
 * Bulk demo data for the clinic, written straight to the database in batched multi-row inserts (one
 * transaction per few thousand rows), on SQLite and PostgreSQL. Numbers (OP, visit, invoice, claim)
 * are reserved from the same sequences the API uses, so the API carries on after them. Seeded rows
 * are a bulk import, not staff actions: they are not written to the audit log.
 */

type Db = Kysely<ClinicDb>;
type Trx = Transaction<ClinicDb>;

export interface SeedOptions {
  patients: number;
  /** Default: a fifth of the patients. */
  visits?: number;
  vatRate: number;
  /** Same seed, same data. */
  seed?: number;
  onProgress?(done: number, total: number): void;
}

export interface SeedSummary {
  patients: number;
  visits: number;
  invoices: number;
  payments: number;
  claims: number;
}

const DAY_MS = 86_400_000;

/** mulberry32: small, fast, seedable. */
function rng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!,
    chance: (p: number) => next() < p,
    digits: (n: number) => Array.from({ length: n }, () => Math.floor(next() * 10)).join(''),
  };
}

/** Reserves `count` numbers of a sequence at once; returns the first. */
async function reserve(trx: Trx, scope: string, count: number): Promise<number> {
  const row = await trx
    .insertInto('sequences')
    .values({ scope, value: count })
    .onConflict((conflict) => conflict.column('scope').doUpdateSet({ value: sql`sequences.value + ${count}` }))
    .returning('value')
    .executeTakeFirstOrThrow();
  return Number(row.value) - count + 1;
}

/** Rows per INSERT: under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters. */
const rowsPerInsert = (columns: number) => Math.max(1, Math.floor(20_000 / columns));

async function insertMany<T extends keyof ClinicTables>(trx: Trx, table: T, rows: Array<Record<string, unknown>>): Promise<void> {
  if (rows.length === 0) return;
  const size = rowsPerInsert(Object.keys(rows[0]!).length);
  for (let i = 0; i < rows.length; i += size) {
    // The rows are built to the table's shape above; Kysely cannot check a generic table name.
    await trx.insertInto(table).values(rows.slice(i, i + size) as never).execute();
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
const groupCount = <T>(items: T[], key: (item: T) => string) => {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
};

export async function seedClinic(database: Database, options: SeedOptions): Promise<SeedSummary> {
  const db: Db = database.db.withTables<ClinicTables & AuditTables>();
  const r = rng(options.seed ?? randomBytes(4).readUInt32LE());
  const nowMs = Date.now();
  const total = options.patients + (options.visits ?? Math.round(options.patients / 5));
  let done = 0;
  const progress = (n: number) => {
    done += n;
    options.onProgress?.(done, total);
  };

  // Patients: registered over the last two years, oldest first, OP numbers per year in that order.
  const patientCount = options.patients;
  const spanMs = 730 * DAY_MS;
  const createdAt = Array.from({ length: patientCount }, (_, i) => nowMs - spanMs + Math.floor(((i + r.next()) * spanMs) / patientCount));
  const perYear = groupCount(createdAt, (ms) => iso(ms).slice(0, 4));
  const nextOp = new Map<string, number>();
  await db.transaction().execute(async (trx) => {
    for (const [year, count] of perYear) nextOp.set(year, await reserve(trx, `clinic:op:${year}`, count));
  });
  const idOffset = r.int(0, 89_999_999);
  const idStride = 104_729; // prime, coprime with the 89,999,999 ids: every patient a distinct number

  interface SeededPatient {
    id: string;
    created: number;
    insurance_type: string;
  }
  const patients: SeededPatient[] = [];
  const PATIENT_BATCH = 2000;
  for (let start = 0; start < patientCount; start += PATIENT_BATCH) {
    const rows: PatientsTable[] = [];
    for (let i = start; i < Math.min(patientCount, start + PATIENT_BATCH); i++) {
      const at = iso(createdAt[i]!);
      const year = at.slice(0, 4);
      const n = nextOp.get(year)!;
      nextOp.set(year, n + 1);
      const roll = r.next();
      const gender = roll < 0.52 ? 'female' : roll < 0.99 ? 'male' : 'other';
      const first = gender === 'female' ? r.pick(FEMALE_NAMES) : gender === 'male' ? r.pick(MALE_NAMES) : r.pick([...FEMALE_NAMES, ...MALE_NAMES]);
      const ageYears = r.chance(0.2) ? r.int(0, 12) : r.int(13, 85);
      const dob = iso(nowMs - ageYears * 365.25 * DAY_MS - r.int(0, 364) * DAY_MS).slice(0, 10);
      const insurance = r.next();
      const insuranceType = insurance < 0.6 ? 'sha' : insurance < 0.7 ? 'private' : 'cash';
      const fields = {
        first_name: first,
        last_name: r.pick(SURNAMES),
        date_of_birth: r.chance(0.97) ? dob : null,
        gender,
        phone_number: r.chance(0.92) ? `${r.chance(0.85) ? '07' : '01'}${r.digits(8)}` : null,
        national_id: ageYears >= 18 && r.chance(0.9) ? String(10_000_000 + ((idOffset + i * idStride) % 89_999_999)) : null,
        area: r.pick(AREAS),
        next_of_kin: `${r.pick([...FEMALE_NAMES, ...MALE_NAMES])} ${r.pick(SURNAMES)}`,
        next_of_kin_phone: `07${r.digits(8)}`,
        insurance_type: insuranceType,
        insurance_number: insuranceType === 'sha' ? `SHA${r.digits(10)}` : insuranceType === 'private' ? `${r.pick(['AAR', 'JUB', 'BRIT', 'CIC', 'MAD'])}-${r.digits(7)}` : null,
      };
      rows.push({
        // A UUIDv7 of the registration time, as if the patient had been registered then.
        id: uuidv7({ msecs: createdAt[i]! }),
        op_number: formatOpNumber(Number(year), n),
        op_key: opKey(Number(year), n),
        ...fields,
        identity_key: identityKey(fields),
        archived_at: null,
        created_by: null,
        created_at: at,
        updated_at: at,
      });
    }
    await db.transaction().execute(async (trx) => {
      // A national id or identity already in the database (an earlier seed) skips that patient.
      const inserted = new Set<string>();
      const size = rowsPerInsert(20);
      for (let i = 0; i < rows.length; i += size) {
        const ids = await trx.insertInto('patients').values(rows.slice(i, i + size)).onConflict((conflict) => conflict.doNothing()).returning('id').execute();
        for (const { id } of ids) inserted.add(id);
      }
      const terms: PatientSearchTermsTable[] = [];
      const prefixes: PatientNamePrefixesTable[] = [];
      for (const row of rows) {
        if (!inserted.has(row.id)) continue;
        for (const term of identifierTerms(row)) terms.push({ term, op_key: row.op_key });
        for (const prefix of namePrefixes(row)) prefixes.push({ prefix, op_key: row.op_key });
        patients.push({ id: row.id, created: Date.parse(row.created_at), insurance_type: row.insurance_type });
      }
      await insertMany(trx, 'patient_search_terms', terms as never);
      await insertMany(trx, 'patient_name_prefixes', prefixes as never);
      await addActivePatients(trx, inserted.size);
    });
    progress(rows.length);
  }

  // Visits over the last 180 days (after the patient registered); today's are open and queue.
  const visitCount = Math.min(options.visits ?? Math.round(patientCount / 5), patients.length * 3);
  const today = iso(nowMs).slice(0, 10);
  const todayOpen = Math.min(40, Math.ceil(visitCount / 100));
  interface PlannedVisit {
    patient: SeededPatient;
    at: number;
    open: boolean;
  }
  const planned: PlannedVisit[] = [];
  const openToday = new Set<string>();
  for (let i = 0; i < visitCount && patients.length > 0; i++) {
    const patient = r.pick(patients);
    if (i < todayOpen && !openToday.has(patient.id)) {
      openToday.add(patient.id);
      // Some time today, up to 6 hours ago: never before midnight, or just after it they would land yesterday.
      planned.push({ patient, at: Math.max(Date.parse(`${today}T00:00:00.000Z`), nowMs - r.int(1, 6 * 3600) * 1000), open: true });
      continue;
    }
    const earliest = Math.max(patient.created, nowMs - 180 * DAY_MS);
    const dayStart = Date.parse(`${iso(earliest + r.next() * (nowMs - earliest)).slice(0, 10)}T00:00:00.000Z`);
    // Past days only for closed visits: today's visits are the open queue.
    const at = Math.min(dayStart + r.int(6 * 3600, 16 * 3600) * 1000, Date.parse(`${today}T00:00:00.000Z`) - 3600_000);
    planned.push({ patient, at, open: false });
  }
  planned.sort((a, b) => a.at - b.at);
  const nextVisit = new Map<string, number>();
  const nextInvoice = new Map<string, number>();
  const nextClaim = new Map<string, number>();
  const closed = planned.filter((visit) => !visit.open);
  const billed = closed.filter(() => r.chance(0.85));
  await db.transaction().execute(async (trx) => {
    for (const [day, count] of groupCount(planned, (visit) => iso(visit.at).slice(0, 10))) nextVisit.set(day, await reserve(trx, `clinic:visit:${day}`, count));
    for (const [year, count] of groupCount(billed, (visit) => iso(visit.at).slice(0, 4))) nextInvoice.set(year, await reserve(trx, `clinic:invoice:${year}`, count));
  });

  let invoices = 0;
  let payments = 0;
  let claims = 0;
  const billedSet = new Set(billed);
  const VISIT_BATCH = 2000;
  for (let start = 0; start < planned.length; start += VISIT_BATCH) {
    const batch = planned.slice(start, start + VISIT_BATCH);
    const visitRows: VisitsTable[] = [];
    const invoiceRows: ClinicInvoicesTable[] = [];
    const paymentRows: ClinicPaymentsTable[] = [];
    const claimRows: ShaClaimsTable[] = [];
    for (const visit of batch) {
      const at = iso(visit.at);
      const day = at.slice(0, 10);
      const n = nextVisit.get(day)!;
      nextVisit.set(day, n + 1);
      const triage = r.chance(0.05) ? 'emergency' : r.chance(0.2) ? 'urgent' : 'normal';
      const diagnoses = visit.open ? [] : [r.pick(DIAGNOSES), ...(r.chance(0.3) ? [r.pick(DIAGNOSES)] : [])];
      const uniqueDiagnoses = [...new Map(diagnoses.map((d) => [d.code, d])).values()].map((d, index) => ({ ...d, primary: index === 0 }));
      const status = visit.open ? r.pick(['registered', 'triaged', 'waiting_consultation', 'in_consultation', 'waiting_lab', 'waiting_pharmacy'] as const) : r.chance(0.92) ? 'completed' : 'cancelled';
      const completedAt = status === 'completed' ? iso(visit.at + r.int(30, 240) * 60_000) : null;
      const systolic = r.int(100, 165);
      const vitals = visit.open && status === 'registered'
        ? {}
        : {
            temperature_c: Math.round((36 + r.next() * 3) * 10) / 10,
            pulse: r.int(60, 120),
            bp_systolic: systolic,
            bp_diastolic: r.int(60, Math.min(105, systolic - 20)),
            resp_rate: r.int(12, 28),
            spo2: r.int(92, 100),
            weight_kg: r.int(8, 110),
            height_cm: r.int(70, 190),
          };
      const visitId = newId();
      visitRows.push({
        id: visitId,
        visit_number: formatVisitNumber(day, n),
        patient_id: visit.patient.id,
        visit_date: day,
        status,
        triage_category: triage,
        triage_rank: TRIAGE_RANK[triage],
        chief_complaint: r.pick(COMPLAINTS),
        vitals: JSON.stringify(vitals),
        diagnoses: JSON.stringify(status === 'cancelled' ? [] : uniqueDiagnoses),
        notes: null,
        created_by: null,
        created_at: at,
        updated_at: completedAt ?? at,
        completed_at: completedAt,
      });
      if (!billedSet.has(visit) || status !== 'completed') continue;

      const lines = [
        { description: 'Consultation', quantity: 1, unit_price: 50_000, item_type: 'consultation' },
        ...(r.chance(0.5) ? [{ description: 'Laboratory tests', quantity: 1, unit_price: r.int(3, 12) * 10_000, item_type: 'lab' }] : []),
        ...(r.chance(0.8) ? [{ description: 'Medication', quantity: r.int(1, 3), unit_price: r.int(2, 15) * 5_000, item_type: 'pharmacy' }] : []),
      ].map((line) => ({ ...line, amount: line.quantity * line.unit_price }));
      const totals = invoiceTotals(lines.map((line) => ({ quantity: line.quantity, unit_price_cents: line.unit_price })), 0, options.vatRate);
      if (isProblem(totals)) throw new Error(`seed invoice: ${totals.field} ${totals.message}`);
      const year = at.slice(0, 4);
      const invoiceNumber = nextInvoice.get(year)!;
      nextInvoice.set(year, invoiceNumber + 1);
      const pay = r.next();
      const paid = pay < 0.75 ? totals.total : pay < 0.87 ? Math.floor(totals.total / 2) : 0;
      const invoiceId = newId();
      invoiceRows.push({
        id: invoiceId,
        invoice_number: `INV-${year}-${String(invoiceNumber).padStart(5, '0')}`,
        patient_id: visit.patient.id,
        visit_id: visitId,
        items: JSON.stringify(lines),
        ...totals,
        amount_paid: paid,
        status: invoiceStatus(totals.total, paid),
        due_date: iso(visit.at + 30 * DAY_MS).slice(0, 10),
        created_by: null,
        created_at: completedAt!,
        updated_at: completedAt!,
      });
      if (paid > 0) {
        const method = visit.patient.insurance_type !== 'cash' && r.chance(0.15) ? 'insurance' : r.chance(0.72) ? 'mpesa' : 'cash';
        paymentRows.push({
          id: newId(),
          invoice_id: invoiceId,
          amount: paid,
          method,
          reference: method === 'mpesa' ? `${String.fromCharCode(65 + r.int(0, 25))}${r.digits(2)}${randomBytes(4).toString('hex').toUpperCase().slice(0, 7)}` : null,
          notes: null,
          received_by: null,
          created_at: completedAt!,
        });
      }

      if (visit.patient.insurance_type === 'sha' && r.chance(0.6)) {
        const items = [INTERVENTIONS[0], ...(r.chance(0.6) ? [r.pick(INTERVENTIONS.slice(1))] : [])].map((item) => ({
          intervention_code: item.code,
          description: item.description,
          quantity: 1,
          unit_price: item.price * 100,
          amount: item.price * 100,
        }));
        const amount = items.reduce((sum, item) => sum + item.amount, 0);
        const path = r.pick([
          ['draft'],
          ['draft', 'ready_to_submit'],
          ['draft', 'ready_to_submit', 'submitted'],
          ['draft', 'ready_to_submit', 'submitted', 'approved'],
          ['draft', 'ready_to_submit', 'submitted', 'approved', 'paid'],
          ['draft', 'ready_to_submit', 'submitted', 'approved', 'paid'],
          ['draft', 'ready_to_submit', 'submitted', 'approved', 'partially_paid'],
          ['draft', 'ready_to_submit', 'submitted', 'rejected'],
        ] as const);
        const status = path[path.length - 1]!;
        const claimDay = completedAt!.slice(0, 10);
        const claimNumber = (nextClaim.get(claimDay) ?? 0) + 1;
        nextClaim.set(claimDay, claimNumber);
        const approved = (path as readonly string[]).includes('approved') ? amount : null;
        claimRows.push({
          id: newId(),
          claim_number: formatClaimNumber(claimDay, claimNumber),
          patient_id: visit.patient.id,
          visit_id: visitId,
          diagnoses: JSON.stringify(uniqueDiagnoses.map(({ code, description }) => ({ code, description }))),
          items: JSON.stringify(items),
          claim_amount: amount,
          status,
          status_history: JSON.stringify(path.map((step, index) => ({ status: step, at: iso(Date.parse(completedAt!) + index * DAY_MS), by: null, reason: step === 'rejected' ? 'Missing pre-authorisation' : null }))),
          rejection_reason: status === 'rejected' ? 'Missing pre-authorisation' : null,
          approved_amount: approved,
          paid_amount: status === 'paid' ? approved : status === 'partially_paid' ? Math.floor(amount * 0.7) : null,
          notes: null,
          created_by: null,
          created_at: completedAt!,
          updated_at: completedAt!,
        });
      }
    }
    await db.transaction().execute(async (trx) => {
      // Claim numbers are per day and days span batches: reserve what this batch used, then renumber.
      for (const [day, count] of groupCount(claimRows, (claim) => claim.created_at.slice(0, 10))) {
        const first = await reserve(trx, `clinic:claim:${day}`, count);
        let n = first;
        for (const claim of claimRows) if (claim.created_at.startsWith(day)) claim.claim_number = formatClaimNumber(day, n++);
      }
      await insertMany(trx, 'visits', visitRows as never);
      await insertMany(trx, 'clinic_invoices', invoiceRows as never);
      await insertMany(trx, 'clinic_payments', paymentRows as never);
      await insertMany(trx, 'sha_claims', claimRows as never);
    });
    nextClaim.clear();
    invoices += invoiceRows.length;
    payments += paymentRows.length;
    claims += claimRows.length;
    progress(batch.length);
  }
  // Fresh statistics for the planner; on PostgreSQL VACUUM also marks the pages all-visible, so the
  // search index is read without visiting the table (index-only scans).
  if (database.dialect === 'postgres') await sql`vacuum analyze`.execute(db);
  else await sql`pragma optimize`.execute(db);
  return { patients: patients.length, visits: planned.length, invoices, payments, claims };
}
