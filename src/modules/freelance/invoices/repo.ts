import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { newId, now, todayUtc } from '../../../core/db/columns.js';
import { nextSequenceValue } from '../../../core/db/sequences.js';
import type { CoreTables } from '../../../core/db/tables.js';
import { conflict, notFound } from '../../../core/http/errors.js';
import { fromCents } from '../../../core/http/schemas.js';
import type { FreelanceDb } from '../common.js';
import type { FreelanceInvoicesTable, FreelanceTables } from '../tables.js';
import {
  effectiveInvoiceStatus,
  formatInvoiceNumber,
  invoiceSequenceScope,
  type InvoiceAmounts,
  type InvoiceStatus,
  type StoredItem,
} from './rules.js';
import type { Invoice, InvoiceListQuery, InvoiceWithClient } from './schema.js';

type InvoiceRow = Selectable<FreelanceInvoicesTable> & { client_name: string | null };

export function parseItems(json: string): StoredItem[] {
  return JSON.parse(json) as StoredItem[];
}

export function toInvoice(row: InvoiceRow, today = todayUtc()): Invoice {
  return {
    id: row.id,
    _id: row.id,
    user_id: row.user_id,
    invoice_number: row.invoice_number,
    client_id: row.client_id,
    client_name: row.client_name,
    date: row.date,
    due_date: row.due_date,
    items: parseItems(row.items).map((item) => ({ description: item.description, quantity: item.quantity, rate: fromCents(item.rate), amount: fromCents(item.amount) })),
    subtotal: fromCents(Number(row.subtotal)),
    tax: fromCents(Number(row.tax)),
    discount: fromCents(Number(row.discount)),
    total: fromCents(Number(row.total)),
    currency: row.currency,
    status: effectiveInvoiceStatus(row.status as InvoiceStatus, row.due_date, today),
    notes: row.notes,
    payment_terms: row.payment_terms,
    paid_at: row.paid_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

function selectInvoices(db: FreelanceDb, userId: string) {
  return db
    .selectFrom('freelance_invoices')
    .leftJoin('freelance_clients', 'freelance_clients.id', 'freelance_invoices.client_id')
    .selectAll('freelance_invoices')
    .select('freelance_clients.name as client_name')
    .where('freelance_invoices.user_id', '=', userId);
}

export async function listInvoices(db: FreelanceDb, userId: string, query: InvoiceListQuery): Promise<Invoice[]> {
  const today = todayUtc();
  let select = selectInvoices(db, userId);
  if (query.client_id) select = select.where('freelance_invoices.client_id', '=', query.client_id);
  if (query.status === 'overdue') {
    select = select.where((eb) =>
      eb.or([
        eb('freelance_invoices.status', '=', 'overdue'),
        eb.and([eb('freelance_invoices.status', '=', 'sent'), eb('freelance_invoices.due_date', '<', today)]),
      ]),
    );
  } else if (query.status === 'sent') {
    select = select.where('freelance_invoices.status', '=', 'sent').where('freelance_invoices.due_date', '>=', today);
  } else if (query.status) {
    select = select.where('freelance_invoices.status', '=', query.status);
  }
  const rows = await select
    .orderBy('freelance_invoices.created_at', 'desc')
    .orderBy('freelance_invoices.id', 'desc')
    .limit(query.limit)
    .offset(query.offset)
    .execute();
  return rows.map((row) => toInvoice(row, today));
}

export async function findInvoiceRow(db: FreelanceDb, userId: string, id: string): Promise<InvoiceRow | undefined> {
  return selectInvoices(db, userId).where('freelance_invoices.id', '=', id).executeTakeFirst();
}

export async function findInvoice(db: FreelanceDb, userId: string, id: string): Promise<Invoice | null> {
  const row = await findInvoiceRow(db, userId, id);
  return row ? toInvoice(row) : null;
}

export async function findInvoiceWithClient(db: FreelanceDb, userId: string, id: string): Promise<InvoiceWithClient | null> {
  const row = await selectInvoices(db, userId)
    .select([
      'freelance_clients.id as c_id',
      'freelance_clients.email as c_email',
      'freelance_clients.phone as c_phone',
      'freelance_clients.company as c_company',
      'freelance_clients.address as c_address',
    ])
    .where('freelance_invoices.id', '=', id)
    .executeTakeFirst();
  if (!row) return null;
  const client =
    row.c_id === null || row.client_name === null
      ? null
      : { id: row.c_id, _id: row.c_id, name: row.client_name, email: row.c_email, phone: row.c_phone, company: row.c_company, address: row.c_address };
  return { ...toInvoice(row), client };
}

export interface NewInvoice {
  client_id: string;
  date: string;
  due_date: string;
  amounts: InvoiceAmounts;
  currency: string;
  notes: string | null;
  payment_terms: string | null;
}

/**
 * Inserts a draft with the user's next invoice number. Must run inside the caller's transaction:
 * the number is allocated there, so concurrent creates never share one and a rollback returns it.
 */
export async function insertInvoice(trx: Transaction<CoreTables & FreelanceTables>, userId: string, invoice: NewInvoice): Promise<string> {
  // The sequence helper is typed on the core tables, which this transaction includes.
  const sequence = await nextSequenceValue(trx as unknown as Kysely<CoreTables>, invoiceSequenceScope(userId));
  const at = now();
  const id = newId();
  await trx
    .insertInto('freelance_invoices')
    .values({
      id,
      user_id: userId,
      client_id: invoice.client_id,
      invoice_number: formatInvoiceNumber(sequence),
      date: invoice.date,
      due_date: invoice.due_date,
      items: JSON.stringify(invoice.amounts.items),
      subtotal: invoice.amounts.subtotal,
      tax: invoice.amounts.tax,
      discount: invoice.amounts.discount,
      total: invoice.amounts.total,
      currency: invoice.currency,
      status: 'draft',
      notes: invoice.notes,
      payment_terms: invoice.payment_terms,
      paid_at: null,
      created_at: at,
      updated_at: at,
    })
    .execute();
  return id;
}

export interface InvoiceChanges {
  client_id?: string;
  date?: string;
  due_date?: string;
  amounts?: InvoiceAmounts;
  currency?: string;
  notes?: string | null;
  payment_terms?: string | null;
  status?: InvoiceStatus;
  paid_at?: string;
}

/**
 * Applies changes to an invoice still in `expectedStatus`: a concurrent status change makes this
 * a 409 instead of silently overwriting it (paid then cancelled, say).
 */
export async function updateInvoice(db: FreelanceDb, userId: string, id: string, expectedStatus: InvoiceStatus, changes: InvoiceChanges): Promise<void> {
  const { amounts, ...rest } = changes;
  const result = await db
    .updateTable('freelance_invoices')
    .set({
      ...rest,
      ...(amounts
        ? { items: JSON.stringify(amounts.items), subtotal: amounts.subtotal, tax: amounts.tax, discount: amounts.discount, total: amounts.total }
        : {}),
      updated_at: now(),
    })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('status', '=', expectedStatus)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) throw conflict('The invoice was changed by another request; reload it and try again', 'CONCURRENT_UPDATE');
}

/** Deletes a draft or cancelled invoice; its time entries become billable again (FK set null). */
export async function deleteInvoice(db: FreelanceDb, userId: string, id: string): Promise<'deleted' | 'missing' | 'locked'> {
  const result = await db
    .deleteFrom('freelance_invoices')
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('status', 'in', ['draft', 'cancelled'])
    .executeTakeFirst();
  if (Number(result.numDeletedRows) === 1) return 'deleted';
  const exists = await db.selectFrom('freelance_invoices').select('id').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  return exists ? 'locked' : 'missing';
}

export async function invoiceSummary(db: FreelanceDb, userId: string) {
  const today = todayUtc();
  const overdue = sql`(status = 'overdue' or (status = 'sent' and due_date < ${today}))`;
  const row = await db
    .selectFrom('freelance_invoices')
    .select([
      sql<number>`count(*)`.as('total_invoices'),
      sql<number>`coalesce(sum(case when status = 'draft' then 1 else 0 end), 0)`.as('draft_count'),
      sql<number>`coalesce(sum(case when status = 'sent' and due_date >= ${today} then 1 else 0 end), 0)`.as('sent_count'),
      sql<number>`coalesce(sum(case when status = 'paid' then 1 else 0 end), 0)`.as('paid_count'),
      sql<number>`coalesce(sum(case when ${overdue} then 1 else 0 end), 0)`.as('overdue_count'),
      sql<number>`coalesce(sum(case when status = 'paid' then total else 0 end), 0)`.as('total_paid'),
      sql<number>`coalesce(sum(case when status in ('sent', 'overdue') then total else 0 end), 0)`.as('total_outstanding'),
      sql<number>`coalesce(sum(case when status <> 'cancelled' then total else 0 end), 0)`.as('total_amount'),
    ])
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return {
    total_invoices: Number(row.total_invoices),
    draft_count: Number(row.draft_count),
    sent_count: Number(row.sent_count),
    paid_count: Number(row.paid_count),
    overdue_count: Number(row.overdue_count),
    total_paid: fromCents(Number(row.total_paid)),
    total_outstanding: fromCents(Number(row.total_outstanding)),
    total_amount: fromCents(Number(row.total_amount)),
  };
}

/** The invoice as the route answers it, read inside the transaction that changed it. */
export async function mustFindInvoice(db: FreelanceDb, userId: string, id: string): Promise<Invoice> {
  const invoice = await findInvoice(db, userId, id);
  if (!invoice) throw notFound('Invoice');
  return invoice;
}
