import type { Config } from '../config.js';
import { connect, type Connection } from '../db/connect.js';
import { migrateToLatest } from '../db/migrator.js';

/**
 * What every command does around its work: opens the configured database,
 * applies pending migrations (unless `migrate: false`), and closes the
 * database whatever happens.
 */
export async function withDatabase<T>(
  config: Config,
  work: (conn: Connection) => Promise<T>,
  options: { migrate?: boolean } = {},
): Promise<T> {
  const conn = connect(config.database, { preparedWrites: config.pgPreparedWrites });
  try {
    if (options.migrate !== false) await migrateToLatest(conn);
    return await work(conn);
  } finally {
    await conn.close();
  }
}
