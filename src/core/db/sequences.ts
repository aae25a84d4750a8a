import { sql, type Kysely } from 'kysely';
import type { CoreTables } from './tables.js';

/**
 * The next number of a named counter (per-user invoice numbers, OP numbers per year, ...).
 * Call it inside the transaction that uses the number: the upsert locks the counter row until
 * commit on PostgreSQL (SQLite transactions hold the write lock), so concurrent transactions get
 * distinct, gapless numbers, and a rolled-back transaction gives its number back.
 */
export async function nextSequenceValue<DB extends CoreTables>(trx: Kysely<DB>, scope: string): Promise<number> {
  // Kysely's types are invariant in the table map; a module's wider database is a CoreTables database.
  const db = trx as unknown as Kysely<CoreTables>;
  const row = await db
    .insertInto('sequences')
    .values({ scope, value: 1 })
    .onConflict((conflict) => conflict.column('scope').doUpdateSet({ value: sql`sequences.value + 1` }))
    .returning('value')
    .executeTakeFirstOrThrow();
  return Number(row.value);
}
