import type { Transaction } from 'kysely';
import { inIdList } from '../db/id-list.js';
import type { BillingGroupRow, Database, Db, NewBillingGroupRow } from '../db/tables.js';
import { isStoredId } from '../shared/ids.js';

/** Inserts a billing group; returns its id. */
export async function insertBillingGroup(trx: Transaction<Database>, row: NewBillingGroupRow): Promise<number> {
  const { id } = await trx.insertInto('billing_groups').values(row).returning('id').executeTakeFirstOrThrow();
  return id;
}

/** Every billing group of the organization, in id order. */
export async function findBillingGroups(db: Db, orgId: number): Promise<BillingGroupRow[]> {
  return db.selectFrom('billing_groups').selectAll().where('org_id', '=', orgId).orderBy('id').execute();
}

/** The organization's billing group with this id, if any. */
export async function findBillingGroupById(db: Db, orgId: number, id: number): Promise<BillingGroupRow | undefined> {
  if (!isStoredId(id)) return undefined;
  return db
    .selectFrom('billing_groups')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Those of `ids` that are billing groups of the organization (another organization's ids are not found). */
export async function findBillingGroupsByIds(
  db: Db,
  orgId: number,
  ids: readonly number[],
): Promise<BillingGroupRow[]> {
  const valid = ids.filter(isStoredId);
  if (valid.length === 0) return [];
  return db
    .selectFrom('billing_groups')
    .selectAll()
    .where('org_id', '=', orgId)
    .where(inIdList(db, 'id', valid))
    .execute();
}

/** Whether the billing group has child billing groups. */
export async function hasChildBillingGroups(db: Db, orgId: number, id: number): Promise<boolean> {
  const row = await db
    .selectFrom('billing_groups')
    .select('id')
    .where('org_id', '=', orgId)
    .where('parent_id', '=', id)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Whether any group hangs on the billing group (groups hang only on leaves, so it may not get children). */
export async function hasGroupsOn(db: Db, orgId: number, billingGroupId: number): Promise<boolean> {
  const row = await db
    .selectFrom('groups')
    .select('id')
    .where('org_id', '=', orgId)
    .where('billing_group_id', '=', billingGroupId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Sets a billing group's name and status and bumps its version; returns the new row. */
export async function updateBillingGroup(
  trx: Transaction<Database>,
  orgId: number,
  id: number,
  change: { name: string; status: 'active' | 'inactive' },
): Promise<BillingGroupRow> {
  return trx
    .updateTable('billing_groups')
    .set((eb) => ({ name: change.name, status: change.status, version: eb('version', '+', 1) }))
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}
