import { sql, type Kysely, type Transaction } from 'kysely';
import type { CoreTables } from './tables.js';

/**
 * The next number of a named counter (per-user invoice numbers, OP numbers per year, ...).
 * Call it inside the transaction that uses the number: the upsert locks the counter row until
 * commit on PostgreSQL (SQLite transactions hold the write lock), so concurrent transactions get
 * distinct, gapless numbers, and a rolled-back transaction gives its number back.
 */
export async function nextSequenceValue(trx: Transaction<CoreTables> | Kysely<CoreTables>, scope: string): Promise<number> {
  const row = await trx
    .insertInto('sequences')
    .values({ scope, value: 1 })
    .onConflict((conflict) => conflict.column('scope').doUpdateSet({ value: sql`sequences.value + 1` }))
    .returning('value')
    .executeTakeFirstOrThrow();
  return Number(row.value);
}
