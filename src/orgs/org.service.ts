import { generateApiKey, PREFIX_LENGTH, type Scope } from '../auth/api-key.js';
import { insertKey, revokeKeysByPrefix } from '../auth/key.repository.js';
import { appendAudit, CLI_ACTOR, diffFields } from '../audit/audit.repository.js';
import type { Db } from '../db/tables.js';
import { formatTimestamp, nowTimestamp, parseTimestamp } from '../shared/timestamps.js';
import { bumpWriteVersion, findOrganizationByName, insertOrganization } from './org.repository.js';

/** A mistake in a CLI or service call about organizations and keys: its message is shown as is. */
export class OrgError extends Error {}

const ORG_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Creates an organization with a unique name; returns its id. */
export async function createOrganization(db: Db, name: string): Promise<number> {
  if (!ORG_NAME.test(name)) throw new OrgError(`organization name "${name}" must be 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit`);
  if (await findOrganizationByName(db, name)) throw new OrgError(`organization "${name}" already exists`);
  return insertOrganization(db, name, nowTimestamp());
}

/** The id of the organization with this name; OrgError when there is none. */
export async function requireOrganization(db: Db, name: string): Promise<number> {
  const org = await findOrganizationByName(db, name);
  if (!org) throw new OrgError(`no organization named "${name}"`);
  return org.id;
}

/** Creates an API key for an organization (audited as key.create); returns the key, to be shown once. */
export async function createApiKey(db: Db, orgId: number, scope: Scope, expiresAt: string | null = null): Promise<{ key: string; prefix: string; id: number }> {
  const { key, prefix, hash } = generateApiKey();
  return db.transaction().execute(async (trx) => {
    await bumpWriteVersion(trx, orgId);
    const id = await insertKey(trx, { orgId, prefix, hash, scope, createdAt: nowTimestamp(), expiresAt });
    await appendAudit(trx, {
      orgId,
      actor: CLI_ACTOR,
      action: 'key.create',
      targetType: 'api_key',
      targetId: String(id),
      // The key itself is never recorded: only its public prefix.
      changes: diffFields(null, { prefix, scope, expires_at: expiresAt === null ? null : formatTimestamp(expiresAt) }),
    });
    return { key, prefix, id };
  });
}

/** Revokes the key with this prefix (the first 12 characters of a key, or the whole key), audited as key.revoke. */
export async function revokeApiKey(db: Db, keyOrPrefix: string): Promise<void> {
  const prefix = keyOrPrefix.slice(0, PREFIX_LENGTH);
  if (prefix.length < PREFIX_LENGTH) throw new OrgError(`a key prefix has ${PREFIX_LENGTH} characters (e.g. rst_AbCdEfGh); got "${keyOrPrefix}"`);
  await db.transaction().execute(async (trx) => {
    const now = nowTimestamp();
    const revoked = await revokeKeysByPrefix(trx, prefix, now);
    if (revoked.length === 0) throw new OrgError(`no active key with prefix "${prefix}"`);
    for (const key of revoked) {
      await bumpWriteVersion(trx, key.org_id);
      await appendAudit(trx, {
        orgId: key.org_id,
        actor: CLI_ACTOR,
        action: 'key.revoke',
        targetType: 'api_key',
        targetId: String(key.id),
        changes: { revoked_at: { before: null, after: formatTimestamp(now) } },
      });
    }
  });
}

const DURATION = /^([0-9]{1,6})([mhdw])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** Parses `--expires`: a duration from now (`90m`, `12h`, `30d`, `2w`) or a timestamp; returns the stored form, in the future. */
export function parseKeyExpiry(input: string, now: Date = new Date()): string {
  const duration = DURATION.exec(input.trim());
  let stored: string | null;
  if (duration) {
    const at = new Date(now.getTime() + Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS]);
    stored = at.getUTCFullYear() <= 9999 ? parseTimestamp(at.toISOString()) : null;
  } else {
    stored = parseTimestamp(input.trim());
  }
  if (stored === null) {
    throw new OrgError(`--expires "${input}" must be a duration such as 90m, 12h, 30d or 2w, or a timestamp such as 2027-01-31T00:00:00Z`);
  }
  if (stored <= parseTimestamp(now.toISOString())!) throw new OrgError(`--expires "${input}" is not in the future`);
  return stored;
}
