import { sql, SqliteAdapter, type CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { Dialect, ReadNow } from './connect.js';
import type { Database } from './tables.js';

/** True when the Kysely instance (or transaction) speaks SQLite. */
export function isSqlite(db: Kysely<Database>): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}

/**
 * A query compiled once per dialect, on first use, and given new parameters on each run (in the order the
 * builder placed them; the values `build` passes only stand in for them).
 */
export function compiledOnce<R>(build: (db: Kysely<Database>) => { compile(): CompiledQuery<R> }) {
  const compiled: { sqlite?: CompiledQuery<R>; postgres?: CompiledQuery<R> } = {};
  return (db: Kysely<Database>, parameters: readonly unknown[]): CompiledQuery<R> => ({
    ...(isSqlite(db) ? (compiled.sqlite ??= build(db).compile()) : (compiled.postgres ??= build(db).compile())),
    parameters,
  });
}

/**
 * A query compiled once per dialect and run with new parameters (in the
 * order the builder placed them): the hottest reads skip Kysely's builder and
 * compiler on every request.
 */
export function precompiled<R>(build: (db: Kysely<Database>) => { compile(): CompiledQuery<R> }) {
  const compiledFor = compiledOnce(build);
  return async (db: Kysely<Database>, parameters: readonly unknown[]): Promise<R | undefined> => {
    const result = await db.executeQuery<R>(compiledFor(db, parameters));
    return result.rows[0];
  };
}

/**
 * As precompiled, for every row; read at once through `readNow` (SQLite's connection.readNow) when given
 * and the connection is free for it, so that the rows come without a promise.
 */
export function precompiledRows<R>(build: (db: Kysely<Database>) => { compile(): CompiledQuery<R> }) {
  const compiledFor = compiledOnce(build);
  return (db: Kysely<Database>, parameters: readonly unknown[], readNow?: ReadNow): R[] | Promise<R[]> => {
    const query = compiledFor(db, parameters);
    return readNow?.(query) ?? db.executeQuery<R>(query).then((result) => result.rows);
  };
}

/**
 * After rows were inserted with explicit ids, moves PostgreSQL's identity
 * sequences past them (SQLite's AUTOINCREMENT follows the largest id by itself).
 * The imports keep billing group and group ids; `roster copy` keeps every table's.
 */
export async function syncIdSequences(
  trx: Transaction<Database>,
  dialect: Dialect,
  tables: readonly string[] = ['billing_groups', 'groups'],
): Promise<void> {
  if (dialect !== 'postgres') return;
  for (const table of tables) {
    await sql`select setval(pg_get_serial_sequence(${table}, 'id'), greatest((select max(id) from ${sql.table(table)}), 1))`.execute(
      trx,
    );
  }
}
