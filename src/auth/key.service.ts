import DataLoader from 'dataloader';
import { diffFields } from '../audit/audit.mapper.js';
import { createAuditService } from '../audit/audit.service.js';
import type { ReadNow } from '../db/connect.js';
import type { ApiKeyRow, Db } from '../db/tables.js';
import type { Scope } from '../http/caller.js';
import { createOrgService, OrgError } from '../orgs/org.service.js';
import { CLI_ACTOR } from '../shared/actor.js';
import { formatTimestamp, nowTimestamp } from '../shared/timestamps.js';
import {
  findActiveKeysByHashes,
  insertKey,
  listKeys,
  readActiveKeyNow,
  revokeKeysByPrefix,
  stillActive,
  touchKey,
  type ActiveKeyRow,
} from './key.repository.js';
import { generateApiKey, hashApiKey, PREFIX_LENGTH } from './key.rules.js';

// Keys looked up by one query at most (a query's parameters stay few).
const MAX_KEYS_PER_LOOKUP = 100;
// Keys whose last lookup is kept for a request that finds the database unchanged since (see findActiveKey).
const KEPT_LOOKUPS = 1000;

/**
 * API keys: created and revoked from the command line (audited), looked up on every API request
 * (synchronously through `readNow` when the connection has it: SQLite's, see db/connect.ts).
 */
export function createKeyService(db: Db, options: { readNow?: ReadNow; commitStamp?: () => string | undefined } = {}) {
  const { readNow, commitStamp } = options;
  // The last lookup of each key found active, with the commit stamp read before it (SQLite files only).
  const kept = new Map<string, { stamp: string; row: ActiveKeyRow }>();
  // The lookups asked for during one turn of the event loop share one query, sent after the turn: each
  // request's query still starts after it arrived, so it sees every write and revocation committed
  // before (docs/performance.md). Nothing of them is kept from one query to the next.
  const lookups = new DataLoader<{ hash: string; now: string }, ActiveKeyRow | undefined>(
    async (asked) => {
      // The latest time asked (times only grow): a key expiring meanwhile is refused, as if asked now.
      const now = asked.reduce((latest, a) => (a.now > latest ? a.now : latest), asked[0]!.now);
      const rows = await findActiveKeysByHashes(
        db,
        asked.map((a) => a.hash),
        now,
      );
      const byHash = new Map(rows.map((row) => [row.key_hash, row]));
      return asked.map((a) => byHash.get(a.hash));
    },
    { cache: false, maxBatchSize: MAX_KEYS_PER_LOOKUP, batchScheduleFn: (lookUp) => setImmediate(lookUp) },
  );
  const orgs = createOrgService(db);
  const audit = createAuditService(db);
  return {
    /** Creates a key for an organization (audited as key.create); returns the key, to be shown once. */
    async createApiKey(
      orgId: number,
      scope: Scope,
      expiresAt: string | null = null,
    ): Promise<{ key: string; prefix: string; id: number }> {
      const { key, prefix, hash } = generateApiKey();
      return orgs.inWriteTransaction(orgId, async (trx) => {
        const id = await insertKey(trx, { orgId, prefix, hash, scope, createdAt: nowTimestamp(), expiresAt });
        await audit.appendEntry(trx, {
          orgId,
          actor: CLI_ACTOR,
          action: 'key.create',
          targetType: 'api_key',
          targetId: String(id),
          // The key itself is never recorded: only its public prefix.
          changes: diffFields(null, {
            prefix,
            scope,
            expires_at: expiresAt === null ? null : formatTimestamp(expiresAt),
          }),
        });
        return { key, prefix, id };
      });
    },

    /** Revokes the key with this prefix (the first 12 characters of a key, or the whole key), audited as key.revoke. */
    async revokeApiKey(keyOrPrefix: string): Promise<void> {
      const prefix = keyOrPrefix.slice(0, PREFIX_LENGTH);
      if (prefix.length < PREFIX_LENGTH)
        throw new OrgError(`a key prefix has ${PREFIX_LENGTH} characters (e.g. rst_AbCdEfGh); got "${keyOrPrefix}"`);
      await db.transaction().execute(async (trx) => {
        const now = nowTimestamp();
        const revoked = await revokeKeysByPrefix(trx, prefix, now);
        if (revoked.length === 0) throw new OrgError(`no active key with prefix "${prefix}"`);
        for (const key of revoked) {
          await orgs.bumpWriteVersion(trx, key.org_id);
          await audit.appendEntry(trx, {
            orgId: key.org_id,
            actor: CLI_ACTOR,
            action: 'key.revoke',
            targetType: 'api_key',
            targetId: String(key.id),
            changes: { revoked_at: { before: null, after: formatTimestamp(now) } },
          });
        }
      });
    },

    /** The keys of an organization, newest first (hashes included: never show them). */
    listKeys: (orgId: number): Promise<ApiKeyRow[]> => listKeys(db, orgId),

    /**
     * The active (not revoked, not expired at `now`) key, with its organization's write_version; undefined
     * for any other. Answered without a promise when the database could answer at once.
     */
    findActiveKey(key: string, now: string): ActiveKeyRow | undefined | Promise<ActiveKeyRow | undefined> {
      const hash = hashApiKey(key);
      // No commit since the last lookup of this key (by any process): its row, and its organization's
      // write_version, stand. The stamp is read before the lookup, so a commit during it only costs a read.
      const stamp = commitStamp?.();
      const last = stamp === undefined ? undefined : kept.get(hash);
      if (last && last.stamp === stamp && stillActive(last.row, now)) return last.row;
      const read = readNow && readActiveKeyNow(db, readNow, hash, now);
      if (!read) return lookups.load({ hash, now });
      if (stamp === undefined || !read.row) {
        kept.delete(hash);
      } else {
        if (kept.size >= KEPT_LOOKUPS && !kept.has(hash)) kept.clear();
        kept.set(hash, { stamp, row: read.row });
      }
      return read.row;
    },

    /** Records when a key was last used. */
    recordKeyUse: (keyId: number, now: string): Promise<void> => touchKey(db, keyId, now),
  };
}

export type KeyService = ReturnType<typeof createKeyService>;
