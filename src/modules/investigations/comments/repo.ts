import { newId, now } from '../../../core/db/columns.js';
import { bumpVersion, type Db } from '../access.js';
import type { Comment } from './schema.js';

function selectComments(db: Db, investigationId: string) {
  return db
    .selectFrom('inv_comments as c')
    .innerJoin('users as u', 'u.id', 'c.user_id')
    .select(['c.id', 'c.entity_id', 'c.content', 'c.created_at', 'c.updated_at', 'u.id as author_id', 'u.username', 'u.name'])
    .where('c.investigation_id', '=', investigationId);
}

export interface CommentRecord {
  comment: Comment;
  entityId: string;
  authorId: string;
}

interface Row {
  id: string;
  entity_id: string;
  content: string;
  created_at: string;
  updated_at: string;
  author_id: string;
  username: string | null;
  name: string | null;
}

const toRecord = (row: Row): CommentRecord => ({
  comment: {
    id: row.id,
    content: row.content,
    author: { id: row.author_id, username: row.username, name: row.name },
    created_at: row.created_at,
    updated_at: row.updated_at,
  },
  entityId: row.entity_id,
  authorId: row.author_id,
});

/** Oldest first, as a conversation reads. */
export async function listComments(db: Db, investigationId: string, entityId: string, page: { limit: number; offset: number }): Promise<Comment[]> {
  const rows = await selectComments(db, investigationId)
    .where('c.entity_id', '=', entityId)
    .orderBy('c.created_at')
    .orderBy('c.id')
    .limit(page.limit)
    .offset(page.offset)
    .execute();
  return rows.map((row) => toRecord(row).comment);
}

export async function findComment(db: Db, investigationId: string, commentId: string): Promise<CommentRecord | null> {
  const row = await selectComments(db, investigationId).where('c.id', '=', commentId).executeTakeFirst();
  return row ? toRecord(row) : null;
}

export async function insertComment(db: Db, investigationId: string, entityId: string, userId: string, content: string): Promise<string> {
  const id = newId();
  const at = now();
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('inv_comments').values({ id, investigation_id: investigationId, entity_id: entityId, user_id: userId, content, created_at: at, updated_at: at }).execute();
    await bumpVersion(trx, investigationId); // comments_count
  });
  return id;
}

export async function updateComment(db: Db, investigationId: string, commentId: string, content: string): Promise<void> {
  await db.updateTable('inv_comments').set({ content, updated_at: now() }).where('investigation_id', '=', investigationId).where('id', '=', commentId).execute();
}

/** False when this delete removed nothing (a concurrent delete got it first). */
export async function deleteComment(db: Db, investigationId: string, commentId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const result = await trx.deleteFrom('inv_comments').where('investigation_id', '=', investigationId).where('id', '=', commentId).executeTakeFirst();
    if (Number(result.numDeletedRows) !== 1) return false;
    await bumpVersion(trx, investigationId); // comments_count
    return true;
  });
}
