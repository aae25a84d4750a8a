/** Constraint failures, recognised the same way on SQLite and PostgreSQL. */
function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const { code } = error as { code: unknown };
  return typeof code === 'string' ? code : undefined;
}

export function isUniqueViolation(error: unknown): boolean {
  const code = codeOf(error);
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export function isForeignKeyViolation(error: unknown): boolean {
  const code = codeOf(error);
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/** The database cannot be reached at all (as opposed to refusing one query). */
export function isConnectionFailure(error: unknown): boolean {
  const code = codeOf(error);
  return (
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    code === '57P01' || // admin shutdown
    code === '57P03' || // cannot connect now
    code === 'SQLITE_BUSY' ||
    code === 'SQLITE_CANTOPEN' ||
    (error instanceof Error && /connection terminated|timeout exceeded when trying to connect|database connection is not open|driver has already been destroyed/i.test(error.message))
  );
}
