import type { Transaction } from 'kysely';
import { groupCommit } from '../db/group-commit.js';
import type { Database, Db } from '../db/tables.js';
import { nowTimestamp } from '../shared/timestamps.js';
import {
  bumpWriteVersion,
  bumpWriteVersionStatement,
  countOrganizations,
  findOrganizationById,
  findOrganizationByName,
  findWriteVersion,
  insertOrganization,
} from './org.repository.js';

/** A mistake in a command-line call about organizations and keys: its message is shown as is. */
export class OrgError extends Error {}

const ORG_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Organizations, and the write transaction every write to an organization's directory runs in. */
export function createOrgService(db: Db) {
  const commits = groupCommit(db);
  return {
    /** Creates an organization with a unique name; returns its id. */
    async createOrganization(name: string): Promise<number> {
      if (!ORG_NAME.test(name))
        throw new OrgError(
          `organization name "${name}" must be 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit`,
        );
      if (await findOrganizationByName(db, name)) throw new OrgError(`organization "${name}" already exists`);
      return insertOrganization(db, name, nowTimestamp());
    },

    /** The id of the organization with this name; OrgError when there is none. */
    async requireOrganization(name: string): Promise<number> {
      const org = await findOrganizationByName(db, name);
      if (!org) throw new OrgError(`no organization named "${name}"`);
      return org.id;
    },

    countOrganizations: () => countOrganizations(db),

    /** The name of the organization with this id (undefined when there is none). */
    findOrganizationName: async (orgId: number): Promise<string | undefined> =>
      (await findOrganizationById(db, orgId))?.name,

    /** The organization's write_version: the validator of per-organization caches and list ETags. */
    findWriteVersion: (orgId: number) => findWriteVersion(db, orgId),

    /**
     * Runs one write as one transaction, or as one savepoint of a transaction shared with the organization's
     * other waiting writes (db/group-commit.ts: one commit, one fsync, for all of them; each settles only
     * after that commit). It first bumps the organization's write_version: on PostgreSQL that row lock queues
     * the organization's writes one after another (so checks made inside see every earlier commit and no two
     * writes deadlock); on SQLite the connection already serializes transactions. A serialization failure or
     * deadlock is retried; any other error rolls the write back, alone. A `combinable` write's main statement
     * may go with the others' as one (GroupCommit.run).
     */
    inWriteTransaction<T>(
      orgId: number,
      work: (trx: Transaction<Database>) => Promise<T>,
      combinable = false,
    ): Promise<T> {
      return commits.run(orgId, work, bumpWriteVersionStatement(orgId), combinable);
    },

    /** Bumps the write_version inside a transaction that learns its organization only as it runs (revoking a key by prefix). */
    bumpWriteVersion: (trx: Transaction<Database>, orgId: number) => bumpWriteVersion(trx, orgId),
  };
}
