import { sql } from 'kysely';
import type { Database, Dialect } from './connect.js';
import { now, type MigrationDb } from './columns.js';

export interface Migration {
  /** Unique across the whole project: prefix it with the module name (`freelance_001_clients`). */
  name: string;
  up(db: MigrationDb, dialect: Dialect): Promise<void>;
}

export interface MigrationGroup {
  module: string;
  migrations: Migration[];
}

/** Any fixed number: every instance takes the same PostgreSQL advisory lock while migrating. */
const MIGRATION_LOCK_KEY = 7_277_001;

async function ensureMigrationsTable(database: Database): Promise<void> {
  await database.db.schema
    .createTable('schema_migrations')
    .ifNotExists()
    .addColumn('name', 'text', (col) => col.primaryKey())
    .addColumn('module', 'text', (col) => col.notNull())
    .addColumn('applied_at', 'text', (col) => col.notNull())
    .execute();
}

/**
 * Applies pending migrations in the order given (core first, then each module's), each in its own
 * transaction with its bookkeeping row, so a failure leaves the schema at the last good migration.
 * Several instances starting together wait on one lock and apply each migration once.
 */
export async function migrate(database: Database, groups: MigrationGroup[]): Promise<string[]> {
  await ensureMigrationsTable(database);
  const applied: string[] = [];
  const seen = new Set<string>();
  for (const group of groups) {
    for (const migration of group.migrations) {
      if (seen.has(migration.name)) throw new Error(`Duplicate migration name ${migration.name}`);
      seen.add(migration.name);
      const ran = await database.db.transaction().execute(async (trx) => {
        if (database.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(trx);
        const done = await trx
          .selectFrom('schema_migrations')
          .select('name')
          .where('name', '=', migration.name)
          .executeTakeFirst();
        if (done) return false;
        await migration.up(trx, database.dialect);
        await trx.insertInto('schema_migrations').values({ name: migration.name, module: group.module, applied_at: now() }).execute();
        return true;
      });
      if (ran) applied.push(migration.name);
    }
  }
  return applied;
}

/** True when every migration of the given groups is recorded as applied. */
export async function migrationsApplied(database: Database, groups: MigrationGroup[]): Promise<boolean> {
  const rows = await database.db.selectFrom('schema_migrations').select('name').execute();
  const applied = new Set(rows.map((row) => row.name));
  return groups.every((group) => group.migrations.every((migration) => applied.has(migration.name)));
}
