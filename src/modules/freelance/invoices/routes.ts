import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { now, todayUtc } from '../../../core/db/columns.js';
import { conflict, notFound } from '../../../core/http/errors.js';
import { IdParams, MessageBody } from '../../../core/http/schemas.js';
import { assertOwnReference, referencesStillExist } from '../common.js';
import { centsOf } from '../money.js';
import type { FreelanceTables } from '../tables.js';
import { renderInvoicePdf } from './pdf.js';
import * as repo from './repo.js';
import {
  assertInvoiceMove,
  computeInvoiceAmounts,
  duplicateDates,
  effectiveInvoiceStatus,
  isInvoiceEditable,
  storedItemsOf,
  totalsOfStoredItems,
  type InvoiceStatus,
} from './rules.js';
import { CreateInvoiceBody, Invoice, InvoiceListQuery, InvoiceSummary, InvoiceWithClient, StatusBody, UpdateInvoiceBody } from './schema.js';

const tags = ['freelance: invoices'];

export async function invoiceRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const db = app.db.withTables<FreelanceTables>();
  app.addRouteGuard(app.requireUser);

  /**
   * One update path for PUT and PATCH .../status. `statusOnly` is a pure status change: the move
   * must be allowed (the same status is not a move). In a PUT that also changes other fields, a
   * status equal to the current one is just the client echoing it back.
   */
  async function changeInvoice(userId: string, id: string, body: UpdateInvoiceBody, statusOnly: boolean): Promise<Invoice> {
    const change = db.transaction().execute(async (trx) => {
      const row = await repo.findInvoiceRow(trx, userId, id);
      if (!row) throw notFound('Invoice');
      const stored = row.status as InvoiceStatus;
      const effective = effectiveInvoiceStatus(stored, row.due_date, todayUtc());
      const changes: repo.InvoiceChanges = {};

      if (body.status !== undefined && (statusOnly || (body.status !== stored && body.status !== effective))) {
        assertInvoiceMove(stored, body.status);
        changes.status = body.status;
        if (body.status === 'paid') changes.paid_at = now();
      }

      const editable = isInvoiceEditable(stored);
      const locked = () => conflict(`Items, amounts, client and currency can only change while the invoice is a draft (it is ${effective})`, 'INVOICE_LOCKED');
      // Items and amounts: recomputed from what is sent merged with what is stored.
      if (body.items !== undefined || body.tax !== undefined || body.discount !== undefined) {
        const items = body.items !== undefined ? storedItemsOf(body.items) : repo.parseItems(row.items);
        const tax = body.tax !== undefined ? centsOf(body.tax, 'tax') : Number(row.tax);
        const discount = body.discount !== undefined ? centsOf(body.discount, 'discount') : Number(row.discount);
        let amounts: ReturnType<typeof totalsOfStoredItems>;
        try {
          amounts = totalsOfStoredItems(items, tax, discount);
        } catch (error) {
          // Totals that break a rule are a change, and a locked invoice takes none: 409, not the rule's 400.
          if (!editable) throw locked();
          throw error;
        }
        const same =
          JSON.stringify(amounts.items) === row.items && amounts.tax === Number(row.tax) && amounts.discount === Number(row.discount);
        if (!same) changes.amounts = amounts;
      }
      if (body.client_id !== undefined && body.client_id !== row.client_id) {
        if (!editable) throw locked();
        await assertOwnReference(trx, 'freelance_clients', userId, body.client_id, 'client_id');
        changes.client_id = body.client_id;
      }
      if (body.currency !== undefined && body.currency !== row.currency) changes.currency = body.currency;
      if ((changes.amounts || changes.client_id || changes.currency) && !editable) throw locked();

      if (body.date !== undefined) changes.date = body.date;
      if (body.due_date !== undefined) changes.due_date = body.due_date;
      if (body.notes !== undefined) changes.notes = body.notes;
      if (body.payment_terms !== undefined) changes.payment_terms = body.payment_terms;
      await repo.updateInvoice(trx, userId, id, stored, changes);
      return repo.mustFindInvoice(trx, userId, id);
    });
    return referencesStillExist(change);
  }

  app.get(
    '/api/invoices',
    {
      schema: {
        tags,
        summary: 'Your invoices with client_name, newest first (limit default 100, max 500)',
        querystring: InvoiceListQuery,
        response: { 200: Type.Array(Invoice) },
      },
    },
    async (request) => repo.listInvoices(db, request.user.id, request.query),
  );

  app.get('/api/invoices/summary', { schema: { tags, summary: 'Counts and totals of your invoices', response: { 200: InvoiceSummary } } }, async (request) =>
    repo.invoiceSummary(db, request.user.id),
  );

  app.post(
    '/api/invoices',
    { schema: { tags, summary: 'Create a draft invoice; the server numbers it and computes every amount', body: CreateInvoiceBody, response: { 201: Invoice } } },
    async (request, reply) => {
      const body = request.body;
      const userId = request.user.id;
      const amounts = computeInvoiceAmounts(body.items ?? [], body.tax ?? 0, body.discount ?? 0);
      const create = db.transaction().execute(async (trx) => {
        await assertOwnReference(trx, 'freelance_clients', userId, body.client_id, 'client_id');
        const id = await repo.insertInvoice(trx, userId, {
          client_id: body.client_id,
          date: body.date ?? todayUtc(),
          due_date: body.due_date,
          amounts,
          currency: body.currency ?? 'USD',
          notes: body.notes ?? null,
          payment_terms: body.payment_terms ?? null,
        });
        return repo.mustFindInvoice(trx, userId, id);
      });
      return reply.code(201).send(await referencesStillExist(create));
    },
  );

  app.get('/api/invoices/:id', { schema: { tags, summary: 'One invoice with its client', params: IdParams, response: { 200: InvoiceWithClient } } }, async (request) => {
    const invoice = await repo.findInvoiceWithClient(db, request.user.id, request.params.id);
    if (!invoice) throw notFound('Invoice');
    return invoice;
  });

  app.put(
    '/api/invoices/:id',
    {
      schema: {
        tags,
        summary: 'Change an invoice; items and amounts only while draft; {status} alone is a status change',
        params: IdParams,
        body: UpdateInvoiceBody,
        response: { 200: Invoice },
      },
    },
    async (request) => {
      const keys = Object.keys(request.body);
      return changeInvoice(request.user.id, request.params.id, request.body, keys.length === 1 && keys[0] === 'status');
    },
  );

  app.patch(
    '/api/invoices/:id/status',
    {
      schema: {
        tags,
        summary: 'Move an invoice: draft->sent|cancelled, sent->paid|overdue|cancelled, overdue->paid|cancelled',
        params: IdParams,
        body: StatusBody,
        response: { 200: Invoice },
      },
    },
    async (request) => changeInvoice(request.user.id, request.params.id, request.body, true),
  );

  app.delete(
    '/api/invoices/:id',
    { schema: { tags, summary: 'Delete a draft or cancelled invoice', params: IdParams, response: { 200: MessageBody } } },
    async (request) => {
      const outcome = await repo.deleteInvoice(db, request.user.id, request.params.id);
      if (outcome === 'missing') throw notFound('Invoice');
      if (outcome === 'locked') throw conflict('Only draft and cancelled invoices can be deleted', 'INVOICE_NOT_DELETABLE');
      return { message: 'Invoice deleted' };
    },
  );

  app.post(
    '/api/invoices/:id/duplicate',
    { schema: { tags, summary: 'Copy an invoice into a new draft with a new number', params: IdParams, response: { 201: Invoice } } },
    async (request, reply) => {
      const userId = request.user.id;
      const invoice = await db.transaction().execute(async (trx) => {
        const original = await repo.findInvoiceRow(trx, userId, request.params.id);
        if (!original) throw notFound('Invoice');
        const id = await repo.insertInvoice(trx, userId, {
          client_id: original.client_id,
          ...duplicateDates(original, todayUtc()),
          amounts: totalsOfStoredItems(repo.parseItems(original.items), Number(original.tax), Number(original.discount)),
          currency: original.currency,
          notes: original.notes,
          payment_terms: original.payment_terms,
        });
        return repo.mustFindInvoice(trx, userId, id);
      });
      return reply.code(201).send(invoice);
    },
  );

  app.get(
    '/api/invoices/:id/pdf',
    {
      schema: {
        tags,
        summary: 'The invoice as a PDF document',
        params: IdParams,
        produces: ['application/pdf'],
        // Buffers are sent as they are; the schema only documents the body in /openapi.json.
        response: { 200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary', description: 'application/pdf' }) },
      },
    },
    async (request, reply) => {
      const invoice = await repo.findInvoiceWithClient(db, request.user.id, request.params.id);
      if (!invoice) throw notFound('Invoice');
      const pdf = await renderInvoicePdf(invoice, { name: request.user.name, email: request.user.email });
      return reply
        .type('application/pdf')
        .header('content-disposition', `inline; filename="${invoice.invoice_number}.pdf"`)
        .header('cache-control', 'private, no-store')
        .send(pdf);
    },
  );
}
