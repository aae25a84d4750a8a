import { sql, type Selectable } from 'kysely';
import { newId, now } from '../../../core/db/columns.js';
import { textMatches } from '../../../core/db/search.js';
import { fromCents } from '../../../core/http/schemas.js';
import { findOwnedRow, withUnderscoreId, type FreelanceDb } from '../common.js';
import type { FreelanceClientsTable } from '../tables.js';
import type { Client, CreateClientBody, UpdateClientBody } from './schema.js';

const toClient = (row: Selectable<FreelanceClientsTable>): Client => withUnderscoreId(row);

export async function listClients(db: FreelanceDb, userId: string, query: { search?: string; limit: number; offset: number }): Promise<Client[]> {
  let select = db.selectFrom('freelance_clients').selectAll().where('user_id', '=', userId);
  if (query.search) select = select.where(textMatches(['name', 'company', 'email'], query.search));
  const rows = await select
    .orderBy(sql`lower(name)`)
    .orderBy('name')
    .orderBy('id')
    .limit(query.limit)
    .offset(query.offset)
    .execute();
  return rows.map(toClient);
}

export async function findClient(db: FreelanceDb, userId: string, id: string): Promise<Client | null> {
  const row = await findOwnedRow.freelance_clients(db, userId, id);
  return row ? toClient(row) : null;
}

export async function insertClient(db: FreelanceDb, userId: string, body: CreateClientBody): Promise<Client> {
  const at = now();
  const row = await db
    .insertInto('freelance_clients')
    .values({
      id: newId(),
      user_id: userId,
      name: body.name,
      email: body.email ?? null,
      phone: body.phone ?? null,
      company: body.company ?? null,
      address: body.address ?? null,
      notes: body.notes ?? null,
      created_at: at,
      updated_at: at,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toClient(row);
}

export async function updateClient(db: FreelanceDb, userId: string, id: string, body: UpdateClientBody): Promise<Client | null> {
  const row = await db
    .updateTable('freelance_clients')
    .set({ ...body, updated_at: now() })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .returningAll()
    .executeTakeFirst();
  return row ? toClient(row) : null;
}

export async function clientHasInvoices(db: FreelanceDb, userId: string, id: string): Promise<boolean> {
  const row = await db.selectFrom('freelance_invoices').select('id').where('client_id', '=', id).where('user_id', '=', userId).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** Deletes the client; projects, time entries and contracts keep their rows with `client_id` cleared (FK). */
export async function deleteClient(db: FreelanceDb, userId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('freelance_clients').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

export async function clientStats(db: FreelanceDb, userId: string, clientId: string) {
  const [invoices, time] = await Promise.all([
    db
      .selectFrom('freelance_invoices')
      .select([
        sql<number>`count(*)`.as('invoice_count'),
        sql<number>`coalesce(sum(case when status in ('sent', 'overdue', 'paid') then total else 0 end), 0)`.as('total_invoiced'),
        sql<number>`coalesce(sum(case when status = 'paid' then total else 0 end), 0)`.as('total_paid'),
        sql<number>`coalesce(sum(case when status in ('sent', 'overdue') then total else 0 end), 0)`.as('total_outstanding'),
      ])
      .where('user_id', '=', userId)
      .where('client_id', '=', clientId)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('freelance_time_entries')
      .select([
        sql<number>`coalesce(sum(duration), 0)`.as('tracked_seconds'),
        sql<number>`coalesce(sum(case when is_billable = ${true} then duration else 0 end), 0)`.as('billable_seconds'),
      ])
      .where('user_id', '=', userId)
      .where('client_id', '=', clientId)
      .where('end_time', 'is not', null)
      .executeTakeFirstOrThrow(),
  ]);
  return {
    invoice_count: Number(invoices.invoice_count),
    total_invoiced: fromCents(Number(invoices.total_invoiced)),
    total_paid: fromCents(Number(invoices.total_paid)),
    total_outstanding: fromCents(Number(invoices.total_outstanding)),
    tracked_seconds: Number(time.tracked_seconds),
    billable_seconds: Number(time.billable_seconds),
  };
}
