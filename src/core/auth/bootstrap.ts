import type { Kysely } from 'kysely';
import { isEmailAddress } from '../../config.js';
import type { CoreTables } from '../db/tables.js';
import { isUniqueViolation } from '../db/errors.js';
import { hashPassword } from './passwords.js';
import * as repo from './repo.js';
import type { User } from './schema.js';

export interface AdminAccount {
  email: string;
  password: string;
  name?: string;
}

/** Creates an admin account; fails when the email is taken (promote that user instead). */
export async function createAdmin(db: Kysely<CoreTables>, account: AdminAccount): Promise<User> {
  if (account.password.length < 8 || account.password.length > 128) throw new Error('The password must be 8 to 128 characters');
  if (!isEmailAddress(account.email)) throw new Error('The email address is not valid');
  if (await repo.emailTaken(db, account.email)) throw new Error(`A user with email ${account.email} already exists; use "admin promote" instead`);
  return repo.insertUser(db, { email: account.email, name: account.name ?? 'Administrator', role: 'admin', password_hash: await hashPassword(account.password) });
}

/** ADMIN_EMAIL/ADMIN_PASSWORD create the first admin, on a database that has no users yet. */
export async function bootstrapAdmin(db: Kysely<CoreTables>, account: AdminAccount): Promise<User | null> {
  if ((await repo.countUsers(db)) > 0) return null;
  try {
    return await createAdmin(db, account);
  } catch (error) {
    // Another worker bootstrapped the same admin a moment earlier.
    if (isUniqueViolation(error)) return null;
    throw error;
  }
}

export async function setRole(db: Kysely<CoreTables>, email: string, role: 'user' | 'admin'): Promise<User> {
  const found = await repo.findCredentials(db, { email });
  if (!found) throw new Error(`No user with email ${email}`);
  return (await repo.updateUser(db, found.id, { role }))!;
}

export async function unlockAccount(db: Kysely<CoreTables>, email: string): Promise<void> {
  const found = await repo.findCredentials(db, { email });
  if (!found) throw new Error(`No user with email ${email}`);
  await repo.clearLoginFailures(db, found.id);
}
