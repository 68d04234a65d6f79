import type { Config } from '../config.js';
import { createOrgService } from '../orgs/org.service.js';
import { withDatabase } from './with-database.js';

/** `roster orgs create <name>`: prints the new organization's id. */
export async function createOrgCommand(config: Config, name: string): Promise<void> {
  const id = await withDatabase(config, (conn) => createOrgService(conn.db).createOrganization(name));
  process.stdout.write(`${id}\n`);
}
