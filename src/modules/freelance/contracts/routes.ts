import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { now } from '../../../core/db/columns.js';
import { badRequest, conflict, notFound } from '../../../core/http/errors.js';
import { IdParams, MessageBody } from '../../../core/http/schemas.js';
import { assertOwnReference, referencesStillExist } from '../common.js';
import { optionalCents } from '../money.js';
import type { FreelanceTables } from '../tables.js';
import * as repo from './repo.js';
import { areTermsLocked, assertContractMove, copyTitle, isSignedStatus, type ContractStatus } from './rules.js';
import { Contract, ContractListQuery, ContractTemplate, CreateContractBody, TITLE_MAX, UpdateContractBody } from './schema.js';
import { CONTRACT_TEMPLATES } from './templates.js';

const tags = ['freelance: contracts'];

/** The fields a signed contract freezes, as stored columns. */
const TERM_COLUMNS = ['client_id', 'type', 'content', 'parties', 'deliverables', 'start_date', 'end_date', 'value', 'currency'] as const;

export async function contractRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const db = app.db.withTables<FreelanceTables>();
  app.addRouteGuard(app.requireUser);

  app.get(
    '/api/contracts',
    { schema: { tags, summary: 'Your contracts, newest first (limit default 100, max 500)', querystring: ContractListQuery, response: { 200: Type.Array(Contract) } } },
    async (request) => repo.listContracts(db, request.user.id, request.query),
  );

  app.get(
    '/api/contracts/templates',
    { schema: { tags, summary: 'Starter contract texts', response: { 200: Type.Array(ContractTemplate) } } },
    async () => CONTRACT_TEMPLATES,
  );

  app.post('/api/contracts', { schema: { tags, summary: 'Create a contract', body: CreateContractBody, response: { 201: Contract } } }, async (request, reply) => {
    const body = request.body;
    await assertOwnReference(db, 'freelance_clients', request.user.id, body.client_id, 'client_id');
    const status = body.status ?? 'draft';
    const contract = await referencesStillExist(
      repo.insertContract(db, request.user.id, {
        title: body.title,
        client_id: body.client_id ?? null,
        type: body.type ?? 'freelance',
        status,
        content: body.content ?? null,
        parties: JSON.stringify(repo.normaliseParties(body.parties ?? [])),
        deliverables: JSON.stringify(body.deliverables ?? []),
        start_date: body.start_date ?? null,
        end_date: body.end_date ?? null,
        value: optionalCents(body.value, 'value') ?? null,
        currency: body.currency ?? 'USD',
        signed_date: body.signed_date ? new Date(body.signed_date).toISOString() : isSignedStatus(status) ? now() : null,
      }),
    );
    return reply.code(201).send(contract);
  });

  app.get('/api/contracts/:id', { schema: { tags, summary: 'One contract', params: IdParams, response: { 200: Contract } } }, async (request) => {
    const row = await repo.findContractRow(db, request.user.id, request.params.id);
    if (!row) throw notFound('Contract');
    return repo.toContract(row);
  });

  app.put(
    '/api/contracts/:id',
    {
      schema: {
        tags,
        summary: 'Change a contract; status moves follow the contract machine; terms are frozen once signed',
        params: IdParams,
        body: UpdateContractBody,
        response: { 200: Contract },
      },
    },
    async (request) => {
      const body = request.body;
      const userId = request.user.id;
      return db.transaction().execute(async (trx) => {
        const row = await repo.findContractRow(trx, userId, request.params.id);
        if (!row) throw notFound('Contract');
        const stored = row.status as ContractStatus;
        const changes: Partial<repo.ContractValues> = {};
        if (body.status !== undefined && body.status !== stored) {
          assertContractMove(stored, body.status);
          changes.status = body.status;
          if (body.status === 'signed') changes.signed_date = now();
        }
        if (body.signed_date !== undefined) changes.signed_date = body.signed_date === null ? null : new Date(body.signed_date).toISOString();
        // A date may be corrected, but a signed contract without one would say it was never signed.
        const status = body.status ?? stored;
        if (changes.signed_date === null && isSignedStatus(status)) {
          throw badRequest('A signed contract keeps its signed_date; send another date to correct it', 'VALIDATION_FAILED', [
            { field: 'signed_date', message: `cannot be cleared while the contract is ${status}` },
          ]);
        }
        if (body.title !== undefined) changes.title = body.title;

        const terms: Partial<repo.ContractValues> = {
          client_id: body.client_id,
          type: body.type,
          content: body.content,
          parties: body.parties === undefined ? undefined : JSON.stringify(repo.normaliseParties(body.parties)),
          deliverables: body.deliverables === undefined ? undefined : JSON.stringify(body.deliverables),
          start_date: body.start_date,
          end_date: body.end_date,
          value: optionalCents(body.value, 'value'),
          currency: body.currency,
        };
        // A client echoing unchanged terms back is not changing them.
        const changedTerms = TERM_COLUMNS.filter((column) => terms[column] !== undefined && terms[column] !== (column === 'value' && row.value !== null ? Number(row.value) : row[column]));
        if (changedTerms.length > 0 && areTermsLocked(stored)) {
          throw conflict(`The terms of a ${stored} contract cannot change (${changedTerms.join(', ')})`, 'CONTRACT_LOCKED');
        }
        if (terms.client_id !== undefined && terms.client_id !== row.client_id) {
          await assertOwnReference(trx, 'freelance_clients', userId, terms.client_id, 'client_id');
        }
        for (const column of changedTerms) Object.assign(changes, { [column]: terms[column] });
        return repo.updateContract(trx, userId, row.id, stored, changes);
      });
    },
  );

  app.delete('/api/contracts/:id', { schema: { tags, summary: 'Delete a contract', params: IdParams, response: { 200: MessageBody } } }, async (request) => {
    if (!(await repo.deleteContract(db, request.user.id, request.params.id))) throw notFound('Contract');
    return { message: 'Contract deleted' };
  });

  app.post(
    '/api/contracts/:id/duplicate',
    { schema: { tags, summary: 'Copy a contract into a new draft titled "<title> (Copy)"', params: IdParams, response: { 201: Contract } } },
    async (request, reply) => {
      const row = await repo.findContractRow(db, request.user.id, request.params.id);
      if (!row) throw notFound('Contract');
      const { id: _id, user_id: _user, created_at: _created, updated_at: _updated, ...values } = row;
      const copy = await repo.insertContract(db, request.user.id, { ...values, title: copyTitle(row.title, TITLE_MAX), status: 'draft', signed_date: null });
      return reply.code(201).send(copy);
    },
  );
}
