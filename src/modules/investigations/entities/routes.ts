import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Static } from 'typebox';
import { badRequest, notFound } from '../../../core/http/errors.js';
import { IdParams, MessageBody } from '../../../core/http/schemas.js';
import { READ, WRITE } from '../access.js';
import type { ModuleContext } from '../context.js';
import { publish } from '../events.js';
import { removeFiles } from '../files/cleanup.js';
import { listLinks } from '../links/repo.js';
import { LinkList, LinksQuery } from '../links/schema.js';
import * as repo from './repo.js';
import { entityTypeOf, normaliseTagNames } from './rules.js';
import { CreateEntityBody, Entity, EntitiesQuery, EntityCreated, EntityList, EntityParams, UpdateEntityBody } from './schema.js';

const tags = ['investigation entities'];
const ENTITY_CACHE_BYTES = 32 * 1024 * 1024;
const ENTITY_CACHE_TTL_SECONDS = 600;

export async function entityRoutes(fastify: FastifyInstance, { db, storage }: ModuleContext): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  /**
   * Serialised entity lists. A board is read far more often than it changes (every member opening
   * it, every client resynchronising); a 500-entity list costs milliseconds of SQL and JSON.
   */
  const listCache = app.createCache({ name: 'investigation-entities', maxBytes: ENTITY_CACHE_BYTES, ttlSeconds: ENTITY_CACHE_TTL_SECONDS });

  app.get(
    '/api/investigations/:id/entities',
    {
      config: READ,
      schema: {
        tags,
        summary: 'Entities of the board, newest first, with tags and comment and attachment counts',
        description: '`search` matches title or description ignoring case; `tag` is a tag id or name. Default limit 1000, at most 5000.',
        params: IdParams,
        querystring: EntitiesQuery,
        response: { 200: EntityList },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const query = request.query;
      // Keyed by the board's version: any change that shows in the list makes a new key.
      const key = JSON.stringify([id, request.membership.version, query.type ?? null, query.tag ?? null, query.search ?? null, query.limit, query.offset]);
      let body = await listCache.get(key);
      if (body === null) {
        body = reply.serialize({ entities: await repo.listEntities(db, id, query) }) as string;
        listCache.set(key, body).catch(() => undefined); // a cache that cannot store is only slower
      }
      // Already serialised by this route's own response schema: a string payload is sent as it is.
      return reply.type('application/json; charset=utf-8').send(body as unknown as Static<typeof EntityList>);
    },
  );

  app.post(
    '/api/investigations/:id/entities',
    { config: WRITE, schema: { tags, summary: 'Add an entity (member)', params: IdParams, body: CreateEntityBody, response: { 201: EntityCreated } } },
    async (request, reply) => {
      const type = entityTypeOf(request.body);
      if (type === undefined) throw badRequest('entity_type is required', 'VALIDATION_FAILED', [{ field: 'entity_type', message: 'is required' }]);
      const tagNames = normaliseTagNames(request.body.tags ?? []);
      const id = await repo.insertEntity(db, request.params.id, request.user.id, type, request.body, tagNames);
      const entity = await repo.findEntity(db, request.params.id, id);
      if (entity) publish(app, request.params.id, 'entity.created', entity);
      return reply.code(201).send({ id, message: 'Entity created successfully' });
    },
  );

  app.get(
    '/api/investigations/:id/entities/:entity_id',
    { config: READ, schema: { tags, summary: 'One entity', params: EntityParams, response: { 200: Entity } } },
    async (request) => {
      const entity = await repo.findEntity(db, request.params.id, request.params.entity_id);
      if (!entity) throw notFound('Entity');
      return entity;
    },
  );

  app.put(
    '/api/investigations/:id/entities/:entity_id',
    {
      config: WRITE,
      schema: { tags, summary: 'Edit an entity (partial; `tags` replaces the set) (member)', params: EntityParams, body: UpdateEntityBody, response: { 200: Entity } },
    },
    async (request) => {
      const { id, entity_id } = request.params;
      const type = entityTypeOf(request.body);
      const tagNames = request.body.tags === undefined ? undefined : normaliseTagNames(request.body.tags);
      if (!(await repo.updateEntity(db, id, entity_id, type, request.body, tagNames))) throw notFound('Entity');
      const entity = await repo.findEntity(db, id, entity_id);
      if (!entity) throw notFound('Entity');
      publish(app, id, 'entity.updated', entity);
      return entity;
    },
  );

  app.delete(
    '/api/investigations/:id/entities/:entity_id',
    {
      config: WRITE,
      schema: { tags, summary: 'Delete an entity with its links, comments, attachments and photo (member)', params: EntityParams, response: { 200: MessageBody } },
    },
    async (request) => {
      const { id, entity_id } = request.params;
      const keys = await repo.deleteEntity(db, id, entity_id, app.database.dialect === 'postgres');
      if (keys === null) throw notFound('Entity');
      await removeFiles(storage, keys, request.log);
      publish(app, id, 'entity.deleted', { id: entity_id });
      return { message: 'Entity deleted successfully' };
    },
  );

  app.get(
    '/api/investigations/:id/entities/:entity_id/links',
    { config: READ, schema: { tags, summary: 'Links from or to this entity', params: EntityParams, querystring: LinksQuery, response: { 200: LinkList } } },
    async (request) => {
      const { id, entity_id } = request.params;
      if ((await repo.entitiesIn(db, id, [entity_id])).size === 0) throw notFound('Entity');
      return { links: await listLinks(db, id, request.query, entity_id) };
    },
  );
}
