import { sql } from 'kysely';
import { SQLITE_BUSY_TIMEOUT_MS, type ReadNow } from '../db/connect.js';
import { compiledOnce, isSqlite } from '../db/dialect.js';
import type { ApiKeyRow, Db } from '../db/tables.js';
import type { Scope } from '../http/caller.js';

/** An active key's row, with its organization's write_version. */
export type ActiveKeyRow = ApiKeyRow & { write_version: number };

/** Whether a key row read earlier is still active at `now`: activeKeysQuery's condition on expiry, in JS. */
export const stillActive = (row: ApiKeyRow, now: string): boolean => row.expires_at === null || row.expires_at > now;

/** The query of the active keys with this hash, or among these hashes. */
function activeKeysQuery(db: Db, hashes: string | readonly string[], now: string) {
  return db
    .selectFrom('api_keys')
    .innerJoin('organizations', 'organizations.id', 'api_keys.org_id')
    .selectAll('api_keys')
    .select('organizations.write_version')
    .where('api_keys.key_hash', typeof hashes === 'string' ? '=' : 'in', hashes)
    .where('api_keys.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('api_keys.expires_at', 'is', null), eb('api_keys.expires_at', '>', now)]));
}

/**
 * The active (not revoked, not expired at `now`) keys among these hashes, each
 * with its organization's write_version read in the same round trip (the
 * validator of per-organization caches: see users/user.cache.ts).
 */
export async function findActiveKeysByHashes(db: Db, hashes: readonly string[], now: string): Promise<ActiveKeyRow[]> {
  return activeKeysQuery(db, hashes, now).execute();
}

// The lookup of one hash, compiled once per dialect: its parameters are the hash, then the time.
const activeKeyQuery = compiledOnce((db) => activeKeysQuery(db, '', ''));

/**
 * The active key with this hash (as findActiveKeysByHashes), read at once through `readNow` (SQLite's
 * connection.readNow): `{ row }`, or undefined when the connection says to wait. Compiled once: building and
 * compiling the query with Kysely on every request cost more than SQLite's run of it (docs/performance.md).
 */
export function readActiveKeyNow(
  db: Db,
  readNow: ReadNow,
  hash: string,
  now: string,
): { row: ActiveKeyRow | undefined } | undefined {
  const rows = readNow<ActiveKeyRow>(activeKeyQuery(db, [hash, now]));
  return rows === undefined ? undefined : { row: rows[0] };
}

/** Stores a new key's hash for an organization. */
export async function insertKey(
  db: Db,
  key: { orgId: number; prefix: string; hash: string; scope: Scope; createdAt: string; expiresAt: string | null },
): Promise<number> {
  const row = await db
    .insertInto('api_keys')
    .values({
      org_id: key.orgId,
      prefix: key.prefix,
      key_hash: key.hash,
      scope: key.scope,
      created_at: key.createdAt,
      expires_at: key.expiresAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Marks the active key with this prefix revoked; returns the keys revoked (none or one: prefixes are unique). */
export async function revokeKeysByPrefix(
  db: Db,
  prefix: string,
  now: string,
): Promise<{ id: number; org_id: number }[]> {
  return db
    .updateTable('api_keys')
    .set({ revoked_at: now })
    .where('prefix', '=', prefix)
    .where('revoked_at', 'is', null)
    .returning(['id', 'org_id'])
    .execute();
}

/** The keys of an organization, newest first. */
export async function listKeys(db: Db, orgId: number): Promise<ApiKeyRow[]> {
  return db.selectFrom('api_keys').selectAll().where('org_id', '=', orgId).orderBy('id', 'desc').execute();
}

/**
 * Records when a key was last used, best effort. better-sqlite3 waits for a busy database on the event
 * loop's own thread, so on SQLite the touch tries once without waiting: while another connection holds the
 * write lock (a long import), a read must neither stall every request for the busy timeout nor fail.
 */
export async function touchKey(db: Db, keyId: number, now: string): Promise<void> {
  const touch = (conn: Db) => conn.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', keyId).execute();
  if (!isSqlite(db)) {
    await touch(db);
    return;
  }
  await db.connection().execute(async (conn) => {
    await sql`pragma busy_timeout = 0`.execute(conn);
    try {
      await touch(conn);
    } finally {
      await sql.raw(`pragma busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`).execute(conn);
    }
  });
}

/** One key of an organization, by id (undefined when the organization has no such key). */
export async function findKeyById(db: Db, orgId: number, keyId: number): Promise<ApiKeyRow | undefined> {
  return db.selectFrom('api_keys').selectAll().where('org_id', '=', orgId).where('id', '=', keyId).executeTakeFirst();
}
