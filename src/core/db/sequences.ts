import { sql, type Kysely } from 'kysely';
import { preparedQuery } from './prepared.js';
import type { CoreTables } from './tables.js';

/**
 * The next number of a named counter (per-user invoice numbers, OP numbers per year, ...).
 * Call it inside the transaction that uses the number: the upsert locks the counter row until
 * commit on PostgreSQL (SQLite transactions hold the write lock), so concurrent transactions get
 * distinct, gapless numbers, and a rolled-back transaction gives its number back.
 */
export async function nextSequenceValue<DB extends CoreTables>(trx: Kysely<DB>, scope: string): Promise<number> {
  // Kysely's types are invariant in the table map; a module's wider database is a CoreTables database.
  const [row] = await bumpSequence(trx as unknown as Kysely<CoreTables>, scope);
  if (!row) throw new Error(`The sequence ${scope} returned no value`);
  return Number(row.value);
}

// Every numbered insert (invoices, visits, claims) runs it: compiled once (see preparedQuery).
const bumpSequence = preparedQuery((db: Kysely<CoreTables>, scope: string) =>
  db
    .insertInto('sequences')
    .values({ scope, value: 1 })
    .onConflict((conflict) => conflict.column('scope').doUpdateSet({ value: sql`sequences.value + 1` }))
    .returning('value'),
);
