import { sql, type Selectable, type Transaction } from 'kysely';
import { newId, now } from '../../../core/db/columns.js';
import { lowered, textMatches } from '../../../core/db/search.js';
import type { CoreTables } from '../../../core/db/tables.js';
import { conflict } from '../../../core/http/errors.js';
import { bumpVersion, type Db } from '../access.js';
import type { EntityType, InvEntitiesTable, InvestigationsTables } from '../tables.js';
import { ensureTags } from '../tags/repo.js';
import type { Tag } from '../tags/schema.js';
import { checkEventDates, normaliseEventDate } from './rules.js';
import type { CreateEntityBody, EntitiesQuery, Entity, UpdateEntityBody } from './schema.js';

type Trx = Transaction<CoreTables & InvestigationsTables>;

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
 * Entities with, per row, their tag ids and their comment and attachment counts, computed by the
 * database in the same statement through covering indexes: a page of 500 entities is one query
 * (plus one for the names of the tags it uses), and no per-entity round trips.
 */
function selectEntities(db: Db | Trx) {
  return db
    .selectFrom('inv_entities as e')
    .select(COLUMNS)
    .select([
      // string_agg: PostgreSQL, and SQLite since 3.44.
      sql<string | null>`(select string_agg(et.tag_id, ',') from inv_entity_tags et where et.entity_id = e.id)`.as('tag_ids'),
      sql<number>`(select count(*) from inv_comments c where c.entity_id = e.id)`.as('comments_count'),
      sql<number>`(select count(*) from inv_attachments a where a.entity_id = e.id)`.as('attachments_count'),
    ]);
}

type EntityRow = Omit<Selectable<InvEntitiesTable>, 'photo_type'> & { tag_ids: string | null; comments_count: number | string; attachments_count: number | string };

/** Past this, the board's whole tag list is read instead of a parameter per tag (engines cap parameters). */
const MAX_TAG_IDS_IN_QUERY = 1000;

const byName = (a: Tag, b: Tag): number => {
  const x = a.name.toLowerCase();
  const y = b.name.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
};

async function toEntities(db: Db | Trx, rows: EntityRow[]): Promise<Entity[]> {
  if (rows.length === 0) return [];
  const tagIds = new Set<string>();
  for (const row of rows) if (row.tag_ids) for (const tagId of row.tag_ids.split(',')) tagIds.add(tagId);
  // Each tag once (a board has few tags, used by many entities), rather than once per assignment.
  const tags = db.selectFrom('inv_tags').select(['id', 'name', 'color']);
  const tagRows =
    tagIds.size === 0
      ? []
      : tagIds.size <= MAX_TAG_IDS_IN_QUERY
        ? await tags.where('id', 'in', [...tagIds]).execute()
        : await tags.where('investigation_id', '=', rows[0]!.investigation_id).execute(); // all rows share it
  const tagById = new Map<string, Tag>(tagRows.map((tag) => [tag.id, { id: tag.id, name: tag.name, color: tag.color }]));
  const tagsOf = (row: EntityRow): Tag[] => {
    if (!row.tag_ids) return [];
    const tags: Tag[] = [];
    for (const tagId of row.tag_ids.split(',')) {
      const tag = tagById.get(tagId);
      if (tag) tags.push(tag);
    }
    return tags.length > 1 ? tags.sort(byName) : tags;
  };
  // Built field by field: one object shape for every entity keeps mapping and serialising fast.
  return rows.map((row) => ({
    id: row.id,
    type: row.type,
    title: row.title,
    description: row.description,
    role: row.role,
    location: row.location,
    address: row.address,
    event_date: row.event_date,
    event_end_date: row.event_end_date,
    is_timeslot: Boolean(row.is_timeslot),
    evidence_type: row.evidence_type,
    photo_url: row.photo_key ? photoUrl(row.investigation_id, row.id) : null,
    tags: tagsOf(row),
    comments_count: Number(row.comments_count),
    attachments_count: Number(row.attachments_count),
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
  }));
}

export async function listEntities(db: Db, investigationId: string, query: EntitiesQuery): Promise<Entity[]> {
  let select = selectEntities(db).where('e.investigation_id', '=', investigationId);
  if (query.type !== undefined) select = select.where('e.type', '=', query.type);
  if (query.search) select = select.where(textMatches(['e.title', 'e.description'], query.search));
  const tag = query.tag?.trim();
  if (tag) {
    select = select.where((eb) =>
      eb.exists(
        eb
          .selectFrom('inv_entity_tags as et')
          .innerJoin('inv_tags as t', 't.id', 'et.tag_id')
          .select(sql`1`.as('one'))
          .whereRef('et.entity_id', '=', 'e.id')
          .where((tb) => tb.or([tb('t.id', '=', tag), tb(sql`lower(t.name)`, '=', lowered(tag))])),
      ),
    );
  }
  const rows = await select.orderBy('e.created_at', 'desc').orderBy('e.id', 'desc').limit(query.limit).offset(query.offset).execute();
  return toEntities(db, rows);
}

export async function findEntity(db: Db | Trx, investigationId: string, entityId: string): Promise<Entity | null> {
  const row = await selectEntities(db).where('e.investigation_id', '=', investigationId).where('e.id', '=', entityId).executeTakeFirst();
  return row ? ((await toEntities(db, [row]))[0] ?? null) : null;
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
    await bumpVersion(trx, investigationId);
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
    await bumpVersion(trx, investigationId);
    return true;
  });
}

/**
 * Deletes the entity; links, comments, attachments and tag assignments go by cascade. Returns the
 * storage keys of its files (attachments and photo) for removal, or null when there is no such entity.
 * `lock` (PostgreSQL): the entity's row is locked before its files are listed, so an attachment or
 * photo arriving meanwhile waits and then finds the entity gone (and removes its file), instead of
 * committing between the listing and the delete and leaving a file nothing points to.
 */
export async function deleteEntity(db: Db, investigationId: string, entityId: string, lock: boolean): Promise<string[] | null> {
  return db.transaction().execute(async (trx) => {
    const read = trx.selectFrom('inv_entities').select('photo_key').where('investigation_id', '=', investigationId).where('id', '=', entityId);
    const entity = await (lock ? read.forUpdate() : read).executeTakeFirst();
    if (!entity) return null;
    const attachments = await trx.selectFrom('inv_attachments').select('storage_key').where('entity_id', '=', entityId).execute();
    const result = await trx.deleteFrom('inv_entities').where('investigation_id', '=', investigationId).where('id', '=', entityId).executeTakeFirst();
    if (Number(result.numDeletedRows) !== 1) return null; // a concurrent delete got it first
    await bumpVersion(trx, investigationId);
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
    // The write is conditional on the photo it replaces, so the key returned (whose file the caller
    // removes) is the one this request took off the entity: of concurrent removals one gets the key and
    // the others see no photo, and no uploaded file is left behind unreferenced. When another request
    // changed the photo in between (PostgreSQL, READ COMMITTED), read it again.
    for (let attempt = 0; ; attempt++) {
      const current = await trx.selectFrom('inv_entities').select('photo_key').where('investigation_id', '=', investigationId).where('id', '=', entityId).executeTakeFirst();
      if (!current) return undefined;
      if (photo === null && current.photo_key === null) return null; // nothing to clear
      const previous = current.photo_key;
      const result = await trx
        .updateTable('inv_entities')
        .set({ photo_key: photo?.key ?? null, photo_type: photo?.type ?? null, updated_at: now() })
        .where('id', '=', entityId)
        .where((eb) => (previous === null ? eb('photo_key', 'is', null) : eb('photo_key', '=', previous)))
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 1) {
        await bumpVersion(trx, investigationId);
        return previous;
      }
      if (attempt >= 10) throw conflict('The photo keeps changing; try again', 'CONCURRENT_UPDATE');
    }
  });
}

/** Which of the given ids are entities of this investigation. */
export async function entitiesIn(db: Db, investigationId: string, ids: string[]): Promise<Set<string>> {
  const rows = await db.selectFrom('inv_entities').select('id').where('investigation_id', '=', investigationId).where('id', 'in', ids).execute();
  return new Set(rows.map((row) => row.id));
}
