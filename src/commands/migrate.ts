import type { Config } from '../config.js';
import { connect } from '../db/connect.js';
import { migrateDown, migrateToLatest } from '../db/migrator.js';

/** `roster migrate [--down]`: applies pending migrations (or reverts the last one). */
export async function migrateCommand(config: Config, options: { down?: boolean }): Promise<void> {
  const conn = connect(config.database);
  try {
    const names = options.down ? await migrateDown(conn) : await migrateToLatest(conn);
    process.stdout.write(names.length === 0 ? 'nothing to migrate\n' : `${options.down ? 'reverted' : 'applied'}: ${names.join(', ')}\n`);
  } finally {
    await conn.close();
  }
}
