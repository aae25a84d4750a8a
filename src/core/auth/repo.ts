import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { newId, now } from '../db/columns.js';
import { preparedQuery } from '../db/prepared.js';
import { lowered, textMatches } from '../db/search.js';
import type { CoreTables, UsersTable } from '../db/tables.js';
import type { User } from './schema.js';

type Db = Kysely<CoreTables> | Transaction<CoreTables>;

/** Every column a client may see: never the password hash or the lock counters. */
const PUBLIC_COLUMNS = [
  'users.id',
  'users.email',
  'users.username',
  'users.name',
  'users.first_name',
  'users.last_name',
  'users.avatar',
  'users.role',
  'users.is_active',
  'users.created_at',
  'users.updated_at',
] as const;

type PublicRow = Pick<Selectable<UsersTable>, 'id' | 'email' | 'username' | 'name' | 'first_name' | 'last_name' | 'avatar' | 'role' | 'is_active' | 'created_at' | 'updated_at'>;

/**
 * Only the public fields, named one by one: a row read with the password hash (login) must not carry
 * it on. One literal also gives every user object the same shape (see docs/architecture.md, "Response
 * objects").
 */
export const toUser = (row: PublicRow): User => ({
  id: row.id,
  email: row.email,
  username: row.username,
  name: row.name,
  first_name: row.first_name,
  last_name: row.last_name,
  avatar: row.avatar,
  role: row.role,
  is_active: Boolean(row.is_active),
  created_at: row.created_at,
  updated_at: row.updated_at,
});

export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

/** The user behind a valid access token: one indexed query per authenticated request. */
export interface AuthUser extends User {
  session_id: string;
}

/** Runs on every authenticated request, so its SQL is compiled once (see preparedQuery). */
const sessionUserQuery = preparedQuery((db: Kysely<CoreTables>, sessionId: string, userId: string, at: string) =>
  db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(PUBLIC_COLUMNS)
    .select(['sessions.id as session_id', 'sessions.expires_at as session_expires_at'])
    .where('sessions.id', '=', sessionId)
    .where('sessions.user_id', '=', userId)
    .where('sessions.revoked_at', 'is', null)
    .where('sessions.expires_at', '>', at)
    .where('users.is_active', '=', true),
);

/** The user of a live session, and when the session expires (ISO text, as `now()`). */
export async function findSessionUser(db: Kysely<CoreTables>, sessionId: string, userId: string): Promise<{ user: AuthUser; expiresAt: string } | null> {
  const [row] = await sessionUserQuery(db, sessionId, userId, now());
  return row ? { user: { session_id: row.session_id, ...toUser(row) }, expiresAt: row.session_expires_at } : null;
}

export async function findUserById(db: Db, id: string): Promise<User | null> {
  const row = await db.selectFrom('users').select(PUBLIC_COLUMNS).where('id', '=', id).executeTakeFirst();
  return row ? toUser(row) : null;
}

export async function findCredentials(db: Db, login: { email?: string; username?: string }) {
  let query = db.selectFrom('users').select([...PUBLIC_COLUMNS, 'password_hash', 'failed_logins', 'locked_until']);
  if (login.username !== undefined) {
    query = query.where(sql<string>`lower(username)`, '=', lowered(login.username.trim()));
  } else {
    const email = normaliseEmail(login.email ?? '');
    // Old clients send a username in the email field; a value without "@" can only be one.
    query = query.where(sql<string>`lower(${sql.ref(email.includes('@') ? 'email' : 'username')})`, '=', lowered(email));
  }
  return query.executeTakeFirst();
}

export async function emailTaken(db: Db, email: string): Promise<boolean> {
  return (await db.selectFrom('users').select('id').where(sql<string>`lower(email)`, '=', lowered(normaliseEmail(email))).executeTakeFirst()) !== undefined;
}

export async function usernameTaken(db: Db, username: string, exceptUserId?: string): Promise<boolean> {
  let query = db.selectFrom('users').select('id').where(sql<string>`lower(username)`, '=', lowered(username));
  if (exceptUserId) query = query.where('id', '!=', exceptUserId);
  return (await query.executeTakeFirst()) !== undefined;
}

export interface NewUser {
  email: string;
  password_hash: string;
  username?: string | null;
  name?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  role?: 'user' | 'admin';
}

export async function insertUser(db: Db, user: NewUser): Promise<User> {
  const at = now();
  const row = await db
    .insertInto('users')
    .values({
      id: newId(),
      email: normaliseEmail(user.email),
      username: user.username ?? null,
      name: user.name ?? null,
      first_name: user.first_name ?? null,
      last_name: user.last_name ?? null,
      avatar: null,
      role: user.role ?? 'user',
      is_active: true,
      password_hash: user.password_hash,
      failed_logins: 0,
      locked_until: null,
      created_at: at,
      updated_at: at,
    })
    .returning(PUBLIC_COLUMNS)
    .executeTakeFirstOrThrow();
  return toUser(row);
}

export type UserChanges = Partial<Pick<UsersTable, 'username' | 'name' | 'first_name' | 'last_name' | 'avatar' | 'role' | 'password_hash'>> & {
  is_active?: boolean;
};

export async function updateUser(db: Db, id: string, changes: UserChanges): Promise<User | null> {
  const row = await db
    .updateTable('users')
    .set({ ...changes, updated_at: now() })
    .where('id', '=', id)
    .returning(PUBLIC_COLUMNS)
    .executeTakeFirst();
  return row ? toUser(row) : null;
}

/**
 * Counts a login attempt before its password is checked, in one statement, and returns the count
 * and the lock: concurrent guesses each get their own number, so no more than `maxFailures` are
 * ever checked before the lock. The attempt that reaches `maxFailures` locks the account until
 * `lockUntil`; a correct password clears the count again (`clearLoginFailures`).
 */
export async function countLoginAttempt(db: Db, userId: string, maxFailures: number, lockUntil: string) {
  return db
    .updateTable('users')
    .set({
      failed_logins: sql`failed_logins + 1`,
      locked_until: sql`case when failed_logins + 1 >= ${maxFailures} and locked_until is null then ${lockUntil} else locked_until end`,
    })
    .where('id', '=', userId)
    .returning(['failed_logins', 'locked_until'])
    .executeTakeFirst();
}

export async function clearLoginFailures(db: Db, userId: string): Promise<void> {
  await db.updateTable('users').set({ failed_logins: 0, locked_until: null }).where('id', '=', userId).execute();
}

/**
 * Starts the count afresh after the lock `expired` ran out, only while that lock is still the one
 * stored: concurrent attempts that all read the expired lock must not wipe the count (and the new
 * lock) that the first of them has started again.
 */
export async function clearExpiredLock(db: Db, userId: string, expired: string): Promise<void> {
  await db.updateTable('users').set({ failed_logins: 0, locked_until: null }).where('id', '=', userId).where('locked_until', '=', expired).execute();
}

/**
 * Active admins other than `userId`. `lock` (PostgreSQL): every active admin's row stays locked until
 * the transaction ends, taken in id order, so two admins demoting each other at once queue here and
 * the second sees the first's change. SQLite's write transactions already run one at a time.
 */
export async function countOtherActiveAdmins(db: Db, userId: string, lock: boolean): Promise<number> {
  const query = db.selectFrom('users').select('id').where('role', '=', 'admin').where('is_active', '=', true).orderBy('id');
  const admins = await (lock ? query.forUpdate() : query).execute();
  return admins.filter((admin) => admin.id !== userId).length;
}

export async function listUsers(db: Db, { limit, offset, search }: { limit: number; offset: number; search?: string }) {
  let query = db.selectFrom('users');
  if (search) query = query.where(textMatches(['email', 'username', 'name'], search));
  const [rows, count] = await Promise.all([
    query.select(PUBLIC_COLUMNS).orderBy('created_at', 'asc').orderBy('id', 'asc').limit(limit).offset(offset).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  return { users: rows.map(toUser), total: Number(count.total) };
}

export async function countUsers(db: Db): Promise<number> {
  const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
  return Number(row.total);
}

// Sessions and refresh tokens

export async function createSession(
  db: Db,
  session: { userId: string; refreshTokenHash: string; expiresAt: string; ip: string | null; userAgent: string | null },
): Promise<string> {
  const id = newId();
  await db
    .insertInto('sessions')
    .values({ id, user_id: session.userId, created_at: now(), expires_at: session.expiresAt, revoked_at: null, ip: session.ip, user_agent: session.userAgent })
    .execute();
  await db.insertInto('refresh_tokens').values({ token_hash: session.refreshTokenHash, session_id: id, expires_at: session.expiresAt, used_at: null }).execute();
  return id;
}

/**
 * `lock` (PostgreSQL): the token's and its session's rows stay locked until the transaction ends, so
 * concurrent refreshes of one token queue on this read instead of meeting later on the rows they
 * update and delete in different orders (a deadlock: 500s). SQLite's write transactions already run
 * one at a time (`BEGIN IMMEDIATE`).
 */
export async function findRefreshToken(db: Db, tokenHash: string, lock: boolean) {
  const query = db
    .selectFrom('refresh_tokens')
    .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
    .select([
      'refresh_tokens.token_hash',
      'refresh_tokens.expires_at',
      'refresh_tokens.used_at',
      'sessions.id as session_id',
      'sessions.user_id',
      'sessions.revoked_at',
    ])
    .where('refresh_tokens.token_hash', '=', tokenHash);
  return (lock ? query.forUpdate() : query).executeTakeFirst();
}

/** Marks a refresh token used; false when another request used it first. */
export async function useRefreshToken(db: Db, tokenHash: string): Promise<boolean> {
  const result = await db.updateTable('refresh_tokens').set({ used_at: now() }).where('token_hash', '=', tokenHash).where('used_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function rotateSession(db: Db, sessionId: string, refreshTokenHash: string, expiresAt: string): Promise<void> {
  await db.insertInto('refresh_tokens').values({ token_hash: refreshTokenHash, session_id: sessionId, expires_at: expiresAt, used_at: null }).execute();
  await db.updateTable('sessions').set({ expires_at: expiresAt }).where('id', '=', sessionId).execute();
}

export async function revokeSession(db: Db, sessionId: string): Promise<void> {
  await db.updateTable('sessions').set({ revoked_at: now() }).where('id', '=', sessionId).where('revoked_at', 'is', null).execute();
  // A revoked session's refresh tokens can never be used again; drop them.
  await db.deleteFrom('refresh_tokens').where('session_id', '=', sessionId).execute();
}

export async function revokeUserSessions(db: Db, userId: string, exceptSessionId?: string): Promise<void> {
  const otherSessions = db.selectFrom('sessions').select('id').where('user_id', '=', userId).where('id', '!=', exceptSessionId ?? '');
  await db.deleteFrom('refresh_tokens').where('session_id', 'in', otherSessions).execute();
  await db
    .updateTable('sessions')
    .set({ revoked_at: now() })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('id', '!=', exceptSessionId ?? '')
    .execute();
}

/** Forgets sessions that can no longer be used; they only matter until they expire. */
export async function pruneSessions(db: Db, revokedBefore: string): Promise<void> {
  const at = now();
  await db
    .deleteFrom('sessions')
    .where((eb) => eb.or([eb('expires_at', '<', at), eb('revoked_at', '<', revokedBefore)]))
    .execute();
  await db.deleteFrom('refresh_tokens').where('expires_at', '<', at).execute();
}
