import type pg from 'pg';

/** Distinct statements one connection keeps prepared; later ones are planned at each run, as before. */
const PREPARED_MAX = 200;
/** Statements with more parameters (bulk inserts, whose text varies with their row count) are not kept. */
const PARAMETERS_MAX = 64;

/** A write: an insert, update or delete, alone or as a data-modifying CTE. */
const WRITE = /^\s*(?:insert|update|delete)\b/i;
const CTE = /^\s*with\b/i;
const CTE_WRITE = /\b(?:insert\s+into|update|delete\s+from)\b/i;

/** Whether a statement is planned once per connection (see prepareWrites). */
export function isPreparedWrite(text: string, parameters: number): boolean {
  if (parameters === 0 || parameters > PARAMETERS_MAX) return false;
  return WRITE.test(text) || (CTE.test(text) && CTE_WRITE.test(text));
}

/**
 * PostgreSQL refuses a prepared statement whose result columns changed since it was prepared (a migration
 * adding a column to a table it returns whole, while the process runs): 0A000, "cached plan must not change
 * result type". The transaction is aborted; db-errors.ts isRetryable lets the write be run again.
 */
export function isStalePreparedPlan(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  return e?.code === '0A000' && typeof e.message === 'string' && e.message.includes('cached plan');
}

/**
 * Makes a pooled PostgreSQL connection run its parameterized writes as named prepared statements: each is
 * parsed and planned once per connection instead of at every run (docs/performance.md, "PostgreSQL's writes
 * planned once"). Only writes: they touch rows by key, so the generic plan PostgreSQL may settle on after five
 * runs is the plan every value gets. Reads (pages, searches) stay planned for their values: their best plan
 * depends on the organization's size and the term. Statements without parameters (the simple protocol:
 * savepoints, several statements sent together) are left alone. A statement refused as stale
 * (isStalePreparedPlan) is prepared again under a new name at its next run.
 */
export function prepareWrites(client: pg.PoolClient): void {
  const names = new Map<string, string>();
  let made = 0;
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((...args: unknown[]) => {
    const [text, values] = args;
    if (typeof text === 'string' && Array.isArray(values) && isPreparedWrite(text, values.length)) {
      let name = names.get(text);
      if (name === undefined && names.size < PREPARED_MAX) names.set(text, (name = `roster_${made++}`));
      if (name !== undefined && args.length === 2) {
        const result = query({ name, text, values }) as Promise<unknown>;
        return result.catch((error: unknown) => {
          if (isStalePreparedPlan(error)) names.delete(text);
          throw error;
        });
      }
    }
    return query(...args);
  }) as typeof client.query;
}
