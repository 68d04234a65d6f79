import type { Db } from '../db/tables.js';
import { AppError } from '../errors.js';
import type { Caller } from '../http/caller.js';
import { createOrgService } from '../orgs/org.service.js';
import { formatTimestamp } from '../shared/timestamps.js';
import { findKeyById } from './key.repository.js';
import type { Me } from './me.schemas.js';

/** `GET me`: the calling key described to its holder (never the key or its hash). */
export function createMeService(db: Db) {
  const orgs = createOrgService(db);
  return {
    /** The organization name, prefix, scope and expiry of the key that made the request. */
    async describeCaller(caller: Caller): Promise<Me> {
      const [organization, key] = await Promise.all([
        orgs.findOrganizationName(caller.orgId),
        findKeyById(db, caller.orgId, caller.keyId),
      ]);
      // The hook found this key active a moment ago: only a concurrent revocation or deletion gets here.
      if (organization === undefined || key === undefined)
        throw new AppError('UNAUTHORIZED', 'The API key was revoked while the request ran. Use a valid key.');
      return {
        organization,
        key_prefix: key.prefix,
        scope: key.scope,
        expires_at: key.expires_at === null ? null : formatTimestamp(key.expires_at),
      };
    },
  };
}

export type MeService = ReturnType<typeof createMeService>;
