import type { ColumnType, Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Dialect } from './connect.js';

/**
 * Column conventions shared by every migration, so one migration runs on both dialects:
 * - ids are UUIDv7 text (time-ordered, so primary-key inserts stay append-only);
 * - times are ISO 8601 UTC text written by the application (`now()`), which sort and compare
 *   correctly as strings and reach clients without conversion;
 * - booleans are `boolean` on PostgreSQL and 0/1 integers on SQLite (read them with `Boolean()`);
 * - money is integer minor units (`bigint`);
 * - nested documents are JSON text, which round-trips exactly (jsonb would reorder keys).
 */
export const newId = (): string => uuidv7();

let nowMs = Number.NaN;
let nowIso = '';
/** The current time as ISO text. Formatting a Date measured ~0.6 us; under load many requests ask within the same millisecond. */
export function now(): string {
  const ms = Date.now();
  if (ms !== nowMs) {
    nowMs = ms;
    nowIso = new Date(ms).toISOString();
  }
  return nowIso;
}

export type BoolColumn = ColumnType<boolean | number, boolean, boolean>;

export function booleanType(dialect: Dialect): 'boolean' | 'integer' {
  return dialect === 'postgres' ? 'boolean' : 'integer';
}

/** Migrations build DDL only; the table types of a migration are not known to Kysely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type MigrationDb = Kysely<any>;
