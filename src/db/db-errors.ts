/** Recognizes database errors by their driver codes, for both SQLite and PostgreSQL. */

interface DriverError {
  code?: unknown;
  message?: unknown;
}

/** A driver property as text; anything that is not a string or a number reads as ''. */
const textOf = (value: unknown): string =>
  typeof value === 'string' || typeof value === 'number' ? String(value) : '';

const code = (error: unknown): string => textOf((error as DriverError | null)?.code);

/** A unique constraint refused the write (SQLite SQLITE_CONSTRAINT_UNIQUE/PRIMARYKEY, PostgreSQL 23505). */
export function isUniqueViolation(error: unknown): boolean {
  const c = code(error);
  return c === '23505' || c === 'SQLITE_CONSTRAINT_UNIQUE' || c === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** A statement cancelled by statement_timeout or pg_cancel_backend (PostgreSQL 57014). */
export function isQueryCancelled(error: unknown): boolean {
  return code(error) === '57014';
}

/** A read that ran past its time limit (db/read-pool.ts QueryTimeoutError). */
export function isQueryTimeout(error: unknown): boolean {
  return code(error) === 'ROSTER_QUERY_TIMEOUT';
}

/**
 * A serialization failure or deadlock (PostgreSQL 40001/40P01), a row changed since it was read, or a
 * prepared write made stale by a migration (pg-prepared.ts): the transaction (or the savepoint) may be retried.
 */
export function isRetryable(error: unknown): boolean {
  const c = code(error);
  return c === '40001' || c === '40P01' || error instanceof RowChanged || isStalePreparedPlan(error);
}

/**
 * A prepared write (pg-prepared.ts) whose result columns changed since it was prepared, by a migration run while
 * the process serves: PostgreSQL 0A000, "cached plan must not change result type". Its transaction is aborted.
 */
export function isStalePreparedPlan(error: unknown): boolean {
  return code(error) === '0A000' && textOf((error as DriverError | null)?.message).includes('cached plan');
}

/** An update found its row at another version than the one it was read at: read it again and retry. */
export class RowChanged extends Error {}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '53300',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
]);

/** The database cannot be reached or is too busy right now: answer 503 and let the client retry. */
export function isUnavailable(error: unknown): boolean {
  if (UNAVAILABLE_CODES.has(code(error))) return true;
  const message = textOf((error as DriverError | null)?.message);
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed/i.test(
    message,
  );
}
