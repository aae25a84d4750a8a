import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { isUniqueViolation } from '../../../core/db/errors.js';
import { conflict, notFound } from '../../../core/http/errors.js';
import { IdParams, MessageBody } from '../../../core/http/schemas.js';
import { findMembership, OWN, READ } from '../access.js';
import type { ModuleContext } from '../context.js';
import { publish } from '../events.js';
import { findMember } from '../members/repo.js';
import { removeFiles } from '../files/cleanup.js';
import { normaliseJoinCode, withUniqueCode } from './join-code.js';
import * as repo from './repo.js';
import { Created, CreateInvestigationBody, Investigation, InvestigationList, JoinBody, JoinResult, ListInvestigationsQuery, UpdateInvestigationBody } from './schema.js';

const tags = ['investigations'];
/** Join codes cannot be guessed (36^8); the limit, per user, keeps anyone from trying. */
const JOIN_ATTEMPTS_PER_MINUTE = 10;

export async function boardRoutes(fastify: FastifyInstance, { db, storage }: ModuleContext): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/api/investigations',
    { schema: { tags, summary: 'Your investigations, most recently updated first', querystring: ListInvestigationsQuery, response: { 200: InvestigationList } } },
    async (request) => ({ investigations: await repo.listInvestigations(db, request.user.id, request.query) }),
  );

  app.post(
    '/api/investigations',
    { schema: { tags, summary: 'Create an investigation; you become its owner', body: CreateInvestigationBody, response: { 201: Created } } },
    async (request, reply) => {
      const { id, code } = await withUniqueCode(async (code) => ({ id: await repo.insertInvestigation(db, request.user.id, request.body, code), code }), isUniqueViolation);
      return reply.code(201).send({ message: 'Investigation created successfully', id, code });
    },
  );

  // Keyed on the caller: the plugin's requireUser guard runs before a route's own hooks.
  const joinLimit = app.createRateLimit({ name: 'investigation-join', max: JOIN_ATTEMPTS_PER_MINUTE, timeWindowMs: 60_000, keyGenerator: (request) => request.user.id });
  app.post(
    '/api/investigations/join',
    {
      onRequest: joinLimit,
      schema: { tags, summary: 'Join an investigation with its code (any case); rate limited per user', body: JoinBody, response: { 200: JoinResult } },
    },
    async (request) => {
      const found = await repo.findByCode(db, normaliseJoinCode(request.body.code));
      if (!found || !found.is_active) throw notFound('Investigation');
      const alreadyMember = () => conflict('You are already a member of this investigation', 'ALREADY_MEMBER');
      if (await findMembership(db, found.id, request.user.id)) throw alreadyMember();
      try {
        await repo.insertMember(db, found.id, request.user.id, 'member');
      } catch (error) {
        if (isUniqueViolation(error)) throw alreadyMember();
        throw error;
      }
      const member = await findMember(db, found.id, request.user.id);
      if (member) publish(app, found.id, 'member.joined', member);
      return { message: 'Joined investigation successfully', investigation_id: found.id };
    },
  );

  app.get(
    '/api/investigations/:id',
    { config: READ, schema: { tags, summary: 'One investigation (members only)', params: IdParams, response: { 200: Investigation } } },
    async (request) => {
      const investigation = await repo.findInvestigation(db, request.user.id, request.params.id);
      if (!investigation) throw notFound('Investigation');
      return investigation;
    },
  );

  app.put(
    '/api/investigations/:id',
    { config: OWN, schema: { tags, summary: 'Edit the investigation (owner)', params: IdParams, body: UpdateInvestigationBody, response: { 200: Investigation } } },
    async (request) => {
      await repo.updateInvestigation(db, request.params.id, request.body);
      const investigation = await repo.findInvestigation(db, request.user.id, request.params.id);
      if (!investigation) throw notFound('Investigation');
      const { role: _callersRole, ...shared } = investigation;
      publish(app, investigation.id, 'investigation.updated', shared);
      return investigation;
    },
  );

  app.delete(
    '/api/investigations/:id',
    { config: OWN, schema: { tags, summary: 'Delete the investigation with everything in it, files included (owner)', params: IdParams, response: { 200: MessageBody } } },
    async (request) => {
      const keys = await repo.deleteInvestigation(db, request.params.id, app.database.dialect === 'postgres');
      if (keys === null) throw notFound('Investigation');
      await removeFiles(storage, keys, request.log);
      publish(app, request.params.id, 'investigation.deleted', { id: request.params.id });
      return { message: 'Investigation deleted successfully' };
    },
  );
}
