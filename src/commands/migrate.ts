import type { Config } from '../config.js';
import { migrateDown, migrateToLatest } from '../db/migrator.js';
import { withDatabase } from './with-database.js';

/** `roster migrate [--down]`: applies pending migrations (or reverts the last one). */
export async function migrateCommand(config: Config, options: { down?: boolean }): Promise<void> {
  const names = await withDatabase(config, (conn) => (options.down ? migrateDown(conn) : migrateToLatest(conn)), {
    migrate: false,
  });
  process.stdout.write(
    names.length === 0 ? 'nothing to migrate\n' : `${options.down ? 'reverted' : 'applied'}: ${names.join(', ')}\n`,
  );
}
