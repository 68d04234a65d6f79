import { sql } from 'kysely';
import type { Connection } from './connect.js';

/**
 * Connection settings for `roster export`: on SQLite, no memory-mapped reads
 * and a small page cache. A one-pass keyset scan reads each page about once,
 * so the server's large cache and map would only add to the process's memory
 * (docs/import-export.md, memory). The import's own settings are in
 * import/import.repository.ts.
 */
export async function tuneForExport(conn: Connection): Promise<void> {
  if (conn.dialect !== 'sqlite') return;
  await sql`pragma mmap_size = 0`.execute(conn.db);
  await sql`pragma cache_size = -4000`.execute(conn.db);
}
