import { sql, type Transaction } from 'kysely';
import { newId, now } from '../../../core/db/columns.js';
import { preparedQuery } from '../../../core/db/prepared.js';
import { lowered } from '../../../core/db/search.js';
import { conflict } from '../../../core/http/errors.js';
import type { CoreTables } from '../../../core/db/tables.js';
import { bumpVersion, type Db } from '../access.js';
import type { InvestigationsTables } from '../tables.js';
import { DEFAULT_TAG_COLOR, type Tag } from './schema.js';

type Trx = Transaction<CoreTables & InvestigationsTables>;

// Read by every open board's tag picker: compiled once (preparedQuery).
const tagPage = preparedQuery((db: Db, investigationId: string, limit: number, offset: number) =>
  db.selectFrom('inv_tags').select(['id', 'name', 'color']).where('investigation_id', '=', investigationId).orderBy(sql`lower(name)`).orderBy('id').limit(limit).offset(offset),
);

export async function listTags(db: Db, investigationId: string, page: { limit: number; offset: number }): Promise<Tag[]> {
  return tagPage(db, investigationId, page.limit, page.offset);
}

export async function findTag(db: Db | Trx, investigationId: string, tagId: string): Promise<Tag | null> {
  const row = await db.selectFrom('inv_tags').select(['id', 'name', 'color']).where('investigation_id', '=', investigationId).where('id', '=', tagId).executeTakeFirst();
  return row ?? null;
}

/** Throws the database's unique violation when the name is taken (any case). */
export async function insertTag(db: Db, investigationId: string, name: string, color: string): Promise<Tag> {
  const tag = { id: newId(), name: name.trim(), color: color.toUpperCase() };
  await db.insertInto('inv_tags').values({ ...tag, investigation_id: investigationId, created_at: now() }).execute();
  return tag;
}

/** Renaming or recolouring shows on every entity with the tag: same transaction as the version bump. */
export async function updateTag(db: Db, investigationId: string, tagId: string, patch: { name?: string; color?: string }): Promise<Tag | null> {
  return db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('inv_tags')
      .set({ ...(patch.name !== undefined ? { name: patch.name.trim() } : {}), ...(patch.color !== undefined ? { color: patch.color.toUpperCase() } : {}) })
      .where('investigation_id', '=', investigationId)
      .where('id', '=', tagId)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return null;
    await bumpVersion(trx, investigationId);
    return findTag(trx, investigationId, tagId);
  });
}

export async function deleteTag(db: Db, investigationId: string, tagId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const result = await trx.deleteFrom('inv_tags').where('investigation_id', '=', investigationId).where('id', '=', tagId).executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) return false;
    await bumpVersion(trx, investigationId);
    return true;
  });
}

/**
 * The ids of the named tags, creating the missing ones (default colour). Names are already
 * normalised; matching ignores case, so "Urgent" reuses an existing "urgent". A tag created at the
 * same moment by another request is reused rather than failing (`on conflict do nothing`).
 */
export async function ensureTags(trx: Trx, investigationId: string, names: string[]): Promise<string[]> {
  if (names.length === 0) return [];
  // Folded by the database, as its unique index on lower(name) folds them (see `lowered`).
  const folded = (await trx.selectNoFrom(names.map((name, index) => lowered(name).as(`k${index}`))).executeTakeFirstOrThrow()) as Record<string, string>;
  const keys = names.map((_, index) => folded[`k${index}`]!);
  const find = () =>
    trx
      .selectFrom('inv_tags')
      .select(['id', sql<string>`lower(name)`.as('key')])
      .where('investigation_id', '=', investigationId)
      .where(sql`lower(name)`, 'in', keys)
      .execute();
  let existing = await find();
  const known = new Set(existing.map((row) => row.key));
  const missing = names.filter((_, index) => !known.has(keys[index]!));
  if (missing.length > 0) {
    const at = now();
    await trx
      .insertInto('inv_tags')
      .values(missing.map((name) => ({ id: newId(), investigation_id: investigationId, name, color: DEFAULT_TAG_COLOR, created_at: at })))
      .onConflict((oc) => oc.doNothing())
      .execute();
    existing = await find();
  }
  const byKey = new Map(existing.map((row) => [row.key, row.id]));
  const ids = keys.map((key) => byKey.get(key));
  // Only a tag deleted between its insert and this read is missing: refuse rather than drop it.
  if (ids.includes(undefined)) throw conflict('A tag was deleted meanwhile; try again', 'TAG_CHANGED');
  return [...new Set(ids as string[])];
}
