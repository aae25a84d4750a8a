import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { isForeignKeyViolation } from '../../../core/db/errors.js';
import { AppError, notFound } from '../../../core/http/errors.js';
import { MessageBody } from '../../../core/http/schemas.js';
import { contentDisposition, detectImageType, fileTypeOf } from '../../../core/storage/file-type.js';
import type { OpenedFile } from '../../../core/storage/storage.js';
import { READ, WRITE } from '../access.js';
import type { ModuleContext } from '../context.js';
import { entitiesIn, findEntity, findPhoto, photoUrl, replacePhoto } from '../entities/repo.js';
import { EntityParams } from '../entities/schema.js';
import { publish } from '../events.js';
import { removeFiles } from './cleanup.js';
import * as repo from './repo.js';
import { Attachment, AttachmentList, AttachmentParams, AttachmentsQuery, Binary, PhotoResult } from './schema.js';
import { receiveFile } from './upload.js';

const tags = ['investigation files'];
const multipartNote = (field: string) => `multipart/form-data with the file in the field \`${field}\`; at most UPLOAD_MAX_MB (413 beyond).`;

function onlyImages(head: Buffer): void {
  if (!detectImageType(head)) {
    throw new AppError(415, 'UNSUPPORTED_FILE_TYPE', 'A photo must be a PNG, JPEG, GIF, WebP, AVIF or BMP image (checked by its content)');
  }
}

/** A stored file as a download: never rendered in place, never type-sniffed by the browser. */
function sendFile(reply: FastifyReply, file: OpenedFile, type: string, filename: string) {
  return reply
    .header('content-type', type)
    .header('content-length', file.size)
    .header('content-disposition', contentDisposition(filename))
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'private, no-cache')
    .send(file.stream);
}

export async function fileRoutes(fastify: FastifyInstance, { db, storage }: ModuleContext): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const maxBytes = app.config.uploadMaxBytes;

  async function requireEntity(investigationId: string, entityId: string): Promise<void> {
    if ((await entitiesIn(db, investigationId, [entityId])).size === 0) throw notFound('Entity');
  }

  app.post(
    '/api/investigations/:id/entities/:entity_id/attachments',
    { config: WRITE, schema: { tags, summary: 'Attach a file to an entity (member)', description: multipartNote('file'), consumes: ['multipart/form-data'], params: EntityParams, response: { 201: Attachment } } },
    async (request, reply) => {
      const { id, entity_id } = request.params;
      await requireEntity(id, entity_id);
      const { saved, filename, declaredType } = await receiveFile(request, storage, { field: 'file', maxBytes });
      let attachment;
      try {
        attachment = await repo.insertAttachment(db, id, entity_id, request.user.id, { key: saved.key, filename, fileType: fileTypeOf(saved.head, declaredType), size: saved.size });
      } catch (error) {
        await storage.delete(saved.key);
        if (isForeignKeyViolation(error)) throw notFound('Entity'); // deleted while the file arrived
        throw error;
      }
      publish(app, id, 'attachment.created', { ...attachment, entity_id });
      return reply.code(201).send(attachment);
    },
  );

  app.get(
    '/api/investigations/:id/entities/:entity_id/attachments',
    { config: READ, schema: { tags, summary: "An entity's attachments, oldest first", params: EntityParams, querystring: AttachmentsQuery, response: { 200: AttachmentList } } },
    async (request) => {
      const { id, entity_id } = request.params;
      await requireEntity(id, entity_id);
      return { attachments: await repo.listAttachments(db, id, entity_id, request.query) };
    },
  );

  app.get(
    '/api/investigations/:id/attachments/:attachment_id',
    { config: READ, schema: { tags, summary: 'Download an attachment (Content-Disposition: attachment)', params: AttachmentParams, response: { 200: Binary } } },
    async (request, reply) => {
      const attachment = await repo.findAttachment(db, request.params.id, request.params.attachment_id);
      if (!attachment) throw notFound('Attachment');
      const file = await storage.open(attachment.storage_key);
      if (!file) throw notFound('Attachment file');
      return sendFile(reply, file, attachment.file_type, attachment.filename);
    },
  );

  app.delete(
    '/api/investigations/:id/attachments/:attachment_id',
    { config: WRITE, schema: { tags, summary: 'Delete an attachment and its file (member)', params: AttachmentParams, response: { 200: MessageBody } } },
    async (request) => {
      const { id, attachment_id } = request.params;
      const attachment = await repo.findAttachment(db, id, attachment_id);
      if (!attachment) throw notFound('Attachment');
      // Only the request whose statement deleted the row answers 200 and removes the file.
      if (!(await repo.deleteAttachment(db, id, attachment_id))) throw notFound('Attachment');
      await removeFiles(storage, [attachment.storage_key], request.log);
      publish(app, id, 'attachment.deleted', { id: attachment_id, entity_id: attachment.entity_id });
      return { message: 'Attachment deleted successfully' };
    },
  );

  app.post(
    '/api/investigations/:id/entities/:entity_id/photo',
    {
      config: WRITE,
      schema: {
        tags,
        summary: "Set the entity's photo (member)",
        description: `${multipartNote('photo')} PNG, JPEG, GIF, WebP, AVIF or BMP, recognised by content (415 otherwise).`,
        consumes: ['multipart/form-data'],
        params: EntityParams,
        response: { 200: PhotoResult },
      },
    },
    async (request) => {
      const { id, entity_id } = request.params;
      await requireEntity(id, entity_id);
      const { saved } = await receiveFile(request, storage, { field: 'photo', maxBytes, accept: onlyImages });
      let previous: string | null | undefined;
      try {
        previous = await replacePhoto(db, id, entity_id, { key: saved.key, type: detectImageType(saved.head)! });
      } catch (error) {
        await storage.delete(saved.key);
        throw error;
      }
      if (previous === undefined) {
        await storage.delete(saved.key);
        throw notFound('Entity');
      }
      if (previous) await removeFiles(storage, [previous], request.log);
      const entity = await findEntity(db, id, entity_id);
      if (entity) publish(app, id, 'entity.updated', entity);
      return { message: 'Photo uploaded successfully', photo_url: photoUrl(id, entity_id) };
    },
  );

  app.get(
    '/api/investigations/:id/entities/:entity_id/photo',
    { config: READ, schema: { tags, summary: "The entity's photo", params: EntityParams, response: { 200: Binary } } },
    async (request, reply) => {
      const photo = await findPhoto(db, request.params.id, request.params.entity_id);
      if (!photo) throw notFound('Entity');
      const file = photo.key ? await storage.open(photo.key) : null;
      if (!file || !photo.type) throw notFound('Photo');
      const extension = photo.type.split('/')[1] ?? 'img';
      return sendFile(reply, file, photo.type, `photo.${extension}`);
    },
  );

  app.delete(
    '/api/investigations/:id/entities/:entity_id/photo',
    { config: WRITE, schema: { tags, summary: "Remove the entity's photo (member)", params: EntityParams, response: { 200: MessageBody } } },
    async (request) => {
      const { id, entity_id } = request.params;
      const previous = await replacePhoto(db, id, entity_id, null);
      if (previous === undefined) throw notFound('Entity');
      if (previous === null) throw notFound('Photo');
      await removeFiles(storage, [previous], request.log);
      const entity = await findEntity(db, id, entity_id);
      if (entity) publish(app, id, 'entity.updated', entity);
      return { message: 'Photo removed successfully' };
    },
  );
}
