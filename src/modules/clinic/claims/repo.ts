import type { Kysely, Selectable } from 'kysely';
import { newId, now } from '../../../core/db/columns.js';
import { fromCents, optionalFromCents } from '../../../core/http/schemas.js';
import { nextNumber, type Trx } from '../common.js';
import type { ClinicDb, ShaClaimsTable } from '../tables.js';
import { formatClaimNumber, type ClaimItemCents } from './rules.js';
import type { Claim, ClaimStatus, StatusHistoryEntry } from './schema.js';

type Db = Kysely<ClinicDb> | Trx;
export type ClaimRow = Selectable<ShaClaimsTable>;


export function toClaim(row: ClaimRow): Claim {
  const items = JSON.parse(row.items) as ClaimItemCents[];
  return {
    id: row.id,
    claim_number: row.claim_number,
    patient_id: row.patient_id,
    visit_id: row.visit_id,
    diagnoses: JSON.parse(row.diagnoses) as Claim['diagnoses'],
    items: items.map(({ unit_price, amount, ...item }) => ({ unit_price: fromCents(unit_price), amount: fromCents(amount), ...item })),
    claim_amount: fromCents(Number(row.claim_amount)),
    status: row.status as ClaimStatus,
    status_history: JSON.parse(row.status_history) as StatusHistoryEntry[],
    rejection_reason: row.rejection_reason,
    approved_amount: optionalFromCents(row.approved_amount),
    paid_amount: optionalFromCents(row.paid_amount),
    notes: row.notes,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export async function insertClaim(
  trx: Trx,
  claim: { patient_id: string; visit_id: string | null; diagnoses: Claim['diagnoses']; items: ClaimItemCents[]; claim_amount: number; notes: string | null },
  userId: string,
): Promise<ClaimRow> {
  const at = now();
  const day = at.slice(0, 10);
  const n = await nextNumber(trx, `clinic:claim:${day}`);
  const row: ClaimRow = {
    id: newId(),
    claim_number: formatClaimNumber(day, n),
    patient_id: claim.patient_id,
    visit_id: claim.visit_id,
    diagnoses: JSON.stringify(claim.diagnoses),
    items: JSON.stringify(claim.items),
    claim_amount: claim.claim_amount,
    status: 'draft',
    status_history: JSON.stringify([{ status: 'draft', at, by: userId, reason: null }] satisfies StatusHistoryEntry[]),
    rejection_reason: null,
    approved_amount: null,
    paid_amount: null,
    notes: claim.notes,
    created_by: userId,
    created_at: at,
    updated_at: at,
  };
  await trx.insertInto('sha_claims').values(row).execute();
  return row;
}

/** `lock` (PostgreSQL only): the row stays locked until the transaction ends, so no edit slips in between a check and the change. */
export async function findClaim(db: Db, id: string, lock = false): Promise<ClaimRow | undefined> {
  const query = db.selectFrom('sha_claims').selectAll().where('id', '=', id);
  return (lock ? query.forNoKeyUpdate() : query).executeTakeFirst();
}

/** Changes a claim only in the status it was read in: a concurrent change makes this a no-op (undefined). */
export async function updateClaimIfStatus(trx: Trx, id: string, status: ClaimStatus, changes: Partial<Omit<ClaimRow, 'id'>>): Promise<ClaimRow | undefined> {
  return trx
    .updateTable('sha_claims')
    .set({ ...changes, updated_at: now() })
    .where('id', '=', id)
    .where('status', '=', status)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteDraft(trx: Trx, id: string): Promise<boolean> {
  const result = await trx.deleteFrom('sha_claims').where('id', '=', id).where('status', '=', 'draft').executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

export async function listClaims(db: Db, filter: { status?: ClaimStatus; patient_id?: string; start?: string; end?: string; limit: number; offset: number }) {
  let query = db.selectFrom('sha_claims');
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.patient_id) query = query.where('patient_id', '=', filter.patient_id);
  if (filter.start) query = query.where('created_at', '>=', filter.start);
  if (filter.end) query = query.where('created_at', '<', filter.end);
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).offset(filter.offset).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.total) };
}
