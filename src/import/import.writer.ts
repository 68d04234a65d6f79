/**
 * Writes one planned batch of an import in the caller's transaction: the
 * billing groups and groups --create-missing makes, the new users and their
 * access rows, the changed users, and the audit entries.
 */
import type { Transaction } from 'kysely';
import { diffFields } from '../audit/audit.mapper.js';
import { createAuditService } from '../audit/audit.service.js';
import { createBillingGroupService } from '../billing-groups/billing-group.service.js';
import type { Dialect } from '../db/connect.js';
import { syncIdSequences } from '../db/dialect.js';
import type { Database, UserRow } from '../db/tables.js';
import { createGroupService } from '../groups/group.service.js';
import { CLI_ACTOR } from '../shared/actor.js';
import { splitIds, userRowToUser } from '../users/user.mapper.js';
import type { CreatePlan, KeepPlan } from './import.planner.js';
import {
  findRootBillingGroupByName,
  insertAccessRows,
  insertUsers,
  replaceAccessRows,
  replaceImportedUserRow,
} from './import.repository.js';

type Trx = Transaction<Database>;

/** Billing groups created by --create-missing are roots; the groups it creates hang on this root (created once per organization). */
const IMPORTED_GROUPS_HOLDER = 'Imported groups';

export interface WriteOptions {
  readonly orgId: number;
  readonly dialect: Dialect;
  /** Names the import in its audit entries (e.g. the file name). */
  readonly label: string;
}

/** What a batch created: each new user's internal id by user_id, and the billing group and group ids. */
export interface WrittenBatch {
  readonly userPks: ReadonlyMap<string, number>;
  readonly billingGroups: readonly number[];
  readonly groups: readonly number[];
}

/** Puts new users where they go; returns each one's internal id (or, staged, its line) by user_id. */
export type InsertUsers = (
  trx: Trx,
  options: WriteOptions,
  inserts: readonly CreatePlan[],
) => Promise<Map<string, number>>;

/**
 * Writes the batch's new users (`inserts`) and changed ones (`updates`); `known` are the access ids the
 * organization has. New users go into users with their access rows, unless `insert` puts them elsewhere.
 */
export async function writePlannedBatch(
  trx: Trx,
  options: WriteOptions,
  known: { readonly billingGroups: ReadonlySet<number>; readonly groups: ReadonlySet<number> },
  inserts: readonly CreatePlan[],
  updates: readonly KeepPlan[],
  insert: InsertUsers = insertIntoUsers,
): Promise<WrittenBatch> {
  const created = await createMissingAccess(trx, options, known, [...inserts, ...updates]);
  const userPks = inserts.length > 0 ? await insertNewUsers(trx, options, inserts, insert) : new Map<string, number>();
  for (const plan of updates) await replaceUser(trx, options, plan);
  return { userPks, ...created };
}

/** Inserts the new users; one audit entry names them all (an entry each would double a large import's work). */
async function insertNewUsers(
  trx: Trx,
  options: WriteOptions,
  inserts: readonly CreatePlan[],
  insert: InsertUsers,
): Promise<Map<string, number>> {
  const { orgId, label } = options;
  const pks = await insert(trx, options, inserts);
  await createAuditService(trx).appendEntry(trx, {
    orgId,
    actor: CLI_ACTOR,
    action: 'user.import',
    targetType: 'user',
    targetId: `${label}:${inserts[0]!.row.line}-${inserts[inserts.length - 1]!.row.line}`,
    changes: { created: { before: null, after: inserts.map((p) => p.next.user_id) } },
  });
  return pks;
}

/** Inserts new users into users, and their access rows. */
async function insertIntoUsers(
  trx: Trx,
  { orgId, dialect }: WriteOptions,
  inserts: readonly CreatePlan[],
): Promise<Map<string, number>> {
  const pks = await insertUsers(
    trx,
    dialect,
    inserts.map((p) => p.next),
  );
  const bg: { user_pk: number; id: number }[] = [];
  const go: { user_pk: number; id: number }[] = [];
  for (const p of inserts) {
    const pk = pks.get(p.next.user_id)!;
    for (const id of splitIds(p.next.billing_groups)) bg.push({ user_pk: pk, id });
    for (const id of splitIds(p.next.group_owners)) go.push({ user_pk: pk, id });
  }
  await insertAccessRows(trx, dialect, orgId, bg, go);
  return pks;
}

/** Rewrites a changed user (its access rows only when the lists changed) and audits each changed field. */
async function replaceUser(trx: Trx, { orgId, dialect }: WriteOptions, { target, next }: KeepPlan): Promise<void> {
  await replaceImportedUserRow(trx, orgId, target.id, next);
  if (target.billing_groups !== next.billing_groups || target.group_owners !== next.group_owners) {
    await replaceAccessRows(trx, dialect, orgId, target.id, splitIds(next.billing_groups), splitIds(next.group_owners));
  }
  const after = { ...next, id: target.id } as UserRow;
  await createAuditService(trx).appendEntry(trx, {
    orgId,
    actor: CLI_ACTOR,
    action: 'user.import',
    targetType: 'user',
    targetId: next.user_id,
    changes: diffFields(userRowToUser(target), userRowToUser(after)),
  });
}

/** Creates the billing groups and groups the plans name that the organization lacks (--create-missing), keeping their ids. */
async function createMissingAccess(
  trx: Trx,
  { orgId, dialect }: WriteOptions,
  known: { readonly billingGroups: ReadonlySet<number>; readonly groups: ReadonlySet<number> },
  plans: readonly (CreatePlan | KeepPlan)[],
): Promise<{ billingGroups: number[]; groups: number[] }> {
  const named = (list: string, have: ReadonlySet<number>) => splitIds(list).filter((id) => !have.has(id));
  const bg = [...new Set(plans.flatMap((p) => named(p.next.billing_groups, known.billingGroups)))];
  const g = [...new Set(plans.flatMap((p) => named(p.next.group_owners, known.groups)))];
  if (bg.length === 0 && g.length === 0) return { billingGroups: [], groups: [] };
  for (const id of bg)
    await createBillingGroupService(trx).insertBillingGroup(trx, {
      id,
      org_id: orgId,
      name: `Billing group ${id}`,
      status: 'active',
      parent_id: null,
      depth: 1,
    });
  await syncIdSequences(trx, dialect);
  if (g.length > 0) {
    const holder =
      (await findRootBillingGroupByName(trx, orgId, IMPORTED_GROUPS_HOLDER)) ??
      (await createBillingGroupService(trx).insertBillingGroup(trx, {
        org_id: orgId,
        name: IMPORTED_GROUPS_HOLDER,
        status: 'active',
        parent_id: null,
        depth: 1,
      }));
    for (const id of g)
      await createGroupService(trx).insertGroup(trx, {
        id,
        org_id: orgId,
        name: `Group ${id}`,
        billing_group_id: holder,
        status: 'active',
      });
    await syncIdSequences(trx, dialect);
  }
  return { billingGroups: bg, groups: g };
}
