import { generateApiKey, PREFIX_LENGTH, type Scope } from '../auth/api-key.js';
import { insertKey, revokeKeysByPrefix } from '../auth/key.repository.js';
import type { Db } from '../db/schema.js';
import { nowTimestamp } from '../shared/timestamps.js';
import { findOrganizationByName, insertOrganization } from './org.repository.js';

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

/** Creates an API key for an organization; returns the key, to be shown once. */
export async function createApiKey(db: Db, orgId: number, scope: Scope, expiresAt: string | null = null): Promise<{ key: string; prefix: string; id: number }> {
  const { key, prefix, hash } = generateApiKey();
  const id = await insertKey(db, { orgId, prefix, hash, scope, createdAt: nowTimestamp(), expiresAt });
  return { key, prefix, id };
}

/** Revokes the key with this prefix (the first 12 characters of a key, or the whole key). */
export async function revokeApiKey(db: Db, keyOrPrefix: string): Promise<void> {
  const prefix = keyOrPrefix.slice(0, PREFIX_LENGTH);
  if (prefix.length < PREFIX_LENGTH) throw new OrgError(`a key prefix has ${PREFIX_LENGTH} characters (e.g. rst_AbCdEfGh); got "${keyOrPrefix}"`);
  const revoked = await revokeKeysByPrefix(db, prefix, nowTimestamp());
  if (revoked === 0) throw new OrgError(`no active key with prefix "${prefix}"`);
}
