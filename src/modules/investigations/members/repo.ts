import { now } from '../../../core/db/columns.js';
import { preparedQuery } from '../../../core/db/prepared.js';
import type { Db } from '../access.js';
import { setCode } from '../boards/repo.js';
import type { MemberRole } from '../tables.js';
import { isOnline } from './rules.js';
import type { Member } from './schema.js';

function selectMembers(db: Db, investigationId: string) {
  return db
    .selectFrom('inv_members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['u.id', 'u.username', 'u.email', 'u.name', 'u.avatar', 'm.role', 'm.joined_at', 'm.last_seen'])
    .where('m.investigation_id', '=', investigationId);
}

type Row = Omit<Member, 'online'>;
const toMember = (row: Row, at = Date.now()): Member => ({ online: isOnline(row.last_seen, at), ...row });

/** Members in the order they joined. */
// Members and presence lists are polled by every open board: compiled once (preparedQuery).
const memberPage = preparedQuery((db: Db, investigationId: string, limit: number, offset: number) =>
  selectMembers(db, investigationId).orderBy('m.joined_at').orderBy('u.id').limit(limit).offset(offset),
);

export async function listMembers(db: Db, investigationId: string, page: { limit: number; offset: number }): Promise<Member[]> {
  const rows = await memberPage(db, investigationId, page.limit, page.offset);
  const at = Date.now();
  return rows.map((row) => toMember(row, at));
}

export async function findMember(db: Db, investigationId: string, userId: string): Promise<Member | null> {
  const row = await selectMembers(db, investigationId).where('m.user_id', '=', userId).executeTakeFirst();
  return row ? toMember(row) : null;
}

/** Changes a member's role only from the role it was decided on: false when the member left or changed meanwhile. */
export async function setRole(db: Db, investigationId: string, userId: string, from: MemberRole, to: MemberRole): Promise<boolean> {
  const result = await db
    .updateTable('inv_members')
    .set({ role: to })
    .where('investigation_id', '=', investigationId)
    .where('user_id', '=', userId)
    .where('role', '=', from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Removes the member and, when given, installs the new join code in the same transaction. */
export async function removeMember(db: Db, investigationId: string, userId: string, newCode: string | null): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const result = await trx.deleteFrom('inv_members').where('investigation_id', '=', investigationId).where('user_id', '=', userId).executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) return false;
    if (newCode !== null) await setCode(trx, investigationId, newCode);
    return true;
  });
}

export async function currentCode(db: Db, investigationId: string): Promise<string> {
  const row = await db.selectFrom('investigations').select('code').where('id', '=', investigationId).executeTakeFirstOrThrow();
  return row.code;
}

export async function touchPresence(db: Db, investigationId: string, userId: string): Promise<string> {
  const at = now();
  await db.updateTable('inv_members').set({ last_seen: at }).where('investigation_id', '=', investigationId).where('user_id', '=', userId).execute();
  return at;
}
