/** The SQL of bulk import: batch look-ups and multi-row writes, every query scoped to the organization. */
import type { Transaction } from 'kysely';
import type { Database, NewUserRow, UserRow } from '../db/schema.js';

type Trx = Transaction<Database>;

// Well under SQLite's 32766 and PostgreSQL's 65535 bound parameters per statement.
const USER_CHUNK = 500;
const PAIR_CHUNK = 2000;
const LOOKUP_CHUNK = 1000;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The organization's users with any of these user_ids or folded usernames. */
export async function findUsersByIdsOrFolds(trx: Trx, orgId: number, userIds: readonly string[], folds: readonly string[]): Promise<UserRow[]> {
  const rows: UserRow[] = [];
  for (const ids of chunks(userIds, LOOKUP_CHUNK)) rows.push(...(await trx.selectFrom('users').selectAll().where('org_id', '=', orgId).where('user_id', 'in', ids).execute()));
  for (const fs of chunks(folds, LOOKUP_CHUNK)) rows.push(...(await trx.selectFrom('users').selectAll().where('org_id', '=', orgId).where('username_fold', 'in', fs).execute()));
  return rows;
}

/** Which of these user_ids another organization holds (user_id is unique across the database). */
export async function findUserIdsOutsideOrg(trx: Trx, orgId: number, userIds: readonly string[]): Promise<Set<string>> {
  const taken = new Set<string>();
  for (const ids of chunks(userIds, LOOKUP_CHUNK)) {
    const rows = await trx.selectFrom('users').select('user_id').where('org_id', '<>', orgId).where('user_id', 'in', ids).execute();
    for (const r of rows) taken.add(r.user_id);
  }
  return taken;
}

/** The ids of the organization's billing groups and groups. */
export async function findAccessIds(trx: Trx, orgId: number): Promise<{ billingGroups: Set<number>; groups: Set<number> }> {
  const bg = await trx.selectFrom('billing_groups').select('id').where('org_id', '=', orgId).execute();
  const g = await trx.selectFrom('groups').select('id').where('org_id', '=', orgId).execute();
  return { billingGroups: new Set(bg.map((r) => r.id)), groups: new Set(g.map((r) => r.id)) };
}

/** Which of these billing group / group ids exist in another organization (ids are unique across organizations). */
export async function findAccessIdsOutsideOrg(trx: Trx, orgId: number, table: 'billing_groups' | 'groups', ids: readonly number[]): Promise<Set<number>> {
  const taken = new Set<number>();
  for (const part of chunks(ids, LOOKUP_CHUNK)) {
    for (const r of await trx.selectFrom(table).select('id').where('org_id', '<>', orgId).where('id', 'in', part).execute()) taken.add(r.id);
  }
  return taken;
}

/** The organization's root billing group of this name, if any. */
export async function findRootBillingGroupByName(trx: Trx, orgId: number, name: string): Promise<number | undefined> {
  const row = await trx.selectFrom('billing_groups').select('id').where('org_id', '=', orgId).where('name', '=', name).where('parent_id', 'is', null).orderBy('id').executeTakeFirst();
  return row?.id;
}

/** Inserts users (multi-row); returns each new row's internal id by user_id. */
export async function insertUsers(trx: Trx, rows: readonly NewUserRow[]): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const part of chunks(rows, USER_CHUNK)) {
    for (const r of await trx.insertInto('users').values(part).returning(['id', 'user_id']).execute()) ids.set(r.user_id, r.id);
  }
  return ids;
}

/** Inserts the join rows mirroring new users' access lists (multi-row). */
export async function insertAccessRows(
  trx: Trx,
  orgId: number,
  billingGroups: readonly { user_pk: number; id: number }[],
  groupOwners: readonly { user_pk: number; id: number }[],
): Promise<void> {
  for (const part of chunks(billingGroups, PAIR_CHUNK)) {
    await trx.insertInto('user_billing_groups').values(part.map((p) => ({ org_id: orgId, user_pk: p.user_pk, billing_group_id: p.id }))).execute();
  }
  for (const part of chunks(groupOwners, PAIR_CHUNK)) {
    await trx.insertInto('user_group_owners').values(part.map((p) => ({ org_id: orgId, user_pk: p.user_pk, group_id: p.id }))).execute();
  }
}

/** Rewrites an existing user's row (the organization's, by internal id). */
export async function updateUserRow(trx: Trx, orgId: number, pk: number, row: NewUserRow): Promise<void> {
  const { org_id: _org, ...values } = row;
  await trx.updateTable('users').set(values).where('org_id', '=', orgId).where('id', '=', pk).execute();
}
