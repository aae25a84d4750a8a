import { sql, type Selectable, type Transaction } from 'kysely';
import { afterDay, newId, now } from '../../../core/db/columns.js';
import { preparedQuery } from '../../../core/db/prepared.js';
import type { CoreTables } from '../../../core/db/tables.js';
import { fromCents, optionalFromCents } from '../../../core/http/schemas.js';
import { findOwnedRow, type FreelanceDb } from '../common.js';
import { hoursFromSeconds, lineAmountCents } from '../money.js';
import type { StoredItem } from '../invoices/rules.js';
import type { FreelanceTables, FreelanceTimeEntriesTable } from '../tables.js';
import { periodEnds, periodStarts } from './rules.js';
import type { TimeEntry, TimeEntryListQuery } from './schema.js';

type EntryRow = Selectable<FreelanceTimeEntriesTable>;

export function toTimeEntry(row: EntryRow): TimeEntry {
  const { duration, hourly_rate, is_billable, ...stored } = row;
  return {
    _id: row.id,
    duration: duration === null ? null : Number(duration),
    hourly_rate: optionalFromCents(hourly_rate),
    is_billable: Boolean(is_billable),
    ...stored,
  };
}

/** `YYYY-MM-DD` means that whole UTC day; a date-time is taken as is. */
function lowerBound(value: string): string {
  return value.length === 10 ? `${value}T00:00:00.000Z` : new Date(value).toISOString();
}

export async function listEntries(db: FreelanceDb, userId: string, query: TimeEntryListQuery): Promise<TimeEntry[]> {
  let select = db.selectFrom('freelance_time_entries').selectAll().where('user_id', '=', userId);
  if (query.project_id) select = select.where('project_id', '=', query.project_id);
  if (query.client_id) select = select.where('client_id', '=', query.client_id);
  if (query.billable !== undefined) select = select.where('is_billable', '=', query.billable);
  if (query.from) select = select.where('start_time', '>=', lowerBound(query.from));
  if (query.to) {
    select =
      query.to.length === 10
        ? select.where('start_time', '<', afterDay(query.to))
        : select.where('start_time', '<=', new Date(query.to).toISOString());
  }
  const rows = await select.orderBy('start_time', 'desc').orderBy('id', 'desc').limit(query.limit).offset(query.offset).execute();
  return rows.map(toTimeEntry);
}

export const findEntryRow: (db: FreelanceDb, userId: string, id: string) => Promise<EntryRow | undefined> = findOwnedRow.freelance_time_entries;

/** Timer widgets poll the running entry: compiled once (preparedQuery). */
const activeEntryQuery = preparedQuery((db: FreelanceDb, userId: string) =>
  db.selectFrom('freelance_time_entries').selectAll().where('user_id', '=', userId).where('end_time', 'is', null).limit(1),
);

export async function findActiveEntry(db: FreelanceDb, userId: string): Promise<TimeEntry | null> {
  const [row] = await activeEntryQuery(db, userId);
  return row ? toTimeEntry(row) : null;
}

export interface EntryValues {
  description: string;
  project_id: string | null;
  client_id: string | null;
  start_time: string;
  end_time: string | null;
  duration: number | null;
  hourly_rate: number | null;
  is_billable: boolean;
}

/** Inserts an entry; a second running timer violates the partial unique index (the caller maps it to 409). */
export async function insertEntry(db: FreelanceDb, userId: string, values: EntryValues): Promise<TimeEntry> {
  const at = now();
  const row = await db
    .insertInto('freelance_time_entries')
    .values({ id: newId(), user_id: userId, invoice_id: null, ...values, created_at: at, updated_at: at })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toTimeEntry(row);
}

export async function updateEntry(db: FreelanceDb, userId: string, id: string, values: Partial<EntryValues>): Promise<TimeEntry | null> {
  const row = await db
    .updateTable('freelance_time_entries')
    .set({ ...values, updated_at: now() })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    // A billed entry is frozen; this also covers an invoice made between the caller's read and now.
    .where('invoice_id', 'is', null)
    .returningAll()
    .executeTakeFirst();
  return row ? toTimeEntry(row) : null;
}

/** Stops the entry if it is still running; null when it was not (already stopped, or not found). */
export async function stopEntry(db: FreelanceDb, userId: string, id: string, endTime: string, duration: number): Promise<TimeEntry | null> {
  const row = await db
    .updateTable('freelance_time_entries')
    .set({ end_time: endTime, duration, updated_at: now() })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('end_time', 'is', null)
    .returningAll()
    .executeTakeFirst();
  return row ? toTimeEntry(row) : null;
}

/** Deletes an unbilled entry; when this statement deleted nothing, says whether it is gone or billed. */
export async function deleteEntry(db: FreelanceDb, userId: string, id: string): Promise<'deleted' | 'missing' | 'billed'> {
  const result = await db
    .deleteFrom('freelance_time_entries')
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('invoice_id', 'is', null)
    .executeTakeFirst();
  if (Number(result.numDeletedRows) === 1) return 'deleted';
  // Gone (a concurrent delete got it first) or billed since the caller read it.
  return (await findEntryRow(db, userId, id)) ? 'billed' : 'missing';
}

/**
 * Hours in hundredths from whole seconds, rounded half up, as integer SQL (same on both engines).
 * The column is a 4-byte integer on PostgreSQL, so it is widened before it is multiplied: `duration
 * * 100` overflowed int4 from about 248 days, and one such row made every summary a 500.
 */
const hundredthsOfHours = sql`((cast(duration as bigint) * 100 + 1800) / 3600)`;

/**
 * What one entry bills in cents, `(hundredths x rate + 50) / 100` in integer arithmetic, computed as
 * `whole hours x rate + (hundredths left x rate + 50) / 100` (the same number) so that no product
 * leaves bigint: whole hours of any int4 duration (< 600,000) times the largest rate (10^12 cents)
 * stay below 10^18, where hundredths times that rate did not.
 */
const entryCents = sql`((${hundredthsOfHours} / 100) * coalesce(hourly_rate, 0) + ((${hundredthsOfHours} % 100) * coalesce(hourly_rate, 0) + 50) / 100)`;

export async function timeSummary(db: FreelanceDb, userId: string, at = new Date()) {
  const starts = periodStarts(at);
  // Bounded on both sides: an entry recorded for a later day is not today's (nor this week's or month's).
  const ends = periodEnds(at);
  const within = (period: keyof typeof starts) => sql`start_time >= ${starts[period]} and start_time < ${ends[period]}`;
  const [finished, running] = await Promise.all([
    db
      .selectFrom('freelance_time_entries')
      .select([
        sql<number>`coalesce(sum(case when ${within('today')} then duration else 0 end), 0)`.as('today_seconds'),
        sql<number>`coalesce(sum(case when ${within('week')} then duration else 0 end), 0)`.as('week_seconds'),
        sql<number>`coalesce(sum(case when ${within('month')} then duration else 0 end), 0)`.as('month_seconds'),
        sql<number>`coalesce(sum(case when is_billable = ${true} then duration else 0 end), 0)`.as('billable_seconds'),
        // Each entry rounds to the cent as its invoice line would (entryAmountCents in rules.ts).
        sql<number>`coalesce(sum(case when is_billable = ${true} and invoice_id is null then ${entryCents} else 0 end), 0)`.as(
          'unbilled_cents',
        ),
      ])
      .where('user_id', '=', userId)
      .where('end_time', 'is not', null)
      .executeTakeFirstOrThrow(),
    findActiveEntry(db, userId),
  ]);
  // The running timer counts in the periods it started in, up to now.
  const runningSeconds = running ? Math.max(0, Math.floor((at.getTime() - Date.parse(running.start_time)) / 1000)) : 0;
  const runningIn = (period: keyof typeof starts) =>
    running && running.start_time >= starts[period] && running.start_time < ends[period] ? runningSeconds : 0;
  return {
    today_seconds: Number(finished.today_seconds) + runningIn('today'),
    week_seconds: Number(finished.week_seconds) + runningIn('week'),
    month_seconds: Number(finished.month_seconds) + runningIn('month'),
    billable_seconds: Number(finished.billable_seconds),
    unbilled_amount: fromCents(Number(finished.unbilled_cents)),
  };
}

/** Which of `ids` are not the caller's entries. */
export async function foreignEntryIds(db: FreelanceDb, userId: string, ids: string[]): Promise<string[]> {
  const rows = await db.selectFrom('freelance_time_entries').select('id').where('user_id', '=', userId).where('id', 'in', ids).execute();
  const own = new Set(rows.map((row) => row.id));
  return ids.filter((id) => !own.has(id));
}

/**
 * Marks every billable, finished, unbilled entry among `ids` as billed by `invoiceId`, and returns
 * them as invoice items (oldest first). The claim is one UPDATE whose WHERE re-checks
 * `invoice_id is null` under the row lock, so two concurrent requests can never both bill an entry.
 */
export async function claimEntriesForInvoice(
  trx: Transaction<CoreTables & FreelanceTables>,
  userId: string,
  ids: string[],
  invoiceId: string,
): Promise<StoredItem[]> {
  const claimed = await trx
    .updateTable('freelance_time_entries')
    .set({ invoice_id: invoiceId, updated_at: now() })
    .where('user_id', '=', userId)
    .where('id', 'in', ids)
    .where('invoice_id', 'is', null)
    .where('end_time', 'is not', null)
    .where('is_billable', '=', true)
    .returning(['id', 'description', 'start_time', 'duration', 'hourly_rate'])
    .execute();
  claimed.sort((a, b) => (a.start_time === b.start_time ? a.id.localeCompare(b.id) : a.start_time.localeCompare(b.start_time)));
  return claimed.map((entry) => {
    const quantity = hoursFromSeconds(Number(entry.duration));
    const rate = entry.hourly_rate === null ? 0 : Number(entry.hourly_rate);
    return { description: entry.description, quantity, rate, amount: lineAmountCents(quantity, rate) };
  });
}

/** A project's client and rate (cents), which a new entry on it inherits; null if not the caller's. */
export async function projectDefaults(db: FreelanceDb, userId: string, projectId: string) {
  const row = await db
    .selectFrom('freelance_projects')
    .select(['client_id', 'hourly_rate'])
    .where('id', '=', projectId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row ? { client_id: row.client_id, hourly_rate: row.hourly_rate === null ? null : Number(row.hourly_rate) } : null;
}
