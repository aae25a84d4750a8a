/** Turns one row of values, in column order, into the object better-sqlite3 would have returned. */
export type RowBuilder = (values: readonly unknown[]) => Record<string, unknown>;

/**
 * better-sqlite3 builds each result row in C++, one generic property set per column (a runtime call
 * in V8 each). Reading rows as arrays (`statement.raw(true)`) and building them with an object
 * literal made for the statement's columns lets V8 create every row with one fixed shape: a
 * 100-row, 16-column read measured ~2x faster, a one-row read ~35% faster (bench/README.md).
 *
 * The literal is generated once per statement; the column names come from SQLite's description of
 * our own statements and are written as JSON string literals, so any name is a plain key. As with
 * better-sqlite3's objects, a later column of the same name wins. `__proto__` would set the
 * prototype in a literal, so a statement with such a column gets a builder that defines it instead.
 */
export function rowBuilder(columns: readonly string[]): RowBuilder {
  if (columns.includes('__proto__')) {
    return (values) => {
      const row: Record<string, unknown> = {};
      columns.forEach((name, index) => Object.defineProperty(row, name, { value: values[index], enumerable: true, writable: true, configurable: true }));
      return row;
    };
  }
  const fields = columns.map((name, index) => `${JSON.stringify(name)}: values[${index}]`).join(', ');
  // Generated code: it holds only JSON-quoted keys and indexes (see above).
  return new Function('values', `return { ${fields} };`) as RowBuilder;
}
