import { randomBytes } from 'node:crypto';
import { CompiledQuery, type Compilable, type Kysely, type KyselyPlugin } from 'kysely';

interface Template {
  sql: string;
  /** Per bound parameter: the index of the argument it takes, or a constant the builder wrote. */
  slots: ({ argument: number } | { constant: unknown })[];
}

const samePlugins = (a: readonly KyselyPlugin[], b: readonly KyselyPlugin[]) => a.length === b.length && a.every((plugin, index) => plugin === b[index]);

/**
 * A hot query whose SQL is built and compiled once per database, then executed with new arguments.
 * Building and compiling a query with Kysely measured ~25 us, several times its execution on SQLite
 * with a cached statement, and it ran on every authenticated request.
 *
 * The compiled SQL is kept per database and per set of plugins, so a transaction (a new Kysely
 * object each time, on the same database) reuses it: audited writes run their statements inside
 * the transaction of the change they record.
 *
 * `build` must use each argument only as a bound value (no branching on it, no transforming it):
 * it is called once with placeholder strings to find where each argument goes.
 */
export function preparedQuery<DB, Args extends unknown[], Row>(build: (db: Kysely<DB>, ...args: Args) => Compilable<Row>) {
  // By the dialect's adapter: one per database, shared by its transactions and `withTables` views.
  const templates = new WeakMap<object, { plugins: readonly KyselyPlugin[]; template: Template }[]>();
  const marker = `\u0000arg:${randomBytes(6).toString('hex')}:`;

  function templateFor(db: Kysely<DB>, arity: number): Template {
    const executor = db.getExecutor();
    let compiled = templates.get(executor.adapter);
    if (!compiled) templates.set(executor.adapter, (compiled = []));
    let template = compiled.find((entry) => samePlugins(entry.plugins, executor.plugins))?.template;
    if (!template) {
      const placeholders = Array.from({ length: arity }, (_, index) => `${marker}${index}`) as Args;
      const query = build(db, ...placeholders).compile();
      const slots = query.parameters.map((value) =>
        typeof value === 'string' && value.startsWith(marker) ? { argument: Number(value.slice(marker.length)) } : { constant: value },
      );
      const used = new Set(slots.flatMap((slot) => ('argument' in slot ? [slot.argument] : [])));
      if (used.size !== arity) throw new Error('preparedQuery: every argument must be used as a bound value');
      template = { sql: query.sql, slots };
      compiled.push({ plugins: [...executor.plugins], template });
    }
    return template;
  }

  return async (db: Kysely<DB>, ...args: Args): Promise<Row[]> => {
    const template = templateFor(db, args.length);
    const parameters = template.slots.map((slot) => ('argument' in slot ? args[slot.argument] : slot.constant));
    // Never for a transaction (inside one Kysely's path is the right one, and after one it refuses),
    // nor with plugins, whose transformResult only Kysely's path runs.
    const executor = db.getExecutor();
    const direct = db.isTransaction || executor.plugins.length > 0 ? undefined : directReaders.get(executor.adapter);
    const rows = direct?.(template.sql, parameters) as Row[] | undefined;
    return rows ?? (await db.executeQuery<Row>(CompiledQuery.raw(template.sql, parameters))).rows;
  };
}

/** Runs a read at once and returns its rows, or undefined when it must go through Kysely instead. */
export type DirectReader = (sql: string, parameters: readonly unknown[]) => unknown[] | undefined;

// By the dialect's adapter, like the templates: modules query through `withTables` views and
// transactions, each a new Kysely object on the same database.
const directReaders = new WeakMap<object, DirectReader>();

/**
 * On SQLite, Kysely queues every query behind a connection lock of promises; for a read outside
 * any transaction that costs more than the read itself (an indexed lookup is a few microseconds).
 * The database layer registers here a reader that runs such reads directly; prepared queries use it.
 */
export function registerDirectReader<DB>(db: Kysely<DB>, reader: DirectReader): void {
  directReaders.set(db.getExecutor().adapter, reader);
}
