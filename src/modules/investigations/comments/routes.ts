import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { isForeignKeyViolation } from '../../../core/db/errors.js';
import { forbidden, notFound } from '../../../core/http/errors.js';
import { MessageBody } from '../../../core/http/schemas.js';
import { hasRole, READ, WRITE } from '../access.js';
import type { ModuleContext } from '../context.js';
import { entitiesIn } from '../entities/repo.js';
import { EntityParams } from '../entities/schema.js';
import { publish } from '../events.js';
import * as repo from './repo.js';
import { Comment, CommentBody, CommentList, CommentParams, CommentsQuery } from './schema.js';

const tags = ['investigation comments'];

export async function commentRoutes(fastify: FastifyInstance, { db }: ModuleContext): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  async function requireEntity(investigationId: string, entityId: string): Promise<void> {
    if ((await entitiesIn(db, investigationId, [entityId])).size === 0) throw notFound('Entity');
  }

  app.get(
    '/api/investigations/:id/entities/:entity_id/comments',
    { config: READ, schema: { tags, summary: 'Comments on an entity, oldest first', params: EntityParams, querystring: CommentsQuery, response: { 200: CommentList } } },
    async (request) => {
      const { id, entity_id } = request.params;
      await requireEntity(id, entity_id);
      return { comments: await repo.listComments(db, id, entity_id, request.query) };
    },
  );

  app.post(
    '/api/investigations/:id/entities/:entity_id/comments',
    { config: WRITE, schema: { tags, summary: 'Comment on an entity (member)', params: EntityParams, body: CommentBody, response: { 201: Comment } } },
    async (request, reply) => {
      const { id, entity_id } = request.params;
      await requireEntity(id, entity_id);
      const commentId = await repo.insertComment(db, id, entity_id, request.user.id, request.body.content).catch((error: unknown) => {
        if (isForeignKeyViolation(error)) throw notFound('Entity'); // deleted since it was checked
        throw error;
      });
      const record = await repo.findComment(db, id, commentId);
      if (!record) throw notFound('Comment');
      publish(app, id, 'comment.created', { ...record.comment, entity_id });
      return reply.code(201).send(record.comment);
    },
  );

  app.put(
    '/api/investigations/:id/comments/:comment_id',
    { config: WRITE, schema: { tags, summary: 'Edit your comment (the author)', params: CommentParams, body: CommentBody, response: { 200: Comment } } },
    async (request) => {
      const { id, comment_id } = request.params;
      const record = await repo.findComment(db, id, comment_id);
      if (!record) throw notFound('Comment');
      if (record.authorId !== request.user.id) throw forbidden('Only the author can edit a comment');
      await repo.updateComment(db, id, comment_id, request.body.content);
      const updated = await repo.findComment(db, id, comment_id);
      if (!updated) throw notFound('Comment');
      publish(app, id, 'comment.updated', { ...updated.comment, entity_id: updated.entityId });
      return updated.comment;
    },
  );

  app.delete(
    '/api/investigations/:id/comments/:comment_id',
    { config: WRITE, schema: { tags, summary: 'Delete a comment (its author, an admin or the owner)', params: CommentParams, response: { 200: MessageBody } } },
    async (request) => {
      const { id, comment_id } = request.params;
      const record = await repo.findComment(db, id, comment_id);
      if (!record) throw notFound('Comment');
      if (record.authorId !== request.user.id && !hasRole(request.membership.role, 'admin')) {
        throw forbidden('Only the author, an admin or the owner can delete a comment');
      }
      if (!(await repo.deleteComment(db, id, comment_id))) throw notFound('Comment');
      publish(app, id, 'comment.deleted', { id: comment_id, entity_id: record.entityId });
      return { message: 'Comment deleted successfully' };
    },
  );
}
