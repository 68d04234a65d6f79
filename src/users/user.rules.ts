import type { Transaction } from 'kysely';
import type { BillingGroupService } from '../billing-groups/billing-group.service.js';
import type { Database, Db, UserRow } from '../db/tables.js';
import { AppError, invalidFields, notFound, type ProblemItem } from '../errors.js';
import type { GroupService } from '../groups/group.service.js';
import { foldUsername, usernameSkeleton } from '../db/username-keys.js';
import { quoteValue } from '../shared/text.js';
import { readTimestamp } from '../shared/timestamps.js';
import { splitList } from './user.mapper.js';
import { findUserByRef, findUserByUsernameSkeleton } from './user.repository.js';
import type { UserFields } from './user.schemas.js';

// The rules of the user writes that a schema cannot express, shared by create, replace, patch and the lifecycle.

type Trx = Transaction<Database>;

const CONTROL = /\p{Cc}/u;

/** The user a path segment or body field names, or undefined (a value with control characters names no one). */
async function findRef(db: Db, orgId: number, ref: string): Promise<UserRow | undefined> {
  return CONTROL.test(ref) ? undefined : findUserByRef(db, orgId, ref);
}

/** The user a path segment names; 404 when this organization has none. */
export async function requireUser(db: Db, orgId: number, ref: string): Promise<UserRow> {
  const row = await findRef(db, orgId, ref);
  if (!row) throw notFound(`User "${ref}"`);
  return row;
}

/** PUT and PATCH may echo user_id and status from a GET, but not change them. */
export function checkEchoes(body: { user_id?: string; status?: string }, row: UserRow): void {
  const errors: ProblemItem[] = [];
  if (body.user_id !== undefined && body.user_id.toLowerCase() !== row.user_id) {
    errors.push({
      pointer: '/user_id',
      message: `is read-only: send ${row.user_id} or leave it out (got ${quoteValue(body.user_id)})`,
    });
  }
  if (body.status !== undefined && body.status !== row.status) {
    errors.push({
      pointer: '/status',
      message: `is read-only here (it is ${row.status}): change it with PUT users/{user}/activate or DELETE users/{user}/deactivate (got ${quoteValue(body.status)})`,
    });
  }
  if (errors.length > 0) throw invalidFields(errors);
}

/** The services a user's access lists are checked against. */
export interface AccessLookups {
  readonly billingGroups: BillingGroupService;
  readonly groups: GroupService;
}

/**
 * Checks the rules a schema cannot: the timestamp, email kept empty, ids that
 * exist in this organization, no newly given inactive billing group or group,
 * a free username. Returns last_login_date in stored form. SCIM passes
 * `emailOptional`: an identity provider may create a user without an email.
 */
export async function checkFields(
  trx: Trx,
  orgId: number,
  fields: UserFields,
  before: UserRow | undefined,
  lookups: AccessLookups,
  options: { readonly emailOptional?: boolean } = {},
): Promise<string | null> {
  const errors: ProblemItem[] = [];
  const lastLogin =
    fields.last_login_date === null
      ? null
      : readTimestamp(
          fields.last_login_date,
          { pointer: '/last_login_date' },
          '2016-03-03T16:13:59Z (RFC 3339), or null',
          errors,
        );
  if (fields.email === '' && !options.emailOptional && (before === undefined || before.email !== '')) {
    errors.push({
      pointer: '/email',
      message:
        'must be a valid email address such as name@example.com ("" is kept only for a user that never had one) (got "")',
    });
  }
  if (errors.length > 0) throw invalidFields(errors);

  const unknown: ProblemItem[] = [];
  const inactive: ProblemItem[] = [];
  const lists = [
    {
      key: 'billing_groups',
      what: 'billing group',
      ids: fields.access.billing_groups,
      had: splitList(before?.billing_groups ?? ''),
      find: lookups.billingGroups.findBillingGroupsByIds,
    },
    {
      key: 'group_owners',
      what: 'group',
      ids: fields.access.group_owners,
      had: splitList(before?.group_owners ?? ''),
      find: lookups.groups.findGroupsByIds,
    },
  ] as const;
  for (const { key, what, ids, had, find } of lists) {
    // Only ids the user does not hold yet are looked up: a held one exists in this organization (its access
    // row's foreign key keeps it from being deleted) and may stay even when inactive.
    const added = ids.filter((id) => !had.includes(id));
    if (added.length === 0) continue;
    const found = new Map((await find(trx, orgId, added.map(Number))).map((r) => [String(r.id), r]));
    ids.forEach((id, i) => {
      if (had.includes(id)) return;
      const row = found.get(id);
      if (!row)
        unknown.push({
          pointer: `/access/${key}/${i}`,
          message: `names ${what} ${id}, which does not exist in this organization`,
        });
      else if (row.status === 'inactive') {
        inactive.push({
          pointer: `/access/${key}/${i}`,
          message: `names ${what} ${id}, which is inactive: it cannot be newly given (activate it first)`,
        });
      }
    });
  }
  if (unknown.length > 0) throw invalidFields(unknown, 'UNKNOWN_REFERENCE');
  if (inactive.length > 0) throw invalidFields(inactive);

  // A kept username is the user's own (its look-alike key is unique in the organization): nothing to check.
  if (fields.username === before?.username) return lastLogin;
  const holder = await findUserByUsernameSkeleton(trx, orgId, usernameSkeleton(fields.username));
  if (holder && holder.id !== before?.id) throw usernameTaken(fields.username, holder);
  return lastLogin;
}

/** 409: another user of the organization holds the username, under case folding or as a look-alike. */
function usernameTaken(username: string, holder: UserRow): AppError {
  if (holder.username_fold === foldUsername(username)) {
    return new AppError(
      'CONFLICT',
      `The username "${username}" is already taken in this organization (usernames are unique regardless of case); choose another.`,
      { errors: [{ pointer: '/username', message: 'is already taken' }] },
    );
  }
  return new AppError(
    'CONFLICT',
    `The username "${username}" looks like "${holder.username}", which another user of this organization has (look-alike characters, such as Cyrillic "а" for Latin "a", are not told apart); choose another.`,
    { errors: [{ pointer: '/username', message: `looks like the existing username "${holder.username}"` }] },
  );
}

/** Resolves a reassignment target of a deactivation: it must exist here, not be deactivated, and not be the user. */
export async function resolveTarget(
  trx: Trx,
  orgId: number,
  user: UserRow,
  ref: string | null | undefined,
  pointer: string,
  errors: ProblemItem[],
): Promise<UserRow | null> {
  if (ref === undefined || ref === null) return null;
  const target = await findRef(trx, orgId, ref);
  if (!target) errors.push({ pointer, message: `names no user of this organization (got ${quoteValue(ref)})` });
  else if (target.id === user.id)
    errors.push({ pointer, message: 'must name another user than the one being deactivated' });
  else if (target.status === 'deactivated')
    errors.push({
      pointer,
      message: `names "${target.username}", who is deactivated: choose a user who is not (or activate them first)`,
    });
  return target ?? null;
}
