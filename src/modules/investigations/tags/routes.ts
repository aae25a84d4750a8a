import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { isUniqueViolation } from '../../../core/db/errors.js';
import { conflict, notFound } from '../../../core/http/errors.js';
import { IdParams, MessageBody } from '../../../core/http/schemas.js';
import { READ, WRITE } from '../access.js';
import type { ModuleContext } from '../context.js';
import { publish } from '../events.js';
import * as repo from './repo.js';
import { CreateTagBody, DEFAULT_TAG_COLOR, Tag, TagList, TagParams, TagsQuery, UpdateTagBody } from './schema.js';

const tags = ['investigation tags'];
const taken = () => conflict('A tag with this name already exists in this investigation', 'TAG_EXISTS');

export async function tagRoutes(fastify: FastifyInstance, { db }: ModuleContext): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/api/investigations/:id/tags',
    { config: READ, schema: { tags, summary: 'Tags of the investigation, by name', params: IdParams, querystring: TagsQuery, response: { 200: TagList } } },
    async (request) => ({ tags: await repo.listTags(db, request.params.id, request.query) }),
  );

  app.post(
    '/api/investigations/:id/tags',
    { config: WRITE, schema: { tags, summary: 'Create a tag (names unique per investigation, any case) (member)', params: IdParams, body: CreateTagBody, response: { 201: Tag } } },
    async (request, reply) => {
      try {
        const tag = await repo.insertTag(db, request.params.id, request.body.name, request.body.color ?? DEFAULT_TAG_COLOR);
        publish(app, request.params.id, 'tag.created', tag);
        return reply.code(201).send(tag);
      } catch (error) {
        if (isUniqueViolation(error)) throw taken();
        throw error;
      }
    },
  );

  app.put(
    '/api/investigations/:id/tags/:tag_id',
    { config: WRITE, schema: { tags, summary: 'Rename or recolour a tag (member)', params: TagParams, body: UpdateTagBody, response: { 200: Tag } } },
    async (request) => {
      const { id, tag_id } = request.params;
      let tag;
      try {
        tag = await repo.updateTag(db, id, tag_id, { name: request.body.name, color: request.body.color });
      } catch (error) {
        if (isUniqueViolation(error)) throw taken();
        throw error;
      }
      if (!tag) throw notFound('Tag');
      publish(app, id, 'tag.updated', tag);
      return tag;
    },
  );

  app.delete(
    '/api/investigations/:id/tags/:tag_id',
    { config: WRITE, schema: { tags, summary: 'Delete a tag; it is taken off every entity (member)', params: TagParams, response: { 200: MessageBody } } },
    async (request) => {
      const { id, tag_id } = request.params;
      if (!(await repo.deleteTag(db, id, tag_id))) throw notFound('Tag');
      publish(app, id, 'tag.deleted', { id: tag_id });
      return { message: 'Tag deleted successfully' };
    },
  );
}
