import type { Selectable } from 'kysely';
import { newId, now } from '../../../core/db/columns.js';
import { conflict } from '../../../core/http/errors.js';
import { findOwnedRow, type FreelanceDb } from '../common.js';
import { optionalFromCents } from '../../../core/http/schemas.js';
import type { FreelanceContractsTable } from '../tables.js';
import type { ContractStatus } from './rules.js';
import type { Contract, ContractListQuery, Party } from './schema.js';

export type ContractRow = Selectable<FreelanceContractsTable>;

export function toContract(row: ContractRow): Contract {
  const { type, status, parties, deliverables, value, ...stored } = row;
  return {
    _id: row.id,
    type: type as Contract['type'],
    status: status as ContractStatus,
    parties: JSON.parse(parties) as Party[],
    deliverables: JSON.parse(deliverables) as string[],
    value: optionalFromCents(value),
    ...stored,
  };
}

/** Parties as stored: every key present, absent ones null, in a fixed key order. */
export const normaliseParties = (parties: Array<{ name: string; role?: string | null; email?: string | null }>): Party[] =>
  parties.map((party) => ({ name: party.name, role: party.role ?? null, email: party.email ?? null }));

export async function listContracts(db: FreelanceDb, userId: string, query: ContractListQuery): Promise<Contract[]> {
  let select = db.selectFrom('freelance_contracts').selectAll().where('user_id', '=', userId);
  if (query.status) select = select.where('status', '=', query.status);
  if (query.type) select = select.where('type', '=', query.type);
  const rows = await select.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit).offset(query.offset).execute();
  return rows.map(toContract);
}

export const findContractRow: (db: FreelanceDb, userId: string, id: string) => Promise<ContractRow | undefined> = findOwnedRow.freelance_contracts;

export type ContractValues = Omit<ContractRow, 'id' | 'user_id' | 'created_at' | 'updated_at'>;

export async function insertContract(db: FreelanceDb, userId: string, values: ContractValues): Promise<Contract> {
  const at = now();
  const row = await db
    .insertInto('freelance_contracts')
    .values({ id: newId(), user_id: userId, ...values, created_at: at, updated_at: at })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toContract(row);
}

/** Applies changes if the contract is still in `expectedStatus` (409 after a concurrent move). */
export async function updateContract(db: FreelanceDb, userId: string, id: string, expectedStatus: ContractStatus, changes: Partial<ContractValues>): Promise<Contract> {
  const row = await db
    .updateTable('freelance_contracts')
    .set({ ...changes, updated_at: now() })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('status', '=', expectedStatus)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw conflict('The contract was changed by another request; reload it and try again', 'CONCURRENT_UPDATE');
  return toContract(row);
}

export async function deleteContract(db: FreelanceDb, userId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('freelance_contracts').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}
