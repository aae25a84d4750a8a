import { sql, type Transaction } from 'kysely';
import { newId, now } from '../../../core/db/columns.js';
import { preparedQuery } from '../../../core/db/prepared.js';
import type { CoreTables } from '../../../core/db/tables.js';
import type { Db } from '../access.js';
import type { InvestigationsTables, MemberRole } from '../tables.js';
import type { CreateInvestigationBody, Investigation, UpdateInvestigationBody } from './schema.js';

type Trx = Transaction<CoreTables & InvestigationsTables>;

function selectInvestigations(db: Db | Trx, userId: string) {
  return db
    .selectFrom('inv_members as me')
    .innerJoin('investigations as i', 'i.id', 'me.investigation_id')
    .select([
      'i.id',
      'i.code',
      'i.title',
      'i.description',
      'i.is_active',
      'i.created_by',
      'i.created_at',
      'i.updated_at',
      'me.role',
      // Counted in the same statement through the (investigation_id, user_id) primary key.
      sql<number>`(select count(*) from inv_members m where m.investigation_id = i.id)`.as('member_count'),
    ])
    .where('me.user_id', '=', userId);
}

type Row = { is_active: boolean | number; member_count: number | string } & Omit<Investigation, 'is_active' | 'member_count'>;
const toInvestigation = ({ is_active, member_count, ...row }: Row): Investigation => ({ is_active: Boolean(is_active), member_count: Number(member_count), ...row });

/** The caller's investigations, most recently updated first. */
export async function listInvestigations(db: Db, userId: string, page: { limit: number; offset: number }): Promise<Investigation[]> {
  const rows = await selectInvestigations(db, userId)
    .orderBy('i.updated_at', 'desc')
    .orderBy('i.id', 'desc')
    .limit(page.limit)
    .offset(page.offset)
    .execute();
  return rows.map(toInvestigation);
}

/** Read on every GET and PUT of a board: building it with Kysely cost a fifth of a GET's CPU, so it is compiled once. */
const investigationQuery = preparedQuery((db: Db, userId: string, id: string) => selectInvestigations(db, userId).where('i.id', '=', id));

export async function findInvestigation(db: Db | Trx, userId: string, id: string): Promise<Investigation | null> {
  const [row] = await investigationQuery(db, userId, id);
  return row ? toInvestigation(row) : null;
}

/** The investigation and its owner membership, together. */
export async function insertInvestigation(db: Db, userId: string, body: CreateInvestigationBody, code: string): Promise<string> {
  const id = newId();
  const at = now();
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('investigations')
      .values({ id, code, title: body.title.trim(), description: body.description ?? null, is_active: true, created_by: userId, created_at: at, updated_at: at })
      .execute();
    await trx.insertInto('inv_members').values({ investigation_id: id, user_id: userId, role: 'owner', joined_at: at, last_seen: null }).execute();
  });
  return id;
}

export async function updateInvestigation(db: Db, id: string, body: UpdateInvestigationBody): Promise<void> {
  await db
    .updateTable('investigations')
    .set({
      ...(body.title !== undefined ? { title: body.title.trim() } : {}),
      ...(body.description !== undefined ? { description: body.description } : {}),
      ...(body.is_active !== undefined ? { is_active: body.is_active } : {}),
      updated_at: now(),
    })
    .where('id', '=', id)
    .execute();
}

/**
 * Rows go by cascade; the storage keys of every file under the investigation are returned for
 * removal, or null when this delete removed nothing (a concurrent delete got it first).
 * `lock` (PostgreSQL): the investigation's row and its entities' rows are locked before the files
 * are listed, so an attachment or photo arriving meanwhile waits and then finds them gone (and
 * removes its file), instead of leaving a file nothing points to.
 */
export async function deleteInvestigation(db: Db, id: string, lock: boolean): Promise<string[] | null> {
  return db.transaction().execute(async (trx) => {
    if (lock) await trx.selectFrom('investigations').select('id').where('id', '=', id).forUpdate().execute();
    const keys = await fileKeysOf(trx, id, lock);
    const result = await trx.deleteFrom('investigations').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) === 1 ? keys : null;
  });
}

/** Storage keys of every attachment and photo of an investigation, read in bounded pages; `lock` locks every entity row read. */
async function fileKeysOf(trx: Trx, investigationId: string, lock: boolean): Promise<string[]> {
  const PAGE = 1000;
  const keys: string[] = [];
  let after = '';
  for (;;) {
    const rows = await trx
      .selectFrom('inv_attachments')
      .select(['id', 'storage_key'])
      .where('investigation_id', '=', investigationId)
      .where('id', '>', after)
      .orderBy('id')
      .limit(PAGE)
      .execute();
    keys.push(...rows.map((row) => row.storage_key));
    if (rows.length < PAGE) break;
    after = rows[rows.length - 1]!.id;
  }
  after = '';
  for (;;) {
    // Locking, every entity is read: one without a photo now could be given one before the delete.
    let page = trx.selectFrom('inv_entities').select(['id', 'photo_key']).where('investigation_id', '=', investigationId);
    page = lock ? page.forUpdate() : page.where('photo_key', 'is not', null);
    const rows = await page.where('id', '>', after).orderBy('id').limit(PAGE).execute();
    keys.push(...rows.flatMap((row) => (row.photo_key === null ? [] : [row.photo_key])));
    if (rows.length < PAGE) break;
    after = rows[rows.length - 1]!.id;
  }
  return keys;
}

export async function findByCode(db: Db, code: string): Promise<{ id: string; is_active: boolean } | null> {
  const row = await db.selectFrom('investigations').select(['id', 'is_active']).where('code', '=', code).executeTakeFirst();
  return row ? { id: row.id, is_active: Boolean(row.is_active) } : null;
}

export async function insertMember(db: Db, investigationId: string, userId: string, role: MemberRole): Promise<void> {
  await db.insertInto('inv_members').values({ investigation_id: investigationId, user_id: userId, role, joined_at: now(), last_seen: null }).execute();
}

export async function setCode(db: Db | Trx, investigationId: string, code: string): Promise<void> {
  await db.updateTable('investigations').set({ code }).where('id', '=', investigationId).execute();
}
