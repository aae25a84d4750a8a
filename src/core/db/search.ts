import { sql, type RawBuilder, type SqlBool } from 'kysely';

/** `%term%` for LIKE, lower-cased, with the wildcards a user typed matched literally. */
export function containsPattern(term: string): string {
  return `%${term.toLowerCase().replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/**
 * True when any of the columns contains `term`, ignoring case, on SQLite and PostgreSQL alike:
 * `.where(textMatches(['clients.name', 'clients.email'], search))`.
 */
export function textMatches(columns: string[], term: string): RawBuilder<SqlBool> {
  const pattern = containsPattern(term);
  const tests = columns.map((column) => sql`lower(coalesce(${sql.ref(column)}, '')) like ${pattern} escape '\\'`);
  return sql<SqlBool>`(${sql.join(tests, sql` or `)})`;
}
