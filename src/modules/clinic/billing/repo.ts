import { sql, type Kysely, type Selectable } from 'kysely';
import { now } from '../../../core/db/columns.js';
import { fromCents } from '../../../core/http/schemas.js';
import type { Trx } from '../common.js';
import type { ClinicDb, ClinicInvoicesTable, ClinicPaymentsTable } from '../tables.js';
import { PAYMENT_METHODS, type Invoice, type Payment } from './schema.js';

type Db = Kysely<ClinicDb> | Trx;
export type InvoiceRow = Selectable<ClinicInvoicesTable>;
export type PaymentRow = Selectable<ClinicPaymentsTable>;

export interface StoredItem {
  description: string;
  quantity: number;
  unit_price: number;
  item_type: string | null;
  amount: number;
}

export function toInvoice(row: InvoiceRow): Invoice {
  const items = JSON.parse(row.items) as StoredItem[];
  return {
    id: row.id,
    invoice_number: row.invoice_number,
    patient_id: row.patient_id,
    visit_id: row.visit_id,
    items: items.map(({ unit_price, amount, ...item }) => ({ unit_price: fromCents(unit_price), amount: fromCents(amount), ...item })),
    subtotal: fromCents(Number(row.subtotal)),
    vat: fromCents(Number(row.vat)),
    discount: fromCents(Number(row.discount)),
    total: fromCents(Number(row.total)),
    amount_paid: fromCents(Number(row.amount_paid)),
    balance: fromCents(Number(row.total) - Number(row.amount_paid)),
    status: row.status as Invoice['status'],
    due_date: row.due_date,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export const toPayment = (row: PaymentRow): Payment => ({
  id: row.id,
  invoice_id: row.invoice_id,
  amount: fromCents(Number(row.amount)),
  method: row.method as Payment['method'],
  reference: row.reference,
  notes: row.notes,
  received_by: row.received_by,
  created_at: row.created_at,
});

/** `lock` (PostgreSQL only): the row stays locked until the transaction ends, so payments on it run one after the other. */
export async function findInvoice(db: Db, id: string, lock = false): Promise<InvoiceRow | undefined> {
  const query = db.selectFrom('clinic_invoices').selectAll().where('id', '=', id);
  return (lock ? query.forNoKeyUpdate() : query).executeTakeFirst();
}

/** Whether a payment by `method` with this reference (an M-Pesa receipt number) is already recorded. */
export async function paymentReferenceUsed(db: Db, method: string, reference: string): Promise<boolean> {
  const row = await db.selectFrom('clinic_payments').select('id').where('method', '=', method).where('reference', '=', reference).executeTakeFirst();
  return row !== undefined;
}

export async function invoicePayments(db: Db, invoiceId: string): Promise<PaymentRow[]> {
  // An invoice is settled in a handful of payments; the cap only guards against abuse.
  return db.selectFrom('clinic_payments').selectAll().where('invoice_id', '=', invoiceId).orderBy('created_at', 'asc').orderBy('id', 'asc').limit(1000).execute();
}

export async function listInvoices(db: Db, filter: { status?: string; patient_id?: string; limit: number; offset: number }) {
  let query = db.selectFrom('clinic_invoices');
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.patient_id) query = query.where('patient_id', '=', filter.patient_id);
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).offset(filter.offset).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.total) };
}

/**
 * Adds a payment to what the invoice has received, only if it stays within the total: the check and
 * the change are one statement, so concurrent payments can never together overpay.
 */
export async function applyPayment(trx: Trx, invoiceId: string, amountCents: number): Promise<InvoiceRow | undefined> {
  return trx
    .updateTable('clinic_invoices')
    .set({
      amount_paid: sql`amount_paid + ${amountCents}`,
      status: sql`case when amount_paid + ${amountCents} >= total then 'paid' else 'partial' end`,
      updated_at: now(),
    })
    .where('id', '=', invoiceId)
    .where(sql<boolean>`amount_paid + ${amountCents} <= total`)
    .returningAll()
    .executeTakeFirst();
}

export async function financialReport(db: Db, range: { start: string; end: string }) {
  const inRange = <T extends 'clinic_payments' | 'clinic_invoices'>(table: T) =>
    db.selectFrom(table as 'clinic_payments').where('created_at', '>=', range.start).where('created_at', '<', range.end);
  const day = sql<string>`substr(created_at, 1, 10)`;
  const [byDay, byMethod, invoices] = await Promise.all([
    inRange('clinic_payments')
      .select([day.as('date'), (eb) => eb.fn.sum<number>('amount').as('amount')])
      .groupBy(day)
      .orderBy(day)
      .execute(),
    inRange('clinic_payments')
      .select(['method', (eb) => eb.fn.sum<number>('amount').as('amount')])
      .groupBy('method')
      .execute(),
    db
      .selectFrom('clinic_invoices')
      .where('created_at', '>=', range.start)
      .where('created_at', '<', range.end)
      .select([(eb) => eb.fn.countAll<number>().as('n'), sql<number>`coalesce(sum(total - amount_paid), 0)`.as('outstanding')])
      .executeTakeFirstOrThrow(),
  ]);
  const paymentsByMethod = Object.fromEntries(PAYMENT_METHODS.map((method) => [method, 0])) as Record<string, number>;
  for (const row of byMethod) paymentsByMethod[row.method] = fromCents(Number(row.amount));
  return {
    revenue_by_day: byDay.map((row) => ({ date: row.date, amount: fromCents(Number(row.amount)) })),
    payments_by_method: paymentsByMethod,
    outstanding_total: fromCents(Number(invoices.outstanding)),
    invoice_count: Number(invoices.n),
  };
}
