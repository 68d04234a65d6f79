/** The SQL of bulk import: batch look-ups and multi-row writes, every query scoped to the organization. */
import { sql, type Transaction } from 'kysely';
import type { Connection } from '../db/connect.js';
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

/**
 * The organization's users with any of these user_ids or folded usernames, and
 * which of the user_ids another organization holds (user_id is unique across
 * the database). The user_id look-up goes by the global unique index alone:
 * with `org_id = ?` beside it SQLite would walk the organization's whole index.
 */
export async function findUsersByIdsOrFolds(
  trx: Trx,
  orgId: number,
  userIds: readonly string[],
  folds: readonly string[],
): Promise<{ rows: UserRow[]; elsewhere: Set<string> }> {
  const rows: UserRow[] = [];
  const elsewhere = new Set<string>();
  const found = new Set<string>();
  for (const ids of chunks(userIds, LOOKUP_CHUNK)) {
    for (const row of await trx.selectFrom('users').selectAll().where('user_id', 'in', ids).execute()) {
      if (row.org_id !== orgId) elsewhere.add(row.user_id);
      else {
        rows.push(row);
        found.add(row.username_fold);
      }
    }
  }
  const rest = folds.filter((f) => !found.has(f));
  for (const fs of chunks(rest, LOOKUP_CHUNK)) rows.push(...(await trx.selectFrom('users').selectAll().where('org_id', '=', orgId).where('username_fold', 'in', fs).execute()));
  return { rows, elsewhere };
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

/**
 * Connection settings for a bulk import. SQLite: NORMAL sync in WAL mode (a
 * crash may lose the last committed batches, never consistency; the import is
 * idempotent, so re-running it finishes the job) and a 64 MB page cache for
 * the index inserts of a big file.
 */
export async function tuneForBulkImport(conn: Connection): Promise<void> {
  if (conn.dialect !== 'sqlite') return;
  await sql`pragma synchronous = normal`.execute(conn.db);
  await sql`pragma cache_size = -65536`.execute(conn.db);
}

/** PostgreSQL: this batch's commit does not wait for the WAL flush (the same trade as SQLite's NORMAL sync). */
export async function relaxBatchCommit(trx: Trx, dialect: Connection['dialect']): Promise<void> {
  if (dialect === 'postgres') await sql`set local synchronous_commit = off`.execute(trx);
}
