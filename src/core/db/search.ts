import { sql, type RawBuilder, type SqlBool } from 'kysely';

/**
 * `value` lower-cased by the database: the other side of a comparison with `lower(column)`.
 * PostgreSQL's lower() and JavaScript's toLowerCase() differ on a few letters (a final Σ, a dotted
 * İ), so both sides must be folded by the same function; on SQLite lower() is JavaScript's
 * (src/core/db/connect.ts).
 */
export const lowered = (value: string): RawBuilder<string> => sql<string>`lower(${value})`;

/** `%term%` for LIKE, with the wildcards a user typed matched literally. */
function containsPattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/**
 * True when any of the columns contains `term`, ignoring case, on SQLite and PostgreSQL alike:
 * `.where(textMatches(['clients.name', 'clients.email'], search))`.
 */
export function textMatches(columns: string[], term: string): RawBuilder<SqlBool> {
  const pattern = lowered(containsPattern(term));
  const tests = columns.map((column) => sql`lower(coalesce(${sql.ref(column)}, '')) like ${pattern} escape '\\'`);
  return sql<SqlBool>`(${sql.join(tests, sql` or `)})`;
}
