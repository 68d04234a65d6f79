import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../connect.js';
import { columnsFor } from './columns.js';

/**
 * Rate-limit counters shared by every Roster process on this database (used when
 * no REDIS_URL is set): one row per budget (an API key or a client address) and
 * fixed window. On PostgreSQL the table is UNLOGGED: counters need no crash
 * safety, and skipping the WAL keeps a counted request from costing a WAL flush.
 * A file-backed SQLite database keeps its counters in a sidecar file instead
 * (see ratelimit/ratelimit.store.ts); the table here serves an in-memory one.
 */
export function hardeningMigration(dialect: Dialect): Migration {
  const pg = dialect === 'postgres';
  const { text } = columnsFor(dialect);
  return {
    async up(db: Kysely<any>) {
      let table = db.schema.createTable('rate_limits');
      if (pg) table = table.modifyFront(sql`unlogged`);
      await table
        .addColumn('bucket', 'text', (c) => text(c).primaryKey())
        .addColumn('hits', 'integer', (c) => c.notNull())
        // Milliseconds since the epoch at which the window ends (bigint: past 2^31).
        .addColumn('reset_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('rate_limits_reset_idx').on('rate_limits').column('reset_at').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('rate_limits').execute();
    },
  };
}
