import type { Scope } from '../auth/api-key.js';
import type { Config } from '../config.js';
import { connect } from '../db/connect.js';
import { migrateToLatest } from '../db/migrator.js';
import { createApiKey, requireOrganization, revokeApiKey } from '../orgs/org.service.js';

/** `roster keys create --org <name> --scope <scope>`: prints the key alone on one line (shown once). */
export async function createKeyCommand(config: Config, orgName: string, scope: Scope): Promise<void> {
  const conn = connect(config.database);
  try {
    await migrateToLatest(conn);
    const { key } = await createApiKey(conn.db, await requireOrganization(conn.db, orgName), scope);
    process.stdout.write(`${key}\n`);
  } finally {
    await conn.close();
  }
}

/** `roster keys revoke <key-prefix>`: revokes at once, in every process sharing the database. */
export async function revokeKeyCommand(config: Config, prefix: string): Promise<void> {
  const conn = connect(config.database);
  try {
    await migrateToLatest(conn);
    await revokeApiKey(conn.db, prefix);
    process.stderr.write(`revoked ${prefix}\n`);
  } finally {
    await conn.close();
  }
}
