import { newId, now } from '../../../core/db/columns.js';
import type { Db } from '../access.js';
import type { EntityType } from '../tables.js';
import type { CreateLinkBody, Link } from './schema.js';

function selectLinks(db: Db, investigationId: string) {
  return db
    .selectFrom('inv_links as l')
    .innerJoin('inv_entities as f', 'f.id', 'l.from_entity_id')
    .innerJoin('inv_entities as t', 't.id', 'l.to_entity_id')
    .select([
      'l.id',
      'l.title',
      'l.description',
      'l.created_by',
      'l.created_at',
      'f.id as from_id',
      'f.title as from_title',
      'f.type as from_type',
      't.id as to_id',
      't.title as to_title',
      't.type as to_type',
    ])
    .where('l.investigation_id', '=', investigationId);
}

interface Row {
  id: string;
  title: string;
  description: string | null;
  created_by: string;
  created_at: string;
  from_id: string;
  from_title: string;
  from_type: EntityType;
  to_id: string;
  to_title: string;
  to_type: EntityType;
}

const toLink = (row: Row): Link => ({
  id: row.id,
  from_entity: { id: row.from_id, title: row.from_title, type: row.from_type },
  to_entity: { id: row.to_id, title: row.to_title, type: row.to_type },
  title: row.title,
  description: row.description,
  created_by: row.created_by,
  created_at: row.created_at,
});

export async function listLinks(db: Db, investigationId: string, page: { limit: number; offset: number }, entityId?: string): Promise<Link[]> {
  let query = selectLinks(db, investigationId);
  if (entityId !== undefined) query = query.where((eb) => eb.or([eb('l.from_entity_id', '=', entityId), eb('l.to_entity_id', '=', entityId)]));
  const rows = await query.orderBy('l.created_at').orderBy('l.id').limit(page.limit).offset(page.offset).execute();
  return rows.map(toLink);
}

export async function findLink(db: Db, investigationId: string, linkId: string): Promise<Link | null> {
  const row = await selectLinks(db, investigationId).where('l.id', '=', linkId).executeTakeFirst();
  return row ? toLink(row) : null;
}

/** Throws the database's unique violation when the pair is linked already, either way round. */
export async function insertLink(db: Db, investigationId: string, userId: string, body: CreateLinkBody): Promise<string> {
  const id = newId();
  await db
    .insertInto('inv_links')
    .values({
      id,
      investigation_id: investigationId,
      from_entity_id: body.from_entity_id,
      to_entity_id: body.to_entity_id,
      title: body.title.trim(),
      description: body.description ?? null,
      created_by: userId,
      created_at: now(),
    })
    .execute();
  return id;
}

export async function deleteLink(db: Db, investigationId: string, linkId: string): Promise<boolean> {
  const result = await db.deleteFrom('inv_links').where('investigation_id', '=', investigationId).where('id', '=', linkId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
