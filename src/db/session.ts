/**
 * PostgreSQL: a session of its own for work that needs the pg client itself
 * (COPY, temporary tables, session settings) next to Kysely queries in the
 * same transaction. A new client, not one of the pool's, so no setting or
 * temporary table leaks into a pooled connection and none leaks in.
 */
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import type { Database } from './tables.js';

/** One PostgreSQL session: Kysely and the raw client run on the same connection, so they share its transaction. */
export interface PgSession {
  readonly db: Kysely<Database>;
  readonly client: pg.Client;
}

/** Opens a session on `url` (with the pool's type parsers), runs `work` in it, and closes it. */
export async function withPgSession<T>(
  url: string,
  types: pg.CustomTypesConfig,
  work: (session: PgSession) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: url, types });
  // A connection lost mid-work fails the query in flight; the client's 'error' event must not also crash the process.
  client.on('error', () => {});
  await client.connect();
  // Kysely asks its pool for a client per query or transaction: always this one, never released to anyone else.
  const pinned: PostgresPoolClient = {
    query: client.query.bind(client),
    release: () => {},
  };
  const pool: PostgresPool = { connect: async () => pinned, end: async () => {} };
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    return await work({ db, client });
  } finally {
    await db.destroy();
    await client.end();
  }
}
