import { newId, now } from '../../../core/db/columns.js';
import { bumpVersion, type Db } from '../access.js';
import type { Attachment } from './schema.js';

export const attachmentUrl = (investigationId: string, attachmentId: string): string => `/api/investigations/${investigationId}/attachments/${attachmentId}`;

export interface AttachmentRecord extends Attachment {
  storage_key: string;
  entity_id: string;
}

function selectAttachments(db: Db, investigationId: string) {
  return db
    .selectFrom('inv_attachments')
    .select(['id', 'entity_id', 'storage_key', 'filename', 'file_type', 'size', 'uploaded_by', 'uploaded_at'])
    .where('investigation_id', '=', investigationId);
}

type Row = Omit<AttachmentRecord, 'url' | 'size'> & { size: number | string };
const toRecord = (investigationId: string, { size, ...row }: Row): AttachmentRecord => ({ size: Number(size), url: attachmentUrl(investigationId, row.id), ...row });

export const publicAttachment = ({ storage_key: _key, entity_id: _entity, ...attachment }: AttachmentRecord): Attachment => attachment;

export async function listAttachments(db: Db, investigationId: string, entityId: string, page: { limit: number; offset: number }): Promise<Attachment[]> {
  const rows = await selectAttachments(db, investigationId)
    .where('entity_id', '=', entityId)
    .orderBy('uploaded_at')
    .orderBy('id')
    .limit(page.limit)
    .offset(page.offset)
    .execute();
  return rows.map((row) => publicAttachment(toRecord(investigationId, row)));
}

export async function findAttachment(db: Db, investigationId: string, attachmentId: string): Promise<AttachmentRecord | null> {
  const row = await selectAttachments(db, investigationId).where('id', '=', attachmentId).executeTakeFirst();
  return row ? toRecord(investigationId, row) : null;
}

export async function insertAttachment(
  db: Db,
  investigationId: string,
  entityId: string,
  userId: string,
  file: { key: string; filename: string; fileType: string; size: number },
): Promise<Attachment> {
  const row = {
    id: newId(),
    investigation_id: investigationId,
    entity_id: entityId,
    storage_key: file.key,
    filename: file.filename,
    file_type: file.fileType,
    size: file.size,
    uploaded_by: userId,
    uploaded_at: now(),
  };
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('inv_attachments').values(row).execute();
    await bumpVersion(trx, investigationId); // attachments_count
  });
  return publicAttachment(toRecord(investigationId, row));
}

/** False when this delete removed nothing (no such attachment, or a concurrent delete got it first). */
export async function deleteAttachment(db: Db, investigationId: string, attachmentId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const result = await trx.deleteFrom('inv_attachments').where('investigation_id', '=', investigationId).where('id', '=', attachmentId).executeTakeFirst();
    if (Number(result.numDeletedRows) !== 1) return false;
    await bumpVersion(trx, investigationId); // attachments_count
    return true;
  });
}
