import { sql } from 'kysely';
import type { Connection } from '../db/connect.js';

/**
 * Connection settings for `roster export`: on SQLite, no memory-mapped reads
 * and a small page cache. A one-pass keyset scan reads each page about once:
 * the server's 64 MB cache and 1 GB map would only count in the process's
 * memory (measured on a million users: peak RSS 311 MB → 142 MB, and faster).
 */
export async function tuneForExport(conn: Connection): Promise<void> {
  if (conn.dialect !== 'sqlite') return;
  await sql`pragma mmap_size = 0`.execute(conn.db);
  await sql`pragma cache_size = -4000`.execute(conn.db);
}
