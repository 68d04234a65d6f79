import type { Config } from '../config.js';
import { connect } from '../db/connect.js';
import { migrateToLatest } from '../db/migrator.js';
import { createOrgService } from '../orgs/org.service.js';

/** `roster orgs create <name>`: prints the new organization's id. */
export async function createOrgCommand(config: Config, name: string): Promise<void> {
  const conn = connect(config.database);
  try {
    await migrateToLatest(conn);
    process.stdout.write(`${await createOrgService(conn.db).createOrganization(name)}\n`);
  } finally {
    await conn.close();
  }
}
