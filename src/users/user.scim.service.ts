import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { diffFields } from '../audit/audit.mapper.js';
import { createAuditService } from '../audit/audit.service.js';
import { createBillingGroupService } from '../billing-groups/billing-group.service.js';
import { isUniqueViolation } from '../db/db-errors.js';
import { unboundedReads, type Reads } from '../db/reads.js';
import type { Database, Db, NewUserRow, UserRow } from '../db/tables.js';
import { AppError, notFound } from '../errors.js';
import { createGroupService } from '../groups/group.service.js';
import { checkIfMatch, parseIfMatch } from '../http/preconditions.js';
import { createOrgService } from '../orgs/org.service.js';
import type { WriteContext } from '../shared/actor.js';
import { createOrgQueryGate, type OrgQueryGate } from '../shared/org-query-gate.js';
import { nowTimestamp } from '../shared/timestamps.js';
import {
  userEtag,
  userRowToFields,
  userRowToStoredUser,
  userRowToUser,
  userToRow,
  type StoredUser,
} from './user.mapper.js';
import { findUserByUserId, insertDeactivation, insertUser, updateUser } from './user.repository.js';
import { checkFields, type AccessLookups } from './user.rules.js';
import type { Role, UserFields } from './user.schemas.js';
import {
  countDirectoryUsers,
  findDirectoryUsers,
  findRoleHolders,
  type DirectorySort,
  type UserCondition,
} from './user.scim.repository.js';

type Trx = Transaction<Database>;

export type { CompareOp, DirectoryField, DirectorySort, UserCondition } from './user.scim.repository.js';

/** What SCIM keeps beside the API's fields (migration 007). */
export interface UserProfile {
  readonly externalId: string | null;
  readonly givenName: string;
  readonly familyName: string;
}

/** A user as an identity provider sets it: the API's writable fields, the profile and, if sent, `active`. */
export interface ProvisionedUser {
  readonly fields: UserFields;
  readonly profile: UserProfile;
  readonly active?: boolean | undefined;
}

/** The writes of one SCIM request, all inside one write transaction. */
export interface UserWriter {
  /** The user with this id (not deleted through SCIM), checked against If-Match; 404 otherwise. */
  require(userId: string, ifMatch?: string | string[]): Promise<UserRow>;
  /** The user with this id, unless deleted through SCIM. */
  find(userId: string): Promise<UserRow | undefined>;
  /** The user_ids of everyone holding the role, read inside the transaction. */
  holders(role: Role): Promise<string[]>;
  /** Gives the user exactly these roles (a SCIM group membership change). */
  setRoles(row: UserRow, roles: readonly Role[]): Promise<UserRow>;
  create(user: ProvisionedUser): Promise<UserRow>;
  update(row: UserRow, user: ProvisionedUser, action: string): Promise<UserRow>;
  remove(row: UserRow): Promise<void>;
}

/** The username a user deleted through SCIM is renamed to: unique (its user_id), and saying what happened. */
const deletedUsername = (userId: string) => `deleted:${userId}`;

/** The audited view of a user: the API's object and the SCIM profile. */
const audited = (row: UserRow) => ({
  ...userRowToUser(row),
  external_id: row.external_id,
  given_name: row.given_name,
  family_name: row.family_name,
});

const profileColumns = (profile: UserProfile) => ({
  external_id: profile.externalId,
  given_name: profile.givenName,
  family_name: profile.familyName,
});

/**
 * The users service's rules, transaction, write_version bump and audit trail,
 * for writes that come through SCIM: the same checkFields, the same row
 * mapping and audit entries (marked `via: scim`). Reads never see users deleted through SCIM.
 */
interface UserScimServiceOptions {
  /** Where list queries run, within which time limit (default: on `db`, unbounded). */
  readonly reads?: Reads;
  /** The slots for an organization's list queries, shared with `GET users` (default: 2 at once, its own). */
  readonly orgQueries?: OrgQueryGate;
}

export function createUserScimService(db: Db, options: UserScimServiceOptions = {}) {
  const reads = options.reads ?? unboundedReads(db);
  const orgQueries = options.orgQueries ?? createOrgQueryGate(2);
  const orgs = createOrgService(db);
  const audit = createAuditService(db);
  const lookups: AccessLookups = { billingGroups: createBillingGroupService(db), groups: createGroupService(db) };

  function writer(trx: Trx, ctx: WriteContext): UserWriter {
    const actor = { ...ctx.actor, via: 'scim' as const };
    const entry = (row: UserRow | null, saved: UserRow, action: string) => ({
      orgId: ctx.orgId,
      actor,
      action,
      targetType: 'user' as const,
      targetId: saved.user_id,
      changes: diffFields(row ? audited(row) : null, audited(saved)),
    });
    const record = (row: UserRow | null, saved: UserRow, action: string) =>
      audit.appendEntry(trx, entry(row, saved, action));

    const store = async (row: UserRow, next: StoredUser, extra: Partial<NewUserRow>, action: string) => {
      const stored = { ...userToRow(ctx.orgId, next, row.version + 1), ...extra };
      const auditEntry = entry(row, { ...row, ...stored }, action);
      return updateUser(trx, ctx.orgId, row, stored, (update) => audit.appendEntryWith(trx, auditEntry, update));
    };

    const deactivationRecord = (row: UserRow, at: string) =>
      insertDeactivation(trx, {
        orgId: ctx.orgId,
        userId: row.user_id,
        deactivatedAt: at,
        reassignGroupsTo: null,
        groupsMoved: [],
        reassignReportsTo: null,
        deleteScheduledReports: false,
        actor: actor.label,
        requestId: actor.requestId ?? null,
      });

    const update = async (row: UserRow, { fields, profile, active }: ProvisionedUser, action: string) => {
      const lastLogin = await checkFields(trx, ctx.orgId, fields, row, lookups, { emailOptional: true });
      const now = nowTimestamp();
      const before = userRowToStoredUser(row);
      // active: true activates; false deactivates an active user (one awaiting approval stays so).
      const status =
        active === true ? 'activated' : active === false && row.status === 'activated' ? 'deactivated' : row.status;
      const next: StoredUser = {
        ...before,
        ...fields,
        status,
        last_login_date: lastLogin,
        last_updated_date: now,
        deactivation_date: status === 'deactivated' ? (row.deactivation_date ?? now) : null,
      };
      const saved = await store(row, next, profileColumns(profile), action);
      if (status === 'deactivated' && row.status !== 'deactivated') await deactivationRecord(row, now);
      return saved;
    };

    const find = async (userId: string) => {
      const row = await findUserByUserId(trx, ctx.orgId, userId.toLowerCase());
      return row && row.scim_deleted_at === null ? row : undefined;
    };

    return {
      update,
      find,
      holders: async (role) => (await findRoleHolders(trx, ctx.orgId, role)).map((r) => r.user_id),
      setRoles: (row, roles) =>
        update(
          row,
          {
            fields: { ...userRowToFields(row), roles: [...roles] },
            profile: { externalId: row.external_id, givenName: row.given_name, familyName: row.family_name },
          },
          'user.patch',
        ),

      async require(userId, ifMatch) {
        const precondition = parseIfMatch(ifMatch);
        const row = await find(userId);
        if (!row) throw notFound(`User "${userId}"`);
        checkIfMatch(precondition, userEtag(row), `User "${row.username}"`);
        return row;
      },

      async create({ fields, profile, active }) {
        const lastLogin = await checkFields(trx, ctx.orgId, fields, undefined, lookups, { emailOptional: true });
        const user: StoredUser = {
          user_id: randomUUID(),
          ...fields,
          status: active === false ? 'awaiting_approval' : 'activated',
          last_login_date: lastLogin,
          last_updated_date: nowTimestamp(),
        };
        await insertUser(trx, { ...userToRow(ctx.orgId, user, 1), ...profileColumns(profile) });
        const row = await findUserByUserId(trx, ctx.orgId, user.user_id);
        if (!row) throw new Error('the inserted user is missing');
        await record(null, row, 'user.create');
        return row;
      },

      async remove(row) {
        const now = nowTimestamp();
        const next: StoredUser = {
          ...userRowToStoredUser(row),
          username: deletedUsername(row.user_id),
          status: 'deactivated',
          last_updated_date: now,
          deactivation_date: row.status === 'deactivated' ? row.deactivation_date : now,
        };
        await store(row, next, { scim_deleted_at: now }, 'user.delete');
        if (row.status !== 'deactivated') await deactivationRecord(row, now);
      },
    };
  }

  return {
    /** The user with this id, unless deleted through SCIM. */
    async findUser(orgId: number, userId: string): Promise<UserRow | undefined> {
      const row = await findUserByUserId(db, orgId, userId.toLowerCase());
      return row && row.scim_deleted_at === null ? row : undefined;
    },

    /**
     * One page of matching users with the total: like `GET users`, within the read time limit (on SQLite on a
     * read worker, off the event loop) and one of the organization's query slots.
     */
    async listUsers(
      orgId: number,
      condition: UserCondition | undefined,
      sort: DirectorySort,
      offset: number,
      limit: number,
      signal?: AbortSignal,
    ): Promise<{ rows: UserRow[]; total: number }> {
      return orgQueries.run(orgId, () =>
        reads.read(async (rdb) => {
          const total = await countDirectoryUsers(rdb, orgId, condition);
          if (limit === 0 || offset >= total) return { rows: [], total };
          // As GET users plans a search: walking the sort order finds the page after about
          // (offset + limit) × orgTotal / total rows; sorting the matches costs about total.
          const orgTotal = condition === undefined ? total : await countDirectoryUsers(rdb, orgId, undefined);
          const few = condition !== undefined && total * total <= (offset + limit) * orgTotal;
          return { rows: await findDirectoryUsers(rdb, orgId, condition, sort, offset, limit, few), total };
        }, signal),
      );
    },

    /** Up to `limit` + 1 of the role's holders (one more than `limit` says there are more), as listUsers reads. */
    findRoleHolders: (orgId: number, role: Role, limit: number, signal?: AbortSignal) =>
      orgQueries.run(orgId, () => reads.read((rdb) => findRoleHolders(rdb, orgId, role, limit + 1), signal)),

    /** Runs one SCIM request's writes as one transaction; a username taken meanwhile is a 409. */
    async inTransaction<T>(ctx: WriteContext, work: (users: UserWriter) => Promise<T>): Promise<T> {
      try {
        return await orgs.inWriteTransaction(ctx.orgId, (trx) => work(writer(trx, ctx)));
      } catch (error) {
        if (isUniqueViolation(error))
          throw new AppError('CONFLICT', 'The userName is already taken in this organization; choose another.', {
            errors: [{ pointer: '/username', message: 'is already taken' }],
          });
        throw error;
      }
    },
  };
}

export type UserScimService = ReturnType<typeof createUserScimService>;
