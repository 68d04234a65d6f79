import { parseKeyExpiry } from '../auth/key.rules.js';
import { createKeyService } from '../auth/key.service.js';
import type { Config } from '../config.js';
import type { Scope } from '../http/caller.js';
import { createOrgService } from '../orgs/org.service.js';
import { formatTimestamp } from '../shared/timestamps.js';
import { withDatabase } from './with-database.js';

/** `roster keys create --org <name> --scope <scope> [--expires <duration|timestamp>]`: prints the key alone on one line (shown once). */
export async function createKeyCommand(config: Config, orgName: string, scope: Scope, expires?: string): Promise<void> {
  const expiresAt = expires === undefined ? null : parseKeyExpiry(expires);
  const { key } = await withDatabase(config, async (conn) =>
    createKeyService(conn.db).createApiKey(
      await createOrgService(conn.db).requireOrganization(orgName),
      scope,
      expiresAt,
    ),
  );
  process.stdout.write(`${key}\n`);
}

/** `roster keys revoke <key-prefix>`: revokes at once, in every process sharing the database. */
export async function revokeKeyCommand(config: Config, prefix: string): Promise<void> {
  await withDatabase(config, (conn) => createKeyService(conn.db).revokeApiKey(prefix));
  process.stderr.write(`revoked ${prefix}\n`);
}

/** `roster keys list --org <name>`: one line per key (id, prefix, scope, created, last used, expiry, revoked), never the key. */
export async function listKeysCommand(config: Config, orgName: string): Promise<void> {
  const rows = await withDatabase(config, async (conn) =>
    createKeyService(conn.db).listKeys(await createOrgService(conn.db).requireOrganization(orgName)),
  );
  const time = (t: string | null) => (t === null ? '-' : formatTimestamp(t));
  const table = [
    ['ID', 'PREFIX', 'SCOPE', 'CREATED', 'LAST_USED', 'EXPIRES', 'REVOKED'],
    ...rows.map((k) => [
      String(k.id),
      k.prefix,
      k.scope,
      time(k.created_at),
      time(k.last_used_at),
      time(k.expires_at),
      time(k.revoked_at),
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  for (const row of table)
    process.stdout.write(
      `${row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd()}\n`,
    );
}
