import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AuditTables } from '../../../core/audit/tables.js';
import { addDays, newId, now } from '../../../core/db/columns.js';
import { isUniqueViolation } from '../../../core/db/errors.js';
import { badRequest, conflict, invalidField, invalidReference, notFound } from '../../../core/http/errors.js';
import { fromCents, IdParams, toCents } from '../../../core/http/schemas.js';
import { audit, checkDateOrder, dateRange, nextNumber } from '../common.js';
import { findPatient } from '../patients/repo.js';
import { ALLOWED, requireClinicRole } from '../roles.js';
import type { ClinicTables } from '../tables.js';
import * as repo from './repo.js';
import { canonicalJson, invoiceStatus, invoiceTotals, isProblem } from './rules.js';
import {
  CreateInvoiceBody,
  CreatePaymentBody,
  FinancialReport,
  Invoice,
  InvoiceList,
  InvoicesQuery,
  InvoiceWithPayments,
  PaymentHeaders,
  PaymentResult,
  ReportQuery,
} from './schema.js';

const tags = ['clinic: billing'];
const DUE_DAYS = 30;

type PaymentResultBody = { payment: ReturnType<typeof repo.toPayment>; invoice: ReturnType<typeof repo.toInvoice> };

export async function billingRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const db = app.db.withTables<ClinicTables & AuditTables>();
  const onRequest = requireClinicRole(app, db, ALLOWED.billing);
  const vatRate = app.config.vatRate;

  app.post(
    '/api/financial/invoices',
    {
      onRequest,
      schema: { tags, summary: `Bill a patient; VAT ${vatRate * 100}% of the subtotal, due in ${DUE_DAYS} days`, body: CreateInvoiceBody, response: { 201: Invoice } },
    },
    async (request, reply) => {
      const body = request.body;
      const items = body.items.map((item) => {
        const unitPrice = toCents(item.unit_price);
        return { description: item.description.trim(), quantity: item.quantity, unit_price: unitPrice, item_type: item.item_type?.trim() ?? null, amount: unitPrice * item.quantity };
      });
      const totals = invoiceTotals(
        items.map((item) => ({ quantity: item.quantity, unit_price_cents: item.unit_price })),
        toCents(body.discount ?? 0),
        vatRate,
      );
      if (isProblem(totals)) throw invalidField(totals.field, totals.message);
      const row = await db.transaction().execute(async (trx) => {
        if (!(await findPatient(trx, body.patient_id))) throw invalidReference('patient_id', 'Patient');
        if (body.visit_id) {
          const visit = await trx.selectFrom('visits').select('id').where('id', '=', body.visit_id).where('patient_id', '=', body.patient_id).executeTakeFirst();
          if (!visit) throw invalidReference('visit_id', 'Visit');
        }
        const at = now();
        const year = at.slice(0, 4);
        const n = await nextNumber(trx, `clinic:invoice:${year}`);
        const invoice = {
          id: newId(),
          invoice_number: `INV-${year}-${String(n).padStart(5, '0')}`,
          patient_id: body.patient_id,
          visit_id: body.visit_id ?? null,
          items: JSON.stringify(items),
          ...totals,
          amount_paid: 0,
          status: invoiceStatus(totals.total, 0),
          due_date: addDays(at.slice(0, 10), DUE_DAYS),
          created_by: request.user.id,
          created_at: at,
          updated_at: at,
        };
        await trx.insertInto('clinic_invoices').values(invoice).execute();
        await audit(trx, request, 'create', 'invoice', invoice.id, { invoice_number: invoice.invoice_number, total: fromCents(totals.total) });
        return invoice;
      });
      return reply.code(201).send(repo.toInvoice(row));
    },
  );

  app.get(
    '/api/financial/invoices',
    { onRequest, schema: { tags, summary: 'List invoices, newest first; limit default 50, max 200', querystring: InvoicesQuery, response: { 200: InvoiceList } } },
    async (request) => {
      const { rows, total } = await repo.listInvoices(db, request.query);
      return { invoices: rows.map(repo.toInvoice), pagination: { limit: request.query.limit, offset: request.query.offset, total } };
    },
  );

  app.get(
    '/api/financial/invoices/:id',
    { onRequest, schema: { tags, summary: 'One invoice with its payments', params: IdParams, response: { 200: InvoiceWithPayments } } },
    async (request) => {
      const invoice = await repo.findInvoice(db, request.params.id);
      if (!invoice) throw notFound('Invoice');
      const payments = await repo.invoicePayments(db, invoice.id);
      return { ...repo.toInvoice(invoice), payments: payments.map(repo.toPayment) };
    },
  );

  app.post(
    '/api/financial/payments',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Record a payment; with Idempotency-Key a retry answers the first result and never pays twice',
        headers: PaymentHeaders,
        body: CreatePaymentBody,
        response: { 201: PaymentResult },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const key = request.headers['idempotency-key'];
      const reference = body.reference?.trim() || null;
      if (body.method === 'mpesa' && !reference) {
        throw badRequest('An M-Pesa payment needs its transaction reference', 'VALIDATION_FAILED', [{ field: 'reference', message: 'is required when method is mpesa' }]);
      }
      const amount = toCents(body.amount); // whole cents above 0: the schema saw to it
      const requestHash = createHash('sha256').update(canonicalJson(body)).digest('hex');

      const replay = (stored: { request_hash: string; response: string }) => {
        if (stored.request_hash !== requestHash) {
          throw conflict('This Idempotency-Key was used for a different payment', 'IDEMPOTENCY_KEY_REUSED');
        }
        return reply.code(201).header('idempotent-replayed', 'true').send(JSON.parse(stored.response) as PaymentResultBody);
      };
      const findKey = (executor: typeof db) =>
        executor.selectFrom('clinic_payment_keys').select(['request_hash', 'response']).where('user_id', '=', request.user.id).where('key', '=', key!).executeTakeFirst();

      let outcome: { replay: { request_hash: string; response: string } } | { result: PaymentResultBody };
      try {
        outcome = await db.transaction().execute(async (trx) => {
          const paymentId = newId();
          if (key) {
            const stored = await findKey(trx);
            if (stored) return { replay: stored };
            // Claimed first: a concurrent retry with the same key waits on this row and then fails
            // on the unique key, instead of running the payment a second time.
            await trx
              .insertInto('clinic_payment_keys')
              .values({ user_id: request.user.id, key, request_hash: requestHash, payment_id: paymentId, response: '', created_at: now() })
              .execute();
          }
          // Locked on PostgreSQL, so a concurrent copy of this payment waits here and then sees it recorded.
          const invoice = await repo.findInvoice(trx, body.invoice_id, app.database.dialect === 'postgres');
          if (!invoice) throw invalidReference('invoice_id', 'Invoice');
          // An M-Pesa receipt number is unique: the same one twice is a payment entered twice.
          if (body.method === 'mpesa' && (await repo.paymentReferenceUsed(trx, 'mpesa', reference!))) {
            throw conflict('This M-Pesa transaction is already recorded', 'DUPLICATE_PAYMENT');
          }
          const balance = Number(invoice.total) - Number(invoice.amount_paid);
          if (amount > balance) {
            throw badRequest(`The payment exceeds the balance of ${fromCents(balance).toFixed(2)}`, 'OVERPAYMENT', [
              { field: 'amount', message: `must not exceed the balance of ${fromCents(balance).toFixed(2)}` },
            ]);
          }
          const updated = await repo.applyPayment(trx, invoice.id, amount);
          if (!updated) throw badRequest('The payment exceeds the balance', 'OVERPAYMENT', [{ field: 'amount', message: 'must not exceed the balance' }]);
          const payment = {
            id: paymentId,
            invoice_id: invoice.id,
            amount,
            method: body.method,
            reference,
            notes: body.notes?.trim() || null,
            received_by: request.user.id,
            created_at: now(),
          };
          await trx.insertInto('clinic_payments').values(payment).execute();
          const result = { payment: repo.toPayment(payment), invoice: repo.toInvoice(updated) };
          if (key) {
            await trx.updateTable('clinic_payment_keys').set({ response: JSON.stringify(result) }).where('user_id', '=', request.user.id).where('key', '=', key).execute();
          }
          await audit(trx, request, 'create', 'payment', payment.id, { invoice_id: invoice.id, amount: fromCents(amount), method: body.method, status: updated.status });
          return { result };
        });
      } catch (error) {
        if (key && isUniqueViolation(error)) {
          const stored = await findKey(db);
          if (stored) return replay(stored);
        }
        throw error;
      }
      if ('replay' in outcome) return replay(outcome.replay);
      return reply.code(201).send(outcome.result);
    },
  );

  app.get(
    '/api/financial/reports',
    { onRequest: requireClinicRole(app, db, ALLOWED.reports), schema: { tags, summary: 'Revenue and receivables over a date range (default the last 30 days)', querystring: ReportQuery, response: { 200: FinancialReport } } },
    async (request) => {
      const range = dateRange(request.query);
      checkDateOrder(range);
      return { from: range.from, to: range.to, ...(await repo.financialReport(db, range)) };
    },
  );
}
