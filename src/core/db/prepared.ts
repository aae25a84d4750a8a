import { randomBytes } from 'node:crypto';
import { CompiledQuery, type Compilable, type Kysely } from 'kysely';

interface Template {
  sql: string;
  /** Per bound parameter: the index of the argument it takes, or a constant the builder wrote. */
  slots: ({ argument: number } | { constant: unknown })[];
}

/**
 * A hot query whose SQL is built and compiled once per database, then executed with new arguments.
 * Building and compiling a query with Kysely measured ~25 us, several times its execution on SQLite
 * with a cached statement, and it ran on every authenticated request.
 *
 * `build` must use each argument only as a bound value (no branching on it, no transforming it):
 * it is called once with placeholder strings to find where each argument goes.
 */
export function preparedQuery<DB, Args extends unknown[], Row>(build: (db: Kysely<DB>, ...args: Args) => Compilable<Row>) {
  const templates = new WeakMap<Kysely<DB>, Template>();
  const marker = `\u0000arg:${randomBytes(6).toString('hex')}:`;

  function templateFor(db: Kysely<DB>, arity: number): Template {
    let template = templates.get(db);
    if (!template) {
      const placeholders = Array.from({ length: arity }, (_, index) => `${marker}${index}`) as Args;
      const compiled = build(db, ...placeholders).compile();
      const slots = compiled.parameters.map((value) =>
        typeof value === 'string' && value.startsWith(marker) ? { argument: Number(value.slice(marker.length)) } : { constant: value },
      );
      const used = new Set(slots.flatMap((slot) => ('argument' in slot ? [slot.argument] : [])));
      if (used.size !== arity) throw new Error('preparedQuery: every argument must be used as a bound value');
      template = { sql: compiled.sql, slots };
      templates.set(db, template);
    }
    return template;
  }

  return async (db: Kysely<DB>, ...args: Args): Promise<Row[]> => {
    const template = templateFor(db, args.length);
    const parameters = template.slots.map((slot) => ('argument' in slot ? args[slot.argument] : slot.constant));
    const rows = directReaders.get(db)?.(template.sql, parameters) as Row[] | undefined;
    return rows ?? (await db.executeQuery<Row>(CompiledQuery.raw(template.sql, parameters))).rows;
  };
}

/** Runs a read at once and returns its rows, or undefined when it must go through Kysely instead. */
export type DirectReader = (sql: string, parameters: readonly unknown[]) => unknown[] | undefined;

const directReaders = new WeakMap<object, DirectReader>();

/**
 * On SQLite, Kysely queues every query behind a connection lock of promises; for a read outside
 * any transaction that costs more than the read itself (an indexed lookup is a few microseconds).
 * The database layer registers here a reader that runs such reads directly; prepared queries use it.
 */
export function registerDirectReader(db: object, reader: DirectReader): void {
  directReaders.set(db, reader);
}
