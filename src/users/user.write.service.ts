import { randomUUID } from 'node:crypto';
import { diffFields } from '../audit/audit.mapper.js';
import { createAuditService } from '../audit/audit.service.js';
import { createBillingGroupService } from '../billing-groups/billing-group.service.js';
import { isUniqueViolation } from '../db/db-errors.js';
import type { Db, UserRow } from '../db/tables.js';
import { AppError, invalidFields, type ProblemItem } from '../errors.js';
import { createGroupService } from '../groups/group.service.js';
import { checkIfMatch, parseIfMatch } from '../http/preconditions.js';
import { nowTimestamp } from '../shared/timestamps.js';
import { createOrgService } from '../orgs/org.service.js';
import type { WriteContext } from '../shared/actor.js';
import { findUserByUserId, insertUser, userEtag, userRowToStoredUser, userRowToUser, userToRow, type StoredUser } from './user.repository.js';
import type { UserCreate, UserDeactivation, UserFields, UserPatch, UserReplace } from './user.write.schemas.js';
import { insertDeactivation, updateUserRow } from './user.write.repository.js';
import { applyMergePatch, checkEchoes, checkFields, fieldsFrom, fieldsOf, list, requireUser, resolveTarget, type AccessLookups, type Trx } from './user.write.rules.js';

type Header = string | string[] | undefined;

/** The write side of the directory's users: every call is one transaction that also appends its audit entry. */
export function createUserWriter(db: Db) {
  const orgs = createOrgService(db);
  const audit = createAuditService(db);
  const lookups: AccessLookups = { billingGroups: createBillingGroupService(db), groups: createGroupService(db) };
  async function write(ctx: WriteContext, work: (trx: Trx) => Promise<UserRow>): Promise<UserRow> {
    try {
      return await orgs.inWriteTransaction(ctx.orgId, work);
    } catch (error) {
      // Another process may have taken the name between our check and our insert.
      if (isUniqueViolation(error)) throw new AppError('CONFLICT', 'The username is already taken in this organization; choose another.', { errors: [{ pointer: '/username', message: 'is already taken' }] });
      throw error;
    }
  }

  async function save(trx: Trx, ctx: WriteContext, row: UserRow, user: StoredUser, action: string): Promise<UserRow> {
    const saved = await updateUserRow(trx, ctx.orgId, row.id, userToRow(ctx.orgId, user, row.version + 1));
    const changes = diffFields(userRowToUser(row) as Record<string, unknown>, userRowToUser(saved) as Record<string, unknown>);
    await audit.appendEntry(trx, { orgId: ctx.orgId, actor: ctx.actor, action, targetType: 'user', targetId: row.user_id, changes });
    return saved;
  }

  /** Replaces the writable fields of a user (PUT, and PATCH after merging). */
  async function replaceFields(trx: Trx, ctx: WriteContext, row: UserRow, fields: UserFields, action: string): Promise<UserRow> {
    const lastLogin = await checkFields(trx, ctx.orgId, fields, row, lookups);
    const user: StoredUser = { ...userRowToStoredUser(row), ...fields, last_login_date: lastLogin, last_updated_date: nowTimestamp() };
    return save(trx, ctx, row, user, action);
  }

  return {
    /** POST users: a new user, awaiting approval. */
    async createUser(ctx: WriteContext, body: UserCreate): Promise<UserRow> {
      return write(ctx, async (trx) => {
        const fields = fieldsFrom(body);
        const lastLogin = await checkFields(trx, ctx.orgId, fields, undefined, lookups);
        const user: StoredUser = { user_id: randomUUID(), ...fields, status: 'awaiting_approval', last_login_date: lastLogin, last_updated_date: nowTimestamp() };
        await insertUser(trx, userToRow(ctx.orgId, user, 1));
        const row = await findUserByUserId(trx, ctx.orgId, user.user_id);
        if (!row) throw new Error('the inserted user is missing');
        await audit.appendEntry(trx, { orgId: ctx.orgId, actor: ctx.actor, action: 'user.create', targetType: 'user', targetId: row.user_id, changes: diffFields(null, userRowToUser(row) as Record<string, unknown>) });
        return row;
      });
    },

    /** PUT users/{user}: full replace (renaming allowed when the name is free). */
    async replaceUser(ctx: WriteContext, ref: string, body: UserReplace, ifMatch: Header): Promise<UserRow> {
      const precondition = parseIfMatch(ifMatch);
      return write(ctx, async (trx) => {
        const row = await requireUser(trx, ctx.orgId, ref);
        checkIfMatch(precondition, userEtag(row), `User "${row.username}"`);
        checkEchoes(body, row);
        return replaceFields(trx, ctx, row, fieldsFrom(body), 'user.replace');
      });
    },

    /** PATCH users/{user}: RFC 7396 merge patch over the writable fields, then the rules of PUT. */
    async patchUser(ctx: WriteContext, ref: string, patch: UserPatch, ifMatch: Header): Promise<UserRow> {
      const precondition = parseIfMatch(ifMatch);
      return write(ctx, async (trx) => {
        const row = await requireUser(trx, ctx.orgId, ref);
        checkIfMatch(precondition, userEtag(row), `User "${row.username}"`);
        const { user_id, status, last_updated_date: _u, deactivation_date: _d, ...writable } = patch;
        checkEchoes({ ...(user_id !== undefined ? { user_id } : {}), ...(status !== undefined ? { status } : {}) }, row);
        const merged = applyMergePatch(fieldsOf(row), writable) as Partial<UserFields> & Pick<UserFields, 'username' | 'name' | 'email' | 'call_detail_level' | 'roles'>;
        const fields = fieldsFrom(merged as UserReplace);
        return replaceFields(trx, ctx, row, fields, 'user.patch');
      });
    },

    /** PUT users/{user}/activate. */
    async activateUser(ctx: WriteContext, ref: string, ifMatch: Header): Promise<UserRow> {
      const precondition = parseIfMatch(ifMatch);
      return write(ctx, async (trx) => {
        const row = await requireUser(trx, ctx.orgId, ref);
        checkIfMatch(precondition, userEtag(row), `User "${row.username}"`);
        const user: StoredUser = { ...userRowToStoredUser(row), status: 'activated', deactivation_date: null, last_updated_date: nowTimestamp() };
        return save(trx, ctx, row, user, 'user.activate');
      });
    },

    /**
     * DELETE or PUT users/{user}/deactivate: the groups the user owns move to
     * `reassign_groups_to_user` in the same transaction; the report instructions are recorded.
     */
    async deactivateUser(ctx: WriteContext, ref: string, body: UserDeactivation, ifMatch: Header): Promise<UserRow> {
      const precondition = parseIfMatch(ifMatch);
      return write(ctx, async (trx) => {
        const row = await requireUser(trx, ctx.orgId, ref);
        checkIfMatch(precondition, userEtag(row), `User "${row.username}"`);
        const errors: ProblemItem[] = [];
        const groupsTo = await resolveTarget(trx, ctx.orgId, row, body.reassign_groups_to_user, '/reassign_groups_to_user', errors);
        const reportsTo = await resolveTarget(trx, ctx.orgId, row, body.reassign_reports_to_user, '/reassign_reports_to_user', errors);
        if (errors.length > 0) throw invalidFields(errors, errors.some((e) => e.message.startsWith('names no user')) ? 'UNKNOWN_REFERENCE' : 'VALIDATION_FAILED');

        const now = nowTimestamp();
        const moved = groupsTo ? list(row.group_owners) : [];
        const before = userRowToStoredUser(row);
        const user: StoredUser = {
          ...before,
          status: 'deactivated',
          // A repeated deactivation keeps the date the user was first deactivated.
          deactivation_date: row.status === 'deactivated' ? row.deactivation_date : now,
          last_updated_date: now,
          access: { billing_groups: before.access.billing_groups, group_owners: groupsTo ? [] : before.access.group_owners },
        };
        const saved = await save(trx, ctx, row, user, 'user.deactivate');
        if (groupsTo && moved.length > 0) {
          const owned = list(groupsTo.group_owners);
          const target = userRowToStoredUser(groupsTo);
          const next: StoredUser = { ...target, last_updated_date: nowTimestamp(), access: { ...target.access, group_owners: [...owned, ...moved.filter((g) => !owned.includes(g))] } };
          await save(trx, ctx, groupsTo, next, 'user.reassign');
        }
        await insertDeactivation(trx, {
          orgId: ctx.orgId,
          userId: row.user_id,
          deactivatedAt: now,
          reassignGroupsTo: groupsTo?.user_id ?? null,
          groupsMoved: moved,
          reassignReportsTo: reportsTo?.user_id ?? null,
          deleteScheduledReports: body.delete_scheduled_reports ?? false,
          actor: ctx.actor.label,
          requestId: ctx.actor.requestId ?? null,
        });
        return saved;
      });
    },
  };
}

export type UserWriter = ReturnType<typeof createUserWriter>;
