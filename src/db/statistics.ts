import { sql } from 'kysely';
import type { Connection } from './connect.js';

/**
 * SQLite keeps no planner statistics of the change log (`user_changes`, migration 010). The log is small
 * when ANALYZE meets it (a bulk load's, a database's first minutes), and statistics saying it holds two
 * rows made SQLite plan the change-log triggers' reads and deletes as scans of the whole log: at 100,000
 * rows of another organization's log, a PATCH took 13 ms of SQLite's time instead of 0.3 (docs/writes.md).
 * Without statistics SQLite assumes a large table and uses the log's index. Runs after migrating (every
 * start of the server and the CLI), which also undoes an ANALYZE run by hand since.
 */
export async function dropChangeLogStatistics(conn: Connection): Promise<void> {
  if (conn.dialect !== 'sqlite') return;
  const { rows } = await sql`select 1 from sqlite_master where type = 'table' and name = 'sqlite_stat1'`.execute(
    conn.db,
  );
  if (rows.length === 0) return;
  const dropped = await sql`delete from sqlite_stat1 where tbl = 'user_changes'`.execute(conn.db);
  // The connection reloads its statistics; connections opened later read them as they are now.
  if (Number(dropped.numAffectedRows ?? 0) > 0) await sql`analyze sqlite_schema`.execute(conn.db);
}
