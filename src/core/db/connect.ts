import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type QueryCompiler,
  type SqliteDatabase,
  type SqliteDialectConfig,
  type SqliteStatement,
} from 'kysely';
import type { Pool, types as PgTypes } from 'pg';
import type { Config } from '../../config.js';
import { registerDirectReader, type DirectReader } from './prepared.js';
import { LimitKeepingSqliteCompiler } from './sqlite-limit.js';
import { rowBuilder, type RowBuilder } from './sqlite-rows.js';
import type { CoreTables } from './tables.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<CoreTables>;
  dialect: Dialect;
  /** Pool figures for /metrics; SQLite has one connection. */
  poolStats(): { total: number; idle: number; waiting: number };
  /**
   * SQLite only: a number that changes whenever the database may have changed since the last call,
   * written by this process or committed by any other connection (another worker, the CLI). It is
   * undefined while this process has a transaction open, and PostgreSQL has no such cheap signal.
   * What it returns may be cached against it: the session check does (`src/core/auth/guards.ts`).
   */
  changeGeneration?(): number | undefined;
  close(): Promise<void>;
}

/**
 * How many prepared statements SQLite keeps, least recently used out first. A fuzz run over every
 * operation prepared 329 distinct statements; lists bound as `in (?, ?, ...)` make one per length,
 * and 1,000 statements of that kind measured 32 MB, so the bound is a memory bound too.
 */
const STATEMENT_CACHE_SIZE = 500;

/**
 * better-sqlite3 binds only numbers, strings, bigints, buffers and null; the rest of the code
 * passes booleans and dates as it would to PostgreSQL.
 */
function toSqliteParameters(parameters: ReadonlyArray<unknown>): ReadonlyArray<unknown> {
  let converted: unknown[] | null = null;
  for (let i = 0; i < parameters.length; i++) {
    const value = parameters[i];
    if (typeof value === 'boolean' || value instanceof Date) {
      converted ??= parameters.slice();
      converted[i] = typeof value === 'boolean' ? Number(value) : value.toISOString();
    }
  }
  return converted ?? parameters;
}

const SCHEMA_CHANGE = /^\s*(create|alter|drop)\s/i;

/** A cached statement, and whether it only reads (only those may bypass Kysely's connection lock). */
interface CachedStatement extends SqliteStatement {
  readonly readOnly: boolean;
}

/** A reading statement that returns rows built by `rowBuilder` from arrays of values (see there). */
function rowReadingStatement(statement: BetterSqlite3.Statement, wrote: () => void): CachedStatement {
  statement.raw(true);
  const columnNames = () => statement.columns().map((column) => column.name);
  let columns = columnNames();
  let build: RowBuilder = rowBuilder(columns);
  const toRow = (values: unknown[]) => {
    // SQLite re-prepares a statement whose tables changed; `select *` may then return other columns.
    if (values.length !== columns.length) {
      columns = columnNames();
      build = rowBuilder(columns);
    }
    return build(values);
  };
  // `insert ... returning` reads and writes.
  const writes = !statement.readonly;
  return {
    reader: true,
    readOnly: statement.readonly,
    all: (parameters) => {
      if (writes) wrote();
      return (statement.all(toSqliteParameters(parameters)) as unknown[][]).map(toRow);
    },
    run: (parameters) => {
      if (writes) wrote();
      return statement.run(toSqliteParameters(parameters));
    },
    *iterate(parameters) {
      if (writes) wrote();
      for (const values of statement.iterate(toSqliteParameters(parameters)) as IterableIterator<unknown[]>) yield toRow(values);
    },
  };
}

/**
 * Kysely's SQLite driver prepares every query anew; reusing the statement for the same SQL text
 * measured about 4x faster on a primary-key lookup (see shared/DESIGN.md).
 */
export function withStatementCache(
  raw: BetterSqlite3.Database,
  capacity = STATEMENT_CACHE_SIZE,
): SqliteDatabase & { directReader: DirectReader; changeGeneration(): number | undefined } {
  const statements = new Map<string, CachedStatement>();
  // Counted when a statement that writes runs, before it does: a reader that took the generation
  // earlier then sees it changed, even if the write is rolled back (a needless miss, never a stale hit).
  let generation = 0;
  const wrote = () => {
    generation++;
  };
  // Moves when another connection commits; this connection's own commits do not move it.
  const dataVersion = raw.prepare('pragma data_version').pluck();
  let seenDataVersion: unknown;
  const cache = {
    close: () => raw.close(),
    prepare(sql: string): CachedStatement {
      const cached = statements.get(sql);
      if (cached) {
        // To the back of the queue: however many one-off shapes pass through, the hot statements stay.
        statements.delete(sql);
        statements.set(sql, cached);
        return cached;
      }
      const statement = raw.prepare(sql);
      // A cached reader knows its columns by name; after a schema change they may differ.
      const changesSchema = SCHEMA_CHANGE.test(sql);
      const writes = !statement.readonly;
      const wrapped: CachedStatement = statement.reader
        ? rowReadingStatement(statement, wrote)
        : {
            reader: false,
            readOnly: statement.readonly,
            all: (parameters) => {
              if (writes) wrote();
              return statement.all(toSqliteParameters(parameters));
            },
            run: (parameters) => {
              if (writes) wrote();
              const result = statement.run(toSqliteParameters(parameters));
              if (changesSchema) statements.clear();
              return result;
            },
            iterate: (parameters) => {
              if (writes) wrote();
              return statement.iterate(toSqliteParameters(parameters));
            },
          };
      if (statements.size >= capacity) statements.delete(statements.keys().next().value!);
      statements.set(sql, wrapped);
      return wrapped;
    },
    // While a transaction is open on the one connection, a read must wait for it (through Kysely's
    // lock) rather than run inside it and see its uncommitted writes. A write (`insert ... returning`
    // reads rows too) always goes through Kysely.
    directReader: (sql: string, parameters: readonly unknown[]) => {
      if (raw.inTransaction) return undefined;
      const statement = cache.prepare(sql);
      return statement.reader && statement.readOnly ? (statement.all(parameters) as unknown[]) : undefined;
    },
    changeGeneration: () => {
      if (raw.inTransaction) return undefined;
      const version = dataVersion.get();
      if (version !== seenDataVersion) {
        seenDataVersion = version;
        generation++;
      }
      return generation;
    },
  };
  return cache;
}

/**
 * `BEGIN IMMEDIATE` takes the write lock up front: a deferred transaction that reads and then writes
 * fails with SQLITE_BUSY when another process (WORKERS > 1) wrote in between, instead of waiting.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class AppSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
  override createQueryCompiler(): QueryCompiler {
    return new LimitKeepingSqliteCompiler();
  }
}

function openSqlite(file: string): Database {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const raw = new BetterSqlite3(file);
  // busy_timeout first: the pragmas after it may already need to wait for another process.
  raw.pragma('busy_timeout = 5000');
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('temp_store = MEMORY');
  raw.pragma('cache_size = -32000');
  // SQLite's own lower() folds ASCII only, so "ÉCOLE" and "école" were different tag names and
  // usernames, and a search for "émile" missed "Émile". JavaScript's Unicode case folding replaces it
  // (PostgreSQL's lower() already folds Unicode in a UTF-8 locale). It is deterministic, so the
  // expression indexes on lower(...) use it too; core_004 rebuilt the ones made before it.
  raw.function('lower', { deterministic: true }, (value: unknown) => (value === null ? null : String(value).toLowerCase()));
  const statements = withStatementCache(raw);
  const db = new Kysely<CoreTables>({ dialect: new AppSqliteDialect({ database: statements }) });
  registerDirectReader(db, statements.directReader);
  return {
    db,
    dialect: 'sqlite',
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    changeGeneration: statements.changeGeneration,
    close: () => db.destroy(),
  };
}

const PG_INT8 = 20;
const PG_NUMERIC = 1700;

/** pg is imported only when PostgreSQL is configured: it costs start-up time and memory otherwise. */
async function openPostgres(connectionString: string): Promise<Database> {
  const { default: pg } = await import('pg');
  const pool: Pool = new pg.Pool({
    connectionString,
    max: 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    types: {
      // COUNT(*) and SUM(bigint) come back as int8/numeric strings; our amounts are integer cents,
      // well inside Number's exact range.
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === PG_INT8 || oid === PG_NUMERIC
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format)) as typeof PgTypes.getTypeParser,
    },
  });
  // An idle client losing its server must not crash the process; the next query reports the outage.
  pool.on('error', () => {});
  const db = new Kysely<CoreTables>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: () => db.destroy(),
  };
}

export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir'>): Promise<Database> {
  return config.databaseUrl ? openPostgres(config.databaseUrl) : openSqlite(path.join(config.dataDir, 'app.db'));
}
