import { sql, type Selectable, type Transaction } from 'kysely';
import { newId, now } from '../../../core/db/columns.js';
import { textMatches } from '../../../core/db/search.js';
import type { CoreTables } from '../../../core/db/tables.js';
import type { Db } from '../access.js';
import type { EntityType, InvEntitiesTable, InvestigationsTables } from '../tables.js';
import { ensureTags } from '../tags/repo.js';
import type { Tag } from '../tags/schema.js';
import { checkEventDates, normaliseEventDate } from './rules.js';
import type { CreateEntityBody, EntitiesQuery, Entity, UpdateEntityBody } from './schema.js';

type Trx = Transaction<CoreTables & InvestigationsTables>;
type EntityRow = Omit<Selectable<InvEntitiesTable>, 'photo_type'>;

const COLUMNS = [
  'e.id',
  'e.investigation_id',
  'e.type',
  'e.title',
  'e.description',
  'e.role',
  'e.location',
  'e.address',
  'e.event_date',
  'e.event_end_date',
  'e.is_timeslot',
  'e.evidence_type',
  'e.photo_key',
  'e.created_by',
  'e.created_at',
  'e.updated_at',
] as const;

export const photoUrl = (investigationId: string, entityId: string): string => `/api/investigations/${investigationId}/entities/${entityId}/photo`;

/**
 * Tags, comment counts and attachment counts of a page of entities: one query each, whatever the
 * page size, joined in memory.
 */
async function decorate(db: Db | Trx, rows: EntityRow[]): Promise<Entity[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((row) => row.id);
  const [tagRows, commentCounts, attachmentCounts] = await Promise.all([
    db
      .selectFrom('inv_entity_tags as et')
      .innerJoin('inv_tags as t', 't.id', 'et.tag_id')
      .select(['et.entity_id', 't.id', 't.name', 't.color'])
      .where('et.entity_id', 'in', ids)
      .orderBy(sql`lower(t.name)`)
      .execute(),
    db.selectFrom('inv_comments').select(['entity_id', (eb) => eb.fn.countAll<number>().as('n')]).where('entity_id', 'in', ids).groupBy('entity_id').execute(),
    db.selectFrom('inv_attachments').select(['entity_id', (eb) => eb.fn.countAll<number>().as('n')]).where('entity_id', 'in', ids).groupBy('entity_id').execute(),
  ]);
  const tags = new Map<string, Tag[]>();
  for (const { entity_id, ...tag } of tagRows) {
    const list = tags.get(entity_id);
    if (list) list.push(tag);
    else tags.set(entity_id, [tag]);
  }
  const comments = new Map(commentCounts.map((row) => [row.entity_id, Number(row.n)]));
  const attachments = new Map(attachmentCounts.map((row) => [row.entity_id, Number(row.n)]));
  return rows.map(({ photo_key, investigation_id, ...row }) => ({
    ...row,
    is_timeslot: Boolean(row.is_timeslot),
    photo_url: photo_key ? photoUrl(investigation_id, row.id) : null,
    tags: tags.get(row.id) ?? [],
    comments_count: comments.get(row.id) ?? 0,
    attachments_count: attachments.get(row.id) ?? 0,
  }));
}

export async function listEntities(db: Db, investigationId: string, query: EntitiesQuery): Promise<Entity[]> {
  let select = db.selectFrom('inv_entities as e').select(COLUMNS).where('e.investigation_id', '=', investigationId);
  if (query.type !== undefined) select = select.where('e.type', '=', query.type);
  if (query.search !== undefined) select = select.where(textMatches(['e.title', 'e.description'], query.search));
  if (query.tag !== undefined) {
    const tag = query.tag.trim();
    select = select.where((eb) =>
      eb.exists(
        eb
          .selectFrom('inv_entity_tags as et')
          .innerJoin('inv_tags as t', 't.id', 'et.tag_id')
          .select(sql`1`.as('one'))
          .whereRef('et.entity_id', '=', 'e.id')
          .where((tb) => tb.or([tb('t.id', '=', tag), tb(sql`lower(t.name)`, '=', tag.toLowerCase())])),
      ),
    );
  }
  const rows = await select.orderBy('e.created_at', 'desc').orderBy('e.id', 'desc').limit(query.limit).offset(query.offset).execute();
  return decorate(db, rows);
}

export async function findEntity(db: Db | Trx, investigationId: string, entityId: string): Promise<Entity | null> {
  const row = await db.selectFrom('inv_entities as e').select(COLUMNS).where('e.investigation_id', '=', investigationId).where('e.id', '=', entityId).executeTakeFirst();
  return row ? ((await decorate(db, [row]))[0] ?? null) : null;
}

async function setTags(trx: Trx, investigationId: string, entityId: string, names: string[]): Promise<void> {
  const tagIds = await ensureTags(trx, investigationId, names);
  await trx.deleteFrom('inv_entity_tags').where('entity_id', '=', entityId).execute();
  if (tagIds.length > 0) await trx.insertInto('inv_entity_tags').values(tagIds.map((tag_id) => ({ entity_id: entityId, tag_id }))).execute();
}

/** The entity and its tags (created when new) in one transaction. Tag names arrive normalised. */
export async function insertEntity(db: Db, investigationId: string, userId: string, type: EntityType, body: CreateEntityBody, tagNames: string[]): Promise<string> {
  const eventDate = normaliseEventDate(body.event_date) ?? null;
  const eventEndDate = normaliseEventDate(body.event_end_date) ?? null;
  checkEventDates(eventDate, eventEndDate);
  const id = newId();
  const at = now();
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('inv_entities')
      .values({
        id,
        investigation_id: investigationId,
        type,
        title: body.title.trim(),
        description: body.description ?? null,
        role: body.role ?? null,
        location: body.location ?? null,
        address: body.address ?? null,
        event_date: eventDate,
        event_end_date: eventEndDate,
        is_timeslot: body.is_timeslot ?? false,
        evidence_type: body.evidence_type ?? null,
        photo_key: null,
        photo_type: null,
        created_by: userId,
        created_at: at,
        updated_at: at,
      })
      .execute();
    await setTags(trx, investigationId, id, tagNames);
  });
  return id;
}

/** A partial update; `tagNames`, when given, replaces the set. False when there is no such entity. */
export async function updateEntity(
  db: Db,
  investigationId: string,
  entityId: string,
  type: EntityType | undefined,
  body: UpdateEntityBody,
  tagNames: string[] | undefined,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('inv_entities')
      .select(['event_date', 'event_end_date'])
      .where('investigation_id', '=', investigationId)
      .where('id', '=', entityId)
      .executeTakeFirst();
    if (!current) return false;
    const eventDate = normaliseEventDate(body.event_date);
    const eventEndDate = normaliseEventDate(body.event_end_date);
    checkEventDates(eventDate === undefined ? current.event_date : eventDate, eventEndDate === undefined ? current.event_end_date : eventEndDate);
    await trx
      .updateTable('inv_entities')
      .set({
        ...(type !== undefined ? { type } : {}),
        ...(body.title !== undefined ? { title: body.title.trim() } : {}),
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.role !== undefined ? { role: body.role } : {}),
        ...(body.location !== undefined ? { location: body.location } : {}),
        ...(body.address !== undefined ? { address: body.address } : {}),
        ...(eventDate !== undefined ? { event_date: eventDate } : {}),
        ...(eventEndDate !== undefined ? { event_end_date: eventEndDate } : {}),
        ...(body.is_timeslot !== undefined ? { is_timeslot: body.is_timeslot } : {}),
        ...(body.evidence_type !== undefined ? { evidence_type: body.evidence_type } : {}),
        updated_at: now(),
      })
      .where('investigation_id', '=', investigationId)
      .where('id', '=', entityId)
      .execute();
    if (tagNames !== undefined) await setTags(trx, investigationId, entityId, tagNames);
    return true;
  });
}

/**
 * Deletes the entity; links, comments, attachments and tag assignments go by cascade. Returns the
 * storage keys of its files (attachments and photo) for removal, or null when there is no such entity.
 */
export async function deleteEntity(db: Db, investigationId: string, entityId: string): Promise<string[] | null> {
  return db.transaction().execute(async (trx) => {
    const entity = await trx.selectFrom('inv_entities').select('photo_key').where('investigation_id', '=', investigationId).where('id', '=', entityId).executeTakeFirst();
    if (!entity) return null;
    const attachments = await trx.selectFrom('inv_attachments').select('storage_key').where('entity_id', '=', entityId).execute();
    await trx.deleteFrom('inv_entities').where('id', '=', entityId).execute();
    return [...attachments.map((row) => row.storage_key), ...(entity.photo_key ? [entity.photo_key] : [])];
  });
}

export async function findPhoto(db: Db, investigationId: string, entityId: string): Promise<{ key: string | null; type: string | null } | null> {
  const row = await db
    .selectFrom('inv_entities')
    .select(['photo_key', 'photo_type'])
    .where('investigation_id', '=', investigationId)
    .where('id', '=', entityId)
    .executeTakeFirst();
  return row ? { key: row.photo_key, type: row.photo_type } : null;
}

/** Sets (or with null clears) the photo; returns the key it replaced, or undefined when there is no such entity. */
export async function replacePhoto(db: Db, investigationId: string, entityId: string, photo: { key: string; type: string } | null): Promise<string | null | undefined> {
  return db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('inv_entities').select('photo_key').where('investigation_id', '=', investigationId).where('id', '=', entityId).executeTakeFirst();
    if (!current) return undefined;
    if (photo === null && current.photo_key === null) return null; // nothing to clear
    await trx
      .updateTable('inv_entities')
      .set({ photo_key: photo?.key ?? null, photo_type: photo?.type ?? null, updated_at: now() })
      .where('id', '=', entityId)
      .execute();
    return current.photo_key;
  });
}

/** Which of the given ids are entities of this investigation. */
export async function entitiesIn(db: Db, investigationId: string, ids: string[]): Promise<Set<string>> {
  const rows = await db.selectFrom('inv_entities').select('id').where('investigation_id', '=', investigationId).where('id', 'in', ids).execute();
  return new Set(rows.map((row) => row.id));
}
