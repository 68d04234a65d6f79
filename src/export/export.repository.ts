import { sql } from 'kysely';
import type { Connection } from '../db/connect.js';

/**
 * Connection settings for `roster export`: on SQLite, no memory-mapped reads.
 * A one-pass scan gains little from mapping the file, and every page it maps
 * would count in the process's memory (a million users is a gigabyte file).
 */
export async function tuneForExport(conn: Connection): Promise<void> {
  if (conn.dialect === 'sqlite') await sql`pragma mmap_size = 0`.execute(conn.db);
}
