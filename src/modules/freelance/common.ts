import type { Kysely, Selectable, Transaction } from 'kysely';
import { Type, type Static, type TSchema } from 'typebox';
import type { CoreTables } from '../../core/db/tables.js';
import { isForeignKeyViolation } from '../../core/db/errors.js';
import { preparedQuery } from '../../core/db/prepared.js';
import { AppError, invalidReference } from '../../core/http/errors.js';
import { MoneyAmount, Nullable, PagingQuery, Timestamp, Uuid } from '../../core/http/schemas.js';
import type { FreelanceTables } from './tables.js';

/** Shared pieces of the freelance resources: the database type, owned-object fields, reference checks. */

export type FreelanceDb = Kysely<CoreTables & FreelanceTables> | Transaction<CoreTables & FreelanceTables>;

/** Every list: `limit` default 100, at most 500, and `offset`. */
export const ListPaging = PagingQuery(100, 500);

/** Fields every freelance object carries; `_id` repeats `id` because existing Orbix clients read `_id`. */
export const OwnedFields = {
  id: Uuid,
  _id: Uuid,
  user_id: Uuid,
  created_at: Timestamp,
  updated_at: Timestamp,
};

/** `_id` first: a property added after a spread is the slow case (docs/architecture.md, "Response objects"). */
export const withUnderscoreId = <T extends { id: string }>(row: T): T & { _id: string } => ({ _id: row.id, ...row });

/** Optional on create, nullable so a PUT can clear it. */
export const OptionalText = (maxLength: number) => Type.Optional(Nullable(Type.String({ maxLength })));
export const Optional = <T extends TSchema>(schema: T) => Type.Optional(Nullable(schema));

/** A money amount in the request: at most 2 decimals is checked by `centsOf` (ajv's multipleOf drifts). */
export const MoneyInput = MoneyAmount({ maximum: 10_000_000_000, description: 'A non-negative amount with at most 2 decimals' });
export const MoneyOutput = Type.Number();

/** An email address, or an empty string (forms send "" for a field left blank). */
export const EmailOrEmpty = Type.Union([Type.String({ format: 'email', maxLength: 254 }), Type.Literal('')]);

export const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, e.g. USD' });

type OwnedTable = 'freelance_clients' | 'freelance_projects' | 'freelance_time_entries' | 'freelance_contracts' | 'freelance_resumes';

function ownedRowFinder<T extends OwnedTable>(table: T): (db: FreelanceDb, userId: string, id: string) => Promise<Selectable<FreelanceTables[T]> | undefined> {
  const query = preparedQuery((db: Kysely<CoreTables & FreelanceTables>, id: string, userId: string) =>
    db.selectFrom(table as OwnedTable).selectAll().where('id', '=', id).where('user_id', '=', userId),
  );
  // The cast names the row type the table parameter fixes; Kysely's types cannot follow a generic table name.
  return async (db, userId, id) => (await query(db, id, userId))[0] as Selectable<FreelanceTables[T]> | undefined;
}

/**
 * One of the caller's own rows by id, or undefined, per table. Every GET, PUT and DELETE by id
 * starts with it, so its SQL is compiled once per table (see preparedQuery in core).
 */
export const findOwnedRow = {
  freelance_clients: ownedRowFinder('freelance_clients'),
  freelance_projects: ownedRowFinder('freelance_projects'),
  freelance_time_entries: ownedRowFinder('freelance_time_entries'),
  freelance_contracts: ownedRowFinder('freelance_contracts'),
  freelance_resumes: ownedRowFinder('freelance_resumes'),
};

type ReferenceTable = 'freelance_clients' | 'freelance_projects';
const REFERENCE_NAMES: Record<ReferenceTable, string> = { freelance_clients: 'Client', freelance_projects: 'Project' };

/** 400 unless `id` names one of the caller's own clients or projects. */
export async function assertOwnReference(db: FreelanceDb, table: ReferenceTable, userId: string, id: string | null | undefined, field: string): Promise<void> {
  if (id === null || id === undefined) return;
  if (!(await findOwnedRow[table](db, userId, id))) throw invalidReference(field, REFERENCE_NAMES[table]);
}

/**
 * Runs a write whose references were checked just before: if one of them was deleted in between,
 * the foreign key refuses the write, and the caller gets the same 400 the check would have given.
 */
export async function referencesStillExist<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (isForeignKeyViolation(error)) throw new AppError(400, 'INVALID_REFERENCE', 'A referenced object no longer exists');
    throw error;
  }
}

/**
 * A nullable field of a response, as `type: [T, "null"]`. fast-json-stringify writes that directly,
 * where the `anyOf` of `Nullable` makes it test the value against each branch: on a 50-invoice list
 * that was most of the serialisation time.
 */
export const OrNull = <T extends TSchema & { type: string }>(schema: T) => Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] });
