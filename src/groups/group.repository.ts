import type { Transaction } from 'kysely';
import { inIdList } from '../db/id-list.js';
import type { Database, Db, GroupRow, NewGroupRow } from '../db/tables.js';
import { isStoredId } from '../shared/ids.js';

/** Inserts a group; returns its id. */
export async function insertGroup(trx: Transaction<Database>, row: NewGroupRow): Promise<number> {
  const { id } = await trx.insertInto('groups').values(row).returning('id').executeTakeFirstOrThrow();
  return id;
}

/** Every group of the organization (only those on one billing group when given), in id order. */
export async function findGroups(db: Db, orgId: number, billingGroupId?: number): Promise<GroupRow[]> {
  let query = db.selectFrom('groups').selectAll().where('org_id', '=', orgId);
  if (billingGroupId !== undefined) query = query.where('billing_group_id', '=', billingGroupId);
  return query.orderBy('id').execute();
}

/** The organization's group with this id, if any. */
export async function findGroupById(db: Db, orgId: number, id: number): Promise<GroupRow | undefined> {
  if (!isStoredId(id)) return undefined;
  return db.selectFrom('groups').selectAll().where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
}

/** Those of `ids` that are groups of the organization (another organization's ids are not found). */
export async function findGroupsByIds(db: Db, orgId: number, ids: readonly number[]): Promise<GroupRow[]> {
  const valid = ids.filter(isStoredId);
  if (valid.length === 0) return [];
  return db
    .selectFrom('groups')
    .selectAll()
    .where('org_id', '=', orgId)
    .where(inIdList(db, 'id', valid))
    .execute();
}

/** Sets a group's name, billing group and status and bumps its version; returns the new row. */
export async function updateGroup(
  trx: Transaction<Database>,
  orgId: number,
  id: number,
  change: { name: string; billing_group_id: number; status: 'active' | 'inactive' },
): Promise<GroupRow> {
  return trx
    .updateTable('groups')
    .set((eb) => ({
      name: change.name,
      billing_group_id: change.billing_group_id,
      status: change.status,
      version: eb('version', '+', 1),
    }))
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}
