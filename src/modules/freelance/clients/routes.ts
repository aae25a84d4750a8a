import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { isForeignKeyViolation } from '../../../core/db/errors.js';
import { conflict, notFound } from '../../../core/http/errors.js';
import { IdParams, MessageBody } from '../../../core/http/schemas.js';
import type { FreelanceTables } from '../tables.js';
import * as repo from './repo.js';
import { Client, ClientListQuery, ClientStats, CreateClientBody, UpdateClientBody } from './schema.js';

const tags = ['freelance: clients'];

export async function clientRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const db = app.db.withTables<FreelanceTables>();
  app.addRouteGuard(app.requireUser);

  app.get(
    '/api/clients',
    { schema: { tags, summary: 'Your clients, ordered by name (limit default 100, max 500)', querystring: ClientListQuery, response: { 200: Type.Array(Client) } } },
    async (request) => repo.listClients(db, request.user.id, request.query),
  );

  app.post('/api/clients', { schema: { tags, summary: 'Add a client', body: CreateClientBody, response: { 201: Client } } }, async (request, reply) => {
    return reply.code(201).send(await repo.insertClient(db, request.user.id, request.body));
  });

  app.get('/api/clients/:id', { schema: { tags, summary: 'One client', params: IdParams, response: { 200: Client } } }, async (request) => {
    const client = await repo.findClient(db, request.user.id, request.params.id);
    if (!client) throw notFound('Client');
    return client;
  });

  app.get(
    '/api/clients/:id/stats',
    { schema: { tags, summary: 'Invoice totals and tracked time of a client', params: IdParams, response: { 200: ClientStats } } },
    async (request) => {
      if (!(await repo.findClient(db, request.user.id, request.params.id))) throw notFound('Client');
      return repo.clientStats(db, request.user.id, request.params.id);
    },
  );

  app.put(
    '/api/clients/:id',
    { schema: { tags, summary: 'Change some fields of a client', params: IdParams, body: UpdateClientBody, response: { 200: Client } } },
    async (request) => {
      const client = await repo.updateClient(db, request.user.id, request.params.id, request.body);
      if (!client) throw notFound('Client');
      return client;
    },
  );

  app.delete(
    '/api/clients/:id',
    { schema: { tags, summary: 'Delete a client without invoices; its projects and time entries lose the link', params: IdParams, response: { 200: MessageBody } } },
    async (request) => {
      const { id } = request.params;
      const userId = request.user.id;
      if (!(await repo.findClient(db, userId, id))) throw notFound('Client');
      const hasInvoices = () => conflict('A client with invoices cannot be deleted', 'CLIENT_HAS_INVOICES');
      if (await repo.clientHasInvoices(db, userId, id)) throw hasInvoices();
      try {
        if (!(await repo.deleteClient(db, userId, id))) throw notFound('Client');
      } catch (error) {
        // An invoice created between the check and the delete: the foreign key refuses it.
        if (isForeignKeyViolation(error)) throw hasInvoices();
        throw error;
      }
      return { message: 'Client deleted' };
    },
  );
}
