import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { isSqlite } from './dialect.js';
import type { Database } from './tables.js';

/**
 * `column` is one of `ids`, the ids bound as one parameter (a PostgreSQL
 * integer array, a SQLite JSON array): one bind per id would meet SQLite's
 * 32,766-variable and PostgreSQL's 65,535-parameter limits, and each length
 * would be a new statement to prepare.
 */
export function inIdList(db: Kysely<Database>, column: string, ids: readonly number[]): RawBuilder<SqlBool> {
  return isSqlite(db)
    ? sql<SqlBool>`${sql.ref(column)} in (select value from json_each(${JSON.stringify(ids)}))`
    : sql<SqlBool>`${sql.ref(column)} = any(${[...ids]}::int[])`;
}
