import type pg from 'pg';
import { isStalePreparedPlan } from './db-errors.js';

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
 * Makes a pooled PostgreSQL connection run its parameterized writes as named prepared statements: each is
 * parsed and planned once per connection instead of at every run (docs/performance.md, "PostgreSQL's writes
 * planned once"). Only writes: they touch rows by key, so the generic plan PostgreSQL may settle on after five
 * runs is the plan every value gets. Reads (pages, searches) stay planned for their values: their best plan
 * depends on the organization's size and the term. Statements without parameters (the simple protocol:
 * savepoints, several statements sent together) are left alone. A statement refused as stale (db-errors.ts
 * isStalePreparedPlan, which isRetryable counts in) is prepared again under a new name at its next run.
 */
export function prepareWrites(client: pg.PoolClient): void {
  const names = new Map<string, string>();
  let made = 0;
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((...args: unknown[]) => {
    const [text, values] = args;
    // Kysely's call: the text and its values, answered by a promise (no callback, no query object).
    if (
      args.length === 2 &&
      typeof text === 'string' &&
      Array.isArray(values) &&
      isPreparedWrite(text, values.length)
    ) {
      let name = names.get(text);
      if (name === undefined && names.size < PREPARED_MAX) names.set(text, (name = `roster_${made++}`));
      if (name !== undefined) {
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
