/**
 * Decides what each row of an import file does, without the database: from
 * the checked row, the organization's user it names (if any) and the billing
 * group and group ids the organization has, whether it creates a user, updates
 * one, changes nothing or is rejected (with every reason), and the whole user
 * it leaves stored.
 */
import { randomUUID } from 'node:crypto';
import type { NewUserRow, UserRow } from '../db/tables.js';
import { nowTimestamp } from '../shared/timestamps.js';
import { userRowToStoredUser, userToRow, type StoredUser } from '../users/user.mapper.js';
import type { RowMatcher } from './import.matcher.js';
import type { CheckedRow } from './import.rows.js';
import type { FieldProblem, UserInput } from './import.rules.js';

export interface PlanOptions {
  readonly orgId: number;
  /** Ids the organization lacks may be created (unless another organization holds them). */
  readonly createMissing: boolean;
}

/** The billing group and group ids a row's access lists are checked against. */
export interface AccessIds {
  /** The organization's ids, with those that earlier batches created. */
  readonly billingGroups: ReadonlySet<number>;
  readonly groups: ReadonlySet<number>;
  /** Ids the organization lacks that another organization holds (only looked up with createMissing). */
  readonly foreignBillingGroups: ReadonlySet<number>;
  readonly foreignGroups: ReadonlySet<number>;
}

/** A new user: the row to insert. */
export interface CreatePlan {
  readonly decision: 'create';
  readonly row: CheckedRow;
  readonly next: NewUserRow;
}

/** An existing user (`target`) and the row that stores it after the import: changed, or the same in every field a reader sees. */
export interface KeepPlan {
  readonly decision: 'update' | 'unchanged';
  readonly row: CheckedRow;
  readonly target: UserRow;
  readonly next: NewUserRow;
}

interface RejectPlan {
  readonly decision: 'reject';
  readonly row: CheckedRow;
  readonly problems: readonly FieldProblem[];
}

export type RowPlan = CreatePlan | KeepPlan | RejectPlan;

const REQUIRED_FOR_NEW = ['username', 'name', 'call_detail_level', 'roles'] as const;
const toIds = (list: readonly string[] | undefined) => (list ?? []).map(Number);

/**
 * What one checked row does to `target`, the organization's user it names
 * (undefined: a new user). Field problems the row was read with reject it as they are.
 */
export function planRow(
  row: CheckedRow,
  target: UserRow | undefined,
  access: AccessIds,
  options: PlanOptions,
): RowPlan {
  if (row.problems.length > 0) return { decision: 'reject', row, problems: row.problems };
  const { input } = row;
  if (input.user_id === undefined && input.username === undefined) {
    return {
      decision: 'reject',
      row,
      problems: [{ field: '(row)', reason: 'gives neither user_id nor username, so it names no user' }],
    };
  }
  const base = target ? userRowToStoredUser(target) : null;
  const status = input.status ?? base?.status ?? 'awaiting_approval';
  const problems: FieldProblem[] = [];
  if (!base) {
    for (const field of REQUIRED_FOR_NEW) {
      if (input[field] === undefined)
        problems.push({
          field,
          reason: 'is required for a new user (no user of this organization has this user_id or username)',
        });
    }
  }
  if (input.deactivation_date !== undefined && status !== 'deactivated') {
    problems.push({
      field: 'deactivation_date',
      reason: `is only kept for a deactivated user, and this user's status is "${status}"; leave it empty`,
    });
  }
  checkAccess(
    toIds(input.billing_groups),
    'billing group',
    fieldOf(row, 'billing_groups'),
    access.billingGroups,
    access.foreignBillingGroups,
    options,
    problems,
  );
  checkAccess(
    toIds(input.group_owners),
    'group',
    fieldOf(row, 'group_owners'),
    access.groups,
    access.foreignGroups,
    options,
    problems,
  );
  if (problems.length > 0) return { decision: 'reject', row, problems };

  const merged = mergeUser(input, base, status);
  if (!target) return { decision: 'create', row, next: userToRow(options.orgId, merged, 1) };
  let next = userToRow(options.orgId, merged, target.version + 1);
  if (sameUser(target, next)) return { decision: 'unchanged', row, target, next };
  // A change the file does not date is dated now, as any write is.
  if (input.last_updated_date === undefined)
    next = userToRow(options.orgId, { ...merged, last_updated_date: nowTimestamp() }, target.version + 1);
  return { decision: 'update', row, target, next };
}

/**
 * Plans a batch in file order: each row's user comes from `matcher`, which
 * also rejects a row naming a user or a username the file named before.
 */
export function planBatch(
  rows: readonly CheckedRow[],
  matcher: RowMatcher,
  access: AccessIds,
  options: PlanOptions,
): RowPlan[] {
  const plans = rows.map((row): RowPlan => {
    if (row.problems.length > 0) return planRow(row, undefined, access, options);
    const match = matcher.match(row);
    const plan = planRow(row, match.target, access, options);
    if (match.problems.length === 0) {
      if (plan.decision !== 'reject') matcher.claim(plan.next, row.line);
      return plan;
    }
    return {
      decision: 'reject',
      row,
      problems: [...match.problems, ...(plan.decision === 'reject' ? plan.problems : [])],
    };
  });
  for (const plan of plans)
    if (plan.decision === 'update' || plan.decision === 'unchanged') matcher.remember(plan.target.id, plan.row.line);
  return plans;
}

/** CSV names the access lists billing_groups and group_owners; JSON access.billing_groups and access.group_owners. */
const fieldOf = (row: CheckedRow, list: 'billing_groups' | 'group_owners') =>
  row.source === 'json' ? `access.${list}` : list;

/** The whole user the row describes: its fields over the existing user's, or (base null: every required field given) a new user's defaults. */
function mergeUser(input: UserInput, base: StoredUser | null, status: StoredUser['status']): StoredUser {
  return {
    user_id: input.user_id ?? base?.user_id ?? randomUUID(),
    username: input.username ?? base!.username,
    name: input.name ?? base!.name,
    email: input.email ?? base?.email ?? '',
    phone: input.phone ?? base?.phone ?? '',
    call_detail_level: input.call_detail_level ?? base!.call_detail_level,
    restrict_recording_download: input.restrict_recording_download ?? base?.restrict_recording_download ?? false,
    status,
    last_login_date: input.last_login_date !== undefined ? input.last_login_date : (base?.last_login_date ?? null),
    last_updated_date: input.last_updated_date ?? base?.last_updated_date ?? nowTimestamp(),
    deactivation_date:
      status === 'deactivated'
        ? (input.deactivation_date ?? (base?.status === 'deactivated' ? base.deactivation_date : null) ?? null)
        : null,
    roles: input.roles ?? base!.roles,
    access: {
      billing_groups: input.billing_groups ?? base?.access.billing_groups ?? [],
      group_owners: input.group_owners ?? base?.access.group_owners ?? [],
    },
  };
}

/** An id the organization lacks rejects the row, unless createMissing may create it (it is no other organization's). */
function checkAccess(
  ids: readonly number[],
  what: string,
  field: string,
  known: ReadonlySet<number>,
  foreign: ReadonlySet<number>,
  options: PlanOptions,
  problems: FieldProblem[],
): void {
  for (const id of ids) {
    if (known.has(id)) continue;
    if (!options.createMissing)
      problems.push({
        field,
        reason: `${what} ${id} does not exist in this organization; create it first, or import with --create-missing`,
      });
    else if (foreign.has(id))
      problems.push({ field, reason: `${what} ${id} belongs to another organization, so it cannot be created here` });
  }
}

/** True when writing `next` would change nothing a reader sees. */
function sameUser(row: UserRow, next: NewUserRow): boolean {
  return (
    row.username === next.username &&
    row.name === next.name &&
    row.email === next.email &&
    row.phone === next.phone &&
    row.call_detail_level === next.call_detail_level &&
    row.restrict_recording_download === next.restrict_recording_download &&
    row.status === next.status &&
    row.last_login_date === next.last_login_date &&
    row.last_updated_date === next.last_updated_date &&
    (row.status !== 'deactivated' || row.deactivation_date === next.deactivation_date) &&
    row.roles === next.roles &&
    row.billing_groups === next.billing_groups &&
    row.group_owners === next.group_owners
  );
}
