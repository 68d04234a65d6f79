import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { appendAudit, diffFields } from '../audit/audit.repository.js';
import { findBillingGroupsByIds } from '../billing-groups/billing-group.repository.js';
import { isUniqueViolation } from '../db/db-errors.js';
import type { Database, Db, UserRow } from '../db/schema.js';
import { AppError, notFound, type ProblemItem } from '../errors.js';
import { findGroupsByIds } from '../groups/group.repository.js';
import { checkIfMatch, parseIfMatch } from '../shared/preconditions.js';
import { fold } from '../shared/text.js';
import { nowTimestamp, parseTimestamp } from '../shared/timestamps.js';
import { inWriteTransaction, type WriteContext } from '../shared/write-context.js';
import { findUserByUserId, findUserByUsernameFold, insertUser, userEtag, userRowToUser, userToRow, type StoredUser } from './user.repository.js';
import type { Role } from './user.schemas.js';
import { findUserByRef } from './user.service.js';
import type { UserCreate, UserDeactivation, UserFields, UserPatch, UserReplace } from './user.write.schemas.js';
import { insertDeactivation, updateUserRow } from './user.write.repository.js';

type Trx = Transaction<Database>;
type Header = string | string[] | undefined;

const CONTROL = /\p{Cc}/u;
const list = (stored: string): string[] => (stored === '' ? [] : stored.split(','));

/** The user a path segment or body field names, or undefined (a value with control characters names no one). */
async function findRef(trx: Trx, orgId: number, ref: string): Promise<UserRow | undefined> {
  return CONTROL.test(ref) ? undefined : findUserByRef(trx, orgId, ref);
}

async function requireUser(trx: Trx, orgId: number, ref: string): Promise<UserRow> {
  const row = await findRef(trx, orgId, ref);
  if (!row) throw notFound(`User "${ref}"`);
  return row;
}

/** A row as a user object with timestamps in stored form (the input of userToRow). */
function storedFromRow(row: UserRow): StoredUser {
  return {
    ...userRowToUser(row),
    last_login_date: row.last_login_date,
    last_updated_date: row.last_updated_date,
    deactivation_date: row.deactivation_date,
  };
}

/** The writable fields of a row (timestamps in stored form): what a merge patch applies to. */
function fieldsOf(row: UserRow): UserFields {
  const { username, name, email, phone, call_detail_level, restrict_recording_download, roles, access } = userRowToUser(row);
  return { username, name, email, phone, call_detail_level, restrict_recording_download, last_login_date: row.last_login_date, roles, access };
}

/** A POST or PUT body with its defaults: absent optional fields are "", false, null and empty lists. */
function fieldsFrom(body: UserCreate | UserReplace): UserFields {
  return {
    username: body.username,
    name: body.name,
    email: body.email,
    phone: body.phone ?? '',
    call_detail_level: body.call_detail_level,
    restrict_recording_download: body.restrict_recording_download ?? false,
    last_login_date: body.last_login_date ?? null,
    roles: body.roles as Role[],
    access: { billing_groups: body.access?.billing_groups ?? [], group_owners: body.access?.group_owners ?? [] },
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7396: members of the patch replace the target's, `null` removes one, objects merge recursively, arrays replace. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

function invalid(errors: ProblemItem[], code: 'VALIDATION_FAILED' | 'UNKNOWN_REFERENCE' = 'VALIDATION_FAILED'): AppError {
  return new AppError(code, errors.map((e) => `Body field "${e.pointer}" ${e.message}.`).join(' '), { errors });
}

/** PUT and PATCH may echo user_id and status from a GET, but not change them. */
function checkEchoes(body: { user_id?: string; status?: string }, row: UserRow): void {
  const errors: ProblemItem[] = [];
  if (body.user_id !== undefined && body.user_id.toLowerCase() !== row.user_id) {
    errors.push({ pointer: '/user_id', message: `is read-only: send ${row.user_id} or leave it out` });
  }
  if (body.status !== undefined && body.status !== row.status) {
    errors.push({ pointer: '/status', message: `is read-only here (it is ${row.status}): change it with PUT users/{user}/activate or DELETE users/{user}/deactivate` });
  }
  if (errors.length > 0) throw invalid(errors);
}

/**
 * Checks the rules a schema cannot: the timestamp, email kept empty, ids that
 * exist in this organization, no newly given inactive billing group or group,
 * a free username. Returns last_login_date in stored form.
 */
async function checkFields(trx: Trx, orgId: number, fields: UserFields, before: UserRow | undefined): Promise<string | null> {
  const errors: ProblemItem[] = [];
  let lastLogin: string | null = null;
  if (fields.last_login_date !== null) {
    lastLogin = parseTimestamp(fields.last_login_date);
    if (lastLogin === null) errors.push({ pointer: '/last_login_date', message: 'must be a timestamp such as 2016-03-03T16:13:59.1917141 (UTC) or 2016-03-03T16:13:59Z (RFC 3339), or null' });
  }
  if (fields.email === '' && (before === undefined || before.email !== '')) {
    errors.push({ pointer: '/email', message: 'must be a valid email address such as name@example.com ("" is kept only for a user that never had one)' });
  }
  if (errors.length > 0) throw invalid(errors);

  const unknown: ProblemItem[] = [];
  const inactive: ProblemItem[] = [];
  const lists = [
    { key: 'billing_groups', what: 'billing group', ids: fields.access.billing_groups, had: list(before?.billing_groups ?? ''), find: findBillingGroupsByIds },
    { key: 'group_owners', what: 'group', ids: fields.access.group_owners, had: list(before?.group_owners ?? ''), find: findGroupsByIds },
  ] as const;
  for (const { key, what, ids, had, find } of lists) {
    const found = new Map((await find(trx, orgId, ids.map(Number))).map((r) => [String(r.id), r]));
    ids.forEach((id, i) => {
      const row = found.get(id);
      if (!row) unknown.push({ pointer: `/access/${key}/${i}`, message: `names ${what} ${id}, which does not exist in this organization` });
      else if (row.status === 'inactive' && !had.includes(id)) {
        inactive.push({ pointer: `/access/${key}/${i}`, message: `names ${what} ${id}, which is inactive: it cannot be newly given (activate it first)` });
      }
    });
  }
  if (unknown.length > 0) throw invalid(unknown, 'UNKNOWN_REFERENCE');
  if (inactive.length > 0) throw invalid(inactive);

  const holder = await findUserByUsernameFold(trx, orgId, fold(fields.username));
  if (holder && holder.id !== before?.id) throw usernameTaken(fields.username);
  return lastLogin;
}

const usernameTaken = (username: string) =>
  new AppError('CONFLICT', `The username "${username}" is already taken in this organization (usernames are unique regardless of case); choose another.`, {
    errors: [{ pointer: '/username', message: 'is already taken' }],
  });

/** Resolves a reassignment target of a deactivation: it must exist here, not be deactivated, and not be the user. */
async function resolveTarget(trx: Trx, orgId: number, user: UserRow, ref: string | null | undefined, pointer: string, errors: ProblemItem[]): Promise<UserRow | null> {
  if (ref === undefined || ref === null) return null;
  const target = await findRef(trx, orgId, ref);
  if (!target) errors.push({ pointer, message: `names no user of this organization ("${ref}")` });
  else if (target.id === user.id) errors.push({ pointer, message: 'must name another user than the one being deactivated' });
  else if (target.status === 'deactivated') errors.push({ pointer, message: `names "${target.username}", who is deactivated: choose a user who is not (or activate them first)` });
  return target ?? null;
}

/** The write side of the directory's users: every call is one transaction that also appends its audit entry. */
export function createUserWriter(db: Db) {
  async function write(ctx: WriteContext, work: (trx: Trx) => Promise<UserRow>): Promise<UserRow> {
    try {
      return await inWriteTransaction(db, ctx.orgId, work);
    } catch (error) {
      // Another process may have taken the name between our check and our insert.
      if (isUniqueViolation(error)) throw new AppError('CONFLICT', 'The username is already taken in this organization; choose another.', { errors: [{ pointer: '/username', message: 'is already taken' }] });
      throw error;
    }
  }

  async function save(trx: Trx, ctx: WriteContext, row: UserRow, user: StoredUser, action: string): Promise<UserRow> {
    const saved = await updateUserRow(trx, ctx.orgId, row.id, userToRow(ctx.orgId, user, row.version + 1));
    const changes = diffFields(userRowToUser(row) as Record<string, unknown>, userRowToUser(saved) as Record<string, unknown>);
    await appendAudit(trx, { orgId: ctx.orgId, actor: ctx.actor, action, targetType: 'user', targetId: row.user_id, changes });
    return saved;
  }

  /** Replaces the writable fields of a user (PUT, and PATCH after merging). */
  async function replaceFields(trx: Trx, ctx: WriteContext, row: UserRow, fields: UserFields, action: string): Promise<UserRow> {
    const lastLogin = await checkFields(trx, ctx.orgId, fields, row);
    const user: StoredUser = { ...storedFromRow(row), ...fields, last_login_date: lastLogin, last_updated_date: nowTimestamp() };
    return save(trx, ctx, row, user, action);
  }

  return {
    /** POST users: a new user, awaiting approval. */
    async createUser(ctx: WriteContext, body: UserCreate): Promise<UserRow> {
      return write(ctx, async (trx) => {
        const fields = fieldsFrom(body);
        const lastLogin = await checkFields(trx, ctx.orgId, fields, undefined);
        const user: StoredUser = { user_id: randomUUID(), ...fields, status: 'awaiting_approval', last_login_date: lastLogin, last_updated_date: nowTimestamp() };
        await insertUser(trx, userToRow(ctx.orgId, user, 1));
        const row = await findUserByUserId(trx, ctx.orgId, user.user_id);
        if (!row) throw new Error('the inserted user is missing');
        await appendAudit(trx, { orgId: ctx.orgId, actor: ctx.actor, action: 'user.create', targetType: 'user', targetId: row.user_id, changes: diffFields(null, userRowToUser(row) as Record<string, unknown>) });
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
        const user: StoredUser = { ...storedFromRow(row), status: 'activated', deactivation_date: null, last_updated_date: nowTimestamp() };
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
        if (errors.length > 0) throw invalid(errors, errors.some((e) => e.message.startsWith('names no user')) ? 'UNKNOWN_REFERENCE' : 'VALIDATION_FAILED');

        const now = nowTimestamp();
        const moved = groupsTo ? list(row.group_owners) : [];
        const before = storedFromRow(row);
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
          const target = storedFromRow(groupsTo);
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
