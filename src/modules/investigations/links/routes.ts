import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { isForeignKeyViolation, isUniqueViolation } from '../../../core/db/errors.js';
import { badRequest, conflict, notFound } from '../../../core/http/errors.js';
import { IdParams, MessageBody } from '../../../core/http/schemas.js';
import { READ, WRITE } from '../access.js';
import type { ModuleContext } from '../context.js';
import { entitiesIn } from '../entities/repo.js';
import { publish } from '../events.js';
import * as repo from './repo.js';
import { CreateLinkBody, LinkCreated, LinkList, LinkParams, LinksQuery } from './schema.js';

const tags = ['investigation links'];

export async function linkRoutes(fastify: FastifyInstance, { db }: ModuleContext): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/api/investigations/:id/links',
    {
      config: READ,
      schema: { tags, summary: 'Links of the board, oldest first', description: 'Default limit 2000, at most 10000.', params: IdParams, querystring: LinksQuery, response: { 200: LinkList } },
    },
    async (request) => ({ links: await repo.listLinks(db, request.params.id, request.query) }),
  );

  app.post(
    '/api/investigations/:id/links',
    {
      config: WRITE,
      schema: {
        tags,
        summary: 'Link two entities of this investigation (member)',
        description: 'A self-link or an entity of another investigation is 400; an existing link between the pair, either way round, is 409.',
        params: IdParams,
        body: CreateLinkBody,
        response: { 201: LinkCreated },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { from_entity_id, to_entity_id } = request.body;
      if (from_entity_id === to_entity_id) {
        throw badRequest('An entity cannot be linked to itself', 'SELF_LINK', [{ field: 'to_entity_id', message: 'must differ from from_entity_id' }]);
      }
      const found = await entitiesIn(db, id, [from_entity_id, to_entity_id]);
      const notOfThisInvestigation = (fields: readonly ('from_entity_id' | 'to_entity_id')[]) =>
        badRequest(
          'Both entities must belong to this investigation',
          'INVALID_REFERENCE',
          fields.map((field) => ({ field, message: 'must reference an entity of this investigation' })),
        );
      const missing = (['from_entity_id', 'to_entity_id'] as const).filter((field) => !found.has(request.body[field]));
      if (missing.length > 0) throw notOfThisInvestigation(missing);
      let linkId: string;
      try {
        linkId = await repo.insertLink(db, id, request.user.id, request.body);
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict('These entities are already linked', 'LINK_EXISTS');
        // An entity deleted between the check and the insert.
        if (isForeignKeyViolation(error)) throw notOfThisInvestigation(['from_entity_id', 'to_entity_id']);
        throw error;
      }
      const link = await repo.findLink(db, id, linkId);
      if (link) publish(app, id, 'link.created', link);
      return reply.code(201).send({ id: linkId, message: 'Link created successfully' });
    },
  );

  app.delete(
    '/api/investigations/:id/links/:link_id',
    { config: WRITE, schema: { tags, summary: 'Delete a link (member)', params: LinkParams, response: { 200: MessageBody } } },
    async (request) => {
      const { id, link_id } = request.params;
      if (!(await repo.deleteLink(db, id, link_id))) throw notFound('Link');
      publish(app, id, 'link.deleted', { id: link_id });
      return { message: 'Link deleted successfully' };
    },
  );
}
