import { Readable } from 'node:stream';
import type { Kysely, Selectable, Transaction } from 'kysely';
import { afterDay, newId, now } from '../db/columns.js';
import { preparedQuery } from '../db/prepared.js';
import type { CoreTables } from '../db/tables.js';
import { csvRow, entryHash, GENESIS_HASH } from './chain.js';
import type { AuditLogTable, AuditTables } from './tables.js';

export type AuditDb = CoreTables & AuditTables;
type Db = Kysely<AuditDb> | Transaction<AuditDb>;

/**
 * Kysely's database types are invariant, so a module's wider `Kysely<Core & Audit & Module>` is not
 * a `Kysely<Core & Audit>` to the compiler although it is one at run time; the generic entry points
 * below take any database that has the audit tables and narrow it here.
 */
type WithAudit = AuditTables;
const narrow = <T>(db: T) => db as unknown as Db;

export interface AuditEvent {
  userId: string | null;
  action: string;
  resource: string;
  resourceId?: string | null;
  ip?: string | null;
  /** Anything JSON; kept small (changed field names, numbers), never whole medical records. */
  details?: Record<string, unknown>;
}

export interface AuditEntry {
  id: string;
  at: string;
  user_id: string | null;
  action: string;
  resource: string;
  resource_id: string | null;
  ip: string | null;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

const toEntry = (row: Selectable<AuditLogTable>): AuditEntry => ({
  id: row.id,
  at: row.at,
  user_id: row.user_id,
  action: row.action,
  resource: row.resource,
  resource_id: row.resource_id,
  ip: row.ip,
  details: JSON.parse(row.details) as Record<string, unknown>,
  prev_hash: row.prev_hash,
  hash: row.hash,
});

/**
 * Appends one entry to the chain. Call it inside the transaction of the change it records, so the
 * entry exists exactly when the change does. The first statement bumps the chain head: on PostgreSQL
 * that row lock serialises concurrent appends until commit (SQLite transactions already hold the
 * write lock), and it hands back the previous entry's hash.
 */
export async function appendAudit<DB extends WithAudit>(transaction: Transaction<DB>, event: AuditEvent): Promise<AuditEntry> {
  const trx = transaction as unknown as Transaction<AuditDb>;
  const [head] = await bumpChainHead(trx);
  if (!head) throw new Error('The audit chain head is missing');
  const row = {
    seq: Number(head.seq),
    id: newId(),
    at: now(),
    user_id: event.userId,
    action: event.action,
    resource: event.resource,
    resource_id: event.resourceId ?? null,
    ip: event.ip ?? null,
    details: JSON.stringify(event.details ?? {}),
    prev_hash: head.hash,
  };
  const hash = entryHash(row);
  await insertEntry(trx, row.seq, row.id, row.at, row.user_id, row.action, row.resource, row.resource_id, row.ip, row.details, row.prev_hash, hash);
  await setChainHash(trx, hash);
  return toEntry({ hash, ...row });
}

// Every audited request runs these three statements: compiled once (see preparedQuery).
const bumpChainHead = preparedQuery((trx: Kysely<AuditDb>) =>
  trx
    .updateTable('audit_chain_head')
    .set((eb) => ({ seq: eb('seq', '+', 1) }))
    .where('id', '=', 1)
    .returning(['seq', 'hash']),
);
const insertEntry = preparedQuery(
  (
    trx: Kysely<AuditDb>,
    seq: number,
    id: string,
    at: string,
    user_id: string | null,
    action: string,
    resource: string,
    resource_id: string | null,
    ip: string | null,
    details: string,
    prev_hash: string,
    hash: string,
  ) => trx.insertInto('audit_log').values({ seq, id, at, user_id, action, resource, resource_id, ip, details, prev_hash, hash }),
);
const setChainHash = preparedQuery((trx: Kysely<AuditDb>, hash: string) => trx.updateTable('audit_chain_head').set({ hash }).where('id', '=', 1));

export interface AuditFilter {
  user_id?: string;
  action?: string;
  resource?: string;
  resource_id?: string;
  /** Inclusive; a date (`YYYY-MM-DD`) or an ISO timestamp. */
  from?: string;
  /** Inclusive; a date means the whole day. */
  to?: string;
}

/** The exclusive upper bound for an inclusive `to` given as a date or timestamp. */
export function endBound(to: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(to)) return afterDay(to);
  // A timestamp: everything up to and including that instant.
  return `${new Date(to).toISOString()}\u0001`;
}

export const startBound = (from: string): string => (/^\d{4}-\d{2}-\d{2}$/.test(from) ? `${from}T00:00:00.000Z` : new Date(from).toISOString());

function filtered(db: Db, filter: AuditFilter) {
  let query = db.selectFrom('audit_log');
  if (filter.user_id) query = query.where('user_id', '=', filter.user_id);
  if (filter.action) query = query.where('action', '=', filter.action);
  if (filter.resource) query = query.where('resource', '=', filter.resource);
  if (filter.resource_id) query = query.where('resource_id', '=', filter.resource_id);
  if (filter.from) query = query.where('at', '>=', startBound(filter.from));
  if (filter.to) query = query.where('at', '<', endBound(filter.to));
  return query;
}

/** Newest first. */
export async function listAudit<DB extends WithAudit>(database: Kysely<DB>, filter: AuditFilter, page: { limit: number; offset: number }) {
  const query = filtered(narrow(database), filter);
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('seq', 'desc').limit(page.limit).offset(page.offset).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  return { entries: rows.map(toEntry), total: Number(count.total) };
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  first_bad_id: string | null;
}

const VERIFY_BATCH = 1000;

/**
 * Walks the chain in order, a batch at a time: every entry must carry the next sequence number,
 * link to the previous entry's hash and hash to what it says. The walk covers the chain as the head
 * records it when verification starts: the head names the newest committed entry (its sequence
 * number and hash are written in that entry's transaction), so entries appended while the walk runs
 * are left for the next verification instead of being taken for a break. The last entry walked
 * must be the one the head names, so deleting the newest entries is caught, and no entry may lie
 * beyond the head as it is afterwards (one inserted directly, not through an append).
 */
export async function verifyAudit<DB extends WithAudit>(database: Kysely<DB>): Promise<VerifyResult> {
  const db = narrow(database);
  const readHead = () => db.selectFrom('audit_chain_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
  const head = await readHead();
  const lastSeq = head ? Number(head.seq) : 0;
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let lastId: string | null = null;
  let checked = 0;
  for (;;) {
    const rows = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>=', expectedSeq)
      .where('seq', '<=', lastSeq)
      .orderBy('seq', 'asc')
      .limit(VERIFY_BATCH)
      .execute();
    for (const row of rows) {
      checked++;
      const intact = Number(row.seq) === expectedSeq && row.prev_hash === prevHash && entryHash({ ...row, seq: Number(row.seq) }) === row.hash;
      if (!intact) return { ok: false, checked, first_bad_id: row.id };
      expectedSeq++;
      prevHash = row.hash;
      lastId = row.id;
    }
    if (rows.length < VERIFY_BATCH) break;
  }
  if (!head || expectedSeq - 1 !== lastSeq || head.hash !== prevHash) {
    // Entries after the last one found were removed (or the head was altered): the break is after it.
    return { ok: false, checked, first_bad_id: lastId };
  }
  // The newest entry first, then the head: an append committed in between only moves the head further.
  const newest = await db.selectFrom('audit_log').select(['seq', 'id']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  const headNow = await readHead();
  if (newest && Number(newest.seq) > Number(headNow?.seq ?? 0)) {
    const beyond = await db.selectFrom('audit_log').select('id').where('seq', '>', Number(headNow?.seq ?? 0)).orderBy('seq', 'asc').limit(1).executeTakeFirstOrThrow();
    return { ok: false, checked, first_bad_id: beyond.id };
  }
  return { ok: true, checked, first_bad_id: null };
}

export const CSV_COLUMNS = ['id', 'at', 'user_id', 'action', 'resource', 'resource_id', 'ip', 'details', 'prev_hash', 'hash'] as const;
const EXPORT_BATCH = 500;

/**
 * The filtered log as CSV, oldest first, read a batch at a time by sequence number, so memory stays
 * flat however long the log is. Cells are quoted and guarded against spreadsheet formulas.
 */
export function auditCsvStream<DB extends WithAudit>(database: Kysely<DB>, filter: AuditFilter): Readable {
  const db = narrow(database);
  async function* rows(): AsyncGenerator<string> {
    yield csvRow([...CSV_COLUMNS]);
    let afterSeq = 0;
    for (;;) {
      const batch = await filtered(db, filter).selectAll().where('seq', '>', afterSeq).orderBy('seq', 'asc').limit(EXPORT_BATCH).execute();
      if (batch.length === 0) return;
      yield batch.map((row) => csvRow(CSV_COLUMNS.map((column) => row[column]))).join('');
      afterSeq = Number(batch[batch.length - 1]!.seq);
      if (batch.length < EXPORT_BATCH) return;
    }
  }
  return Readable.from(rows());
}
