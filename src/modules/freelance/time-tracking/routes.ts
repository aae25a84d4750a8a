import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { now, todayUtc } from '../../../core/db/columns.js';
import { isUniqueViolation } from '../../../core/db/errors.js';
import { AppError, conflict, invalidReference, notFound } from '../../../core/http/errors.js';
import { IdParams, MessageBody, Nullable } from '../../../core/http/schemas.js';
import { assertOwnReference, referencesStillExist } from '../common.js';
import * as invoiceRepo from '../invoices/repo.js';
import { totalsOfStoredItems } from '../invoices/rules.js';
import { Invoice } from '../invoices/schema.js';
import { centsOf, optionalCents } from '../money.js';
import type { FreelanceTables } from '../tables.js';
import * as repo from './repo.js';
import { durationSeconds, endAfter, normaliseTime, resolveNewEntryTimes, stoppedDuration } from './rules.js';
import {
  CreateTimeEntryBody,
  InvoiceFromTimeBody,
  StopBody,
  TimeEntry,
  TimeEntryListQuery,
  TimeSummary,
  UpdateTimeEntryBody,
} from './schema.js';

const tags = ['freelance: time tracking'];

const timerRunning = () => conflict('Another timer is already running; stop it first', 'TIMER_RUNNING');
const entryBilled = () => conflict('This time entry has been invoiced and can no longer change', 'ENTRY_BILLED');

export async function timeTrackingRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const db = app.db.withTables<FreelanceTables>();
  app.addRouteGuard(app.requireUser);

  async function projectFor(userId: string, projectId: string | null | undefined) {
    if (!projectId) return null;
    const project = await repo.projectDefaults(db, userId, projectId);
    if (!project) throw invalidReference('project_id', 'Project');
    return project;
  }

  app.get(
    '/api/time-tracking',
    {
      schema: { tags, summary: 'Your time entries, newest first (limit default 100, max 500)', querystring: TimeEntryListQuery, response: { 200: Type.Array(TimeEntry) } },
    },
    async (request) => repo.listEntries(db, request.user.id, request.query),
  );

  app.get('/api/time-tracking/active', { schema: { tags, summary: 'The running timer, or null', response: { 200: Nullable(TimeEntry) } } }, async (request) =>
    repo.findActiveEntry(db, request.user.id),
  );

  app.get(
    '/api/time-tracking/summary',
    { schema: { tags, summary: 'Tracked seconds today, this week, this month; billable time; unbilled amount', response: { 200: TimeSummary } } },
    async (request) => repo.timeSummary(db, request.user.id),
  );

  app.post(
    '/api/time-tracking',
    {
      schema: {
        tags,
        summary: 'Start a timer, or record a finished entry when end_time (or duration) is given; one running timer per user',
        body: CreateTimeEntryBody,
        response: { 201: TimeEntry },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const userId = request.user.id;
      const project = await projectFor(userId, body.project_id);
      await assertOwnReference(db, 'freelance_clients', userId, body.client_id, 'client_id');
      const { start_time: startTime, end_time: endTime } = resolveNewEntryTimes(body);
      try {
        const entry = await referencesStillExist(
          repo.insertEntry(db, userId, {
            description: body.description,
            project_id: body.project_id ?? null,
            client_id: body.client_id !== undefined ? body.client_id : (project?.client_id ?? null),
            start_time: startTime,
            end_time: endTime,
            duration: endTime ? durationSeconds(startTime, endTime) : null,
            hourly_rate: body.hourly_rate !== undefined ? (optionalCents(body.hourly_rate, 'hourly_rate') ?? null) : (project?.hourly_rate ?? null),
            is_billable: body.is_billable ?? true,
          }),
        );
        return reply.code(201).send(entry);
      } catch (error) {
        // The partial unique index on running entries: two starts racing, or a timer already running.
        if (isUniqueViolation(error)) throw timerRunning();
        throw error;
      }
    },
  );

  app.post(
    '/api/time-tracking/invoice',
    {
      schema: {
        tags,
        summary: 'Bill time entries: a draft invoice with one item per billable, finished, unbilled entry',
        body: InvoiceFromTimeBody,
        response: { 201: Invoice },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const userId = request.user.id;
      const taxCents = centsOf(body.tax ?? 0, 'tax');
      const invoice = await db.transaction().execute(async (trx) => {
        await assertOwnReference(trx, 'freelance_clients', userId, body.client_id, 'client_id');
        if ((await repo.foreignEntryIds(trx, userId, body.entry_ids)).length > 0) {
          throw new AppError(400, 'INVALID_REFERENCE', 'Time entry not found', [{ field: 'entry_ids', message: 'must reference your own time entries' }]);
        }
        const empty = totalsOfStoredItems([], taxCents, 0);
        const id = await invoiceRepo.insertInvoice(trx, userId, {
          client_id: body.client_id,
          date: todayUtc(),
          due_date: body.due_date,
          amounts: empty,
          currency: body.currency ?? 'USD',
          notes: body.notes ?? null,
          payment_terms: body.payment_terms ?? null,
        });
        const items = await repo.claimEntriesForInvoice(trx, userId, body.entry_ids, id);
        // Throwing rolls everything back, the invoice number included.
        if (items.length === 0) throw conflict('None of these entries is billable, finished and not yet invoiced', 'NOTHING_TO_BILL');
        await invoiceRepo.updateInvoice(trx, userId, id, 'draft', { amounts: totalsOfStoredItems(items, taxCents, 0) });
        return invoiceRepo.mustFindInvoice(trx, userId, id);
      });
      return reply.code(201).send(invoice);
    },
  );

  app.get('/api/time-tracking/:id', { schema: { tags, summary: 'One time entry', params: IdParams, response: { 200: TimeEntry } } }, async (request) => {
    const row = await repo.findEntryRow(db, request.user.id, request.params.id);
    if (!row) throw notFound('Time entry');
    return repo.toTimeEntry(row);
  });

  app.post(
    '/api/time-tracking/:id/stop',
    {
      // The body is optional: a bare POST stops the timer now.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: { tags, summary: 'Stop a running timer (end_time defaults to now)', params: IdParams, body: StopBody, response: { 200: TimeEntry } },
    },
    async (request) => {
      const userId = request.user.id;
      const row = await repo.findEntryRow(db, userId, request.params.id);
      if (!row) throw notFound('Time entry');
      const notRunning = () => conflict('This time entry is not running', 'TIMER_NOT_RUNNING');
      if (row.end_time !== null) throw notRunning();
      const sent = request.body.end_time !== undefined;
      // A timer whose start_time lies ahead (a client's clock or time zone off) stops at its start,
      // lasting 0 seconds, rather than refusing an end_time the client never sent. Both are ISO text of one width.
      const at = now();
      const endTime = request.body.end_time !== undefined ? normaliseTime(request.body.end_time, 'end_time') : row.start_time > at ? row.start_time : at;
      const entry = await repo.stopEntry(db, userId, row.id, endTime, stoppedDuration(row.start_time, endTime, sent));
      if (!entry) throw notRunning(); // stopped by a concurrent request
      return entry;
    },
  );

  app.put(
    '/api/time-tracking/:id',
    { schema: { tags, summary: 'Change a time entry; duration is recomputed', params: IdParams, body: UpdateTimeEntryBody, response: { 200: TimeEntry } } },
    async (request) => {
      const body = request.body;
      const userId = request.user.id;
      const row = await repo.findEntryRow(db, userId, request.params.id);
      if (!row) throw notFound('Time entry');
      if (row.invoice_id !== null) throw entryBilled();
      await projectFor(userId, body.project_id);
      await assertOwnReference(db, 'freelance_clients', userId, body.client_id, 'client_id');
      const startTime = body.start_time ? normaliseTime(body.start_time, 'start_time') : row.start_time;
      const endTime = body.end_time ? normaliseTime(body.end_time, 'end_time') : body.duration !== undefined ? endAfter(startTime, body.duration) : row.end_time;
      // A bad duration names what the client changed: the end (or duration), else the start it moved.
      const changed = body.end_time === undefined && body.duration === undefined && body.start_time !== undefined ? 'start_time' : 'end_time';
      const entry = await referencesStillExist(
        repo.updateEntry(db, userId, row.id, {
          description: body.description,
          project_id: body.project_id,
          client_id: body.client_id,
          hourly_rate: optionalCents(body.hourly_rate, 'hourly_rate'),
          is_billable: body.is_billable,
          start_time: startTime,
          end_time: endTime,
          duration: endTime === null ? null : durationSeconds(startTime, endTime, changed),
        }),
      );
      if (!entry) throw entryBilled(); // billed (or deleted) since it was read
      return entry;
    },
  );

  app.delete(
    '/api/time-tracking/:id',
    { schema: { tags, summary: 'Delete a time entry that is not invoiced', params: IdParams, response: { 200: MessageBody } } },
    async (request) => {
      const userId = request.user.id;
      const row = await repo.findEntryRow(db, userId, request.params.id);
      if (!row) throw notFound('Time entry');
      if (row.invoice_id !== null) throw entryBilled();
      const outcome = await repo.deleteEntry(db, userId, row.id);
      if (outcome === 'missing') throw notFound('Time entry');
      if (outcome === 'billed') throw entryBilled();
      return { message: 'Time entry deleted' };
    },
  );
}
