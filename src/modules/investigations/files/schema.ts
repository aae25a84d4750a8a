import { Type, type Static } from 'typebox';
import { PagingQuery, Timestamp, Uuid } from '../../../core/http/schemas.js';

export const Attachment = Type.Object({
  id: Uuid,
  filename: Type.String({ description: "The client's file name (sanitised); metadata only" }),
  file_type: Type.String({ description: 'MIME type: recognised from the content when possible, else as declared' }),
  size: Type.Integer({ description: 'Bytes' }),
  uploaded_by: Uuid,
  uploaded_at: Timestamp,
  url: Type.String({ description: 'Download path' }),
});
export type Attachment = Static<typeof Attachment>;

export const AttachmentsQuery = Type.Object(PagingQuery(200, 1000));
export const AttachmentList = Type.Object({ attachments: Type.Array(Attachment) });
export const AttachmentParams = Type.Object({ id: Uuid, attachment_id: Uuid });
export const PhotoResult = Type.Object({ message: Type.String(), photo_url: Type.String() });

/** For OpenAPI: file bodies are streamed, not JSON. */
export const Binary = { content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } } as const;
