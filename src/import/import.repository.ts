/** The SQL of bulk import: batch look-ups and multi-row writes, every query scoped to the organization. */
import { sql, type SqlBool, type Transaction } from 'kysely';
import type { Dialect } from '../db/connect.js';
import type { Database, Db, NewUserRow, UserRow } from '../db/tables.js';

type Trx = Transaction<Database>;

// The command that runs an import sets up its connection from here.
export { refreshStatistics, tuneForBulkImport } from './import.tuning.js';

// Rows per insert statement (each statement carries its rows as one JSON parameter).
const USER_CHUNK = 1000;
const PAIR_CHUNK = 5000;
const LOOKUP_CHUNK = 1000;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The organization's users with any of these user_ids or username skeletons (db/username-keys.ts: a
 * skeleton finds the user of the same fold and any look-alike), and
 * which of the user_ids another organization holds (user_id is unique across
 * the database). The user_id look-up goes by the global unique index alone:
 * with `org_id = ?` beside it SQLite would walk the organization's whole index.
 */
export async function findUsersByIdsOrSkeletons(
  trx: Trx,
  dialect: Dialect,
  orgId: number,
  userIds: readonly string[],
  skeletons: readonly string[],
): Promise<{ rows: UserRow[]; elsewhere: Set<string> }> {
  const rows: UserRow[] = [];
  const elsewhere = new Set<string>();
  const found = new Set<string>();
  for (const ids of chunks(userIds, LOOKUP_CHUNK)) {
    for (const row of await trx
      .selectFrom('users')
      .selectAll()
      .where(inList(dialect, 'user_id', ids))
      .execute()) {
      if (row.org_id !== orgId) elsewhere.add(row.user_id);
      else {
        rows.push(row);
        found.add(row.username_skeleton);
      }
    }
  }
  const rest = skeletons.filter((f) => !found.has(f));
  for (const fs of chunks(rest, LOOKUP_CHUNK)) {
    rows.push(
      ...(await trx
        .selectFrom('users')
        .selectAll()
        .where('org_id', '=', orgId)
        .where(inList(dialect, 'username_skeleton', fs))
        .execute()),
    );
  }
  return { rows, elsewhere };
}

/** `column in (values)` with the values as one parameter (see selectJsonRows for why). */
function inList(dialect: Dialect, column: 'user_id' | 'username_skeleton', values: readonly string[]) {
  return dialect === 'sqlite'
    ? sql<SqlBool>`${sql.ref(column)} in (select value from json_each(${JSON.stringify(values)}))`
    : sql<SqlBool>`${sql.ref(column)} = any(${[...values]}::text[])`;
}

/** The ids of the organization's billing groups and groups. */
export async function findAccessIds(
  trx: Trx,
  orgId: number,
): Promise<{ billingGroups: Set<number>; groups: Set<number> }> {
  const bg = await trx.selectFrom('billing_groups').select('id').where('org_id', '=', orgId).execute();
  const g = await trx.selectFrom('groups').select('id').where('org_id', '=', orgId).execute();
  return { billingGroups: new Set(bg.map((r) => r.id)), groups: new Set(g.map((r) => r.id)) };
}

/** Which of these billing group / group ids exist in another organization (ids are unique across organizations). */
export async function findAccessIdsOutsideOrg(
  trx: Trx,
  orgId: number,
  table: 'billing_groups' | 'groups',
  ids: readonly number[],
): Promise<Set<number>> {
  const taken = new Set<number>();
  for (const part of chunks(ids, LOOKUP_CHUNK)) {
    for (const r of await trx
      .selectFrom(table)
      .select('id')
      .where('org_id', '<>', orgId)
      .where('id', 'in', part)
      .execute())
      taken.add(r.id);
  }
  return taken;
}

/** The organization's root billing group of this name, if any. */
export async function findRootBillingGroupByName(trx: Trx, orgId: number, name: string): Promise<number | undefined> {
  const row = await trx
    .selectFrom('billing_groups')
    .select('id')
    .where('org_id', '=', orgId)
    .where('name', '=', name)
    .where('parent_id', 'is', null)
    .orderBy('id')
    .executeTakeFirst();
  return row?.id;
}

// The users columns an import writes, in one order, with PostgreSQL's type for each.
export const USER_COLUMNS = [
  ['org_id', 'integer'],
  ['user_id', 'text'],
  ['username', 'text'],
  ['username_fold', 'text'],
  ['username_skeleton', 'text'],
  ['name', 'text'],
  ['name_fold', 'text'],
  ['email', 'text'],
  ['phone', 'text'],
  ['call_detail_level', 'text'],
  ['restrict_recording_download', 'integer'],
  ['status', 'text'],
  ['last_login_date', 'text'],
  ['last_updated_date', 'text'],
  ['deactivation_date', 'text'],
  ['roles', 'text'],
  ['roles_mask', 'integer'],
  ['billing_groups', 'text'],
  ['group_owners', 'text'],
  ['version', 'integer'],
  ['created_at', 'text'],
] as const satisfies readonly (readonly [keyof NewUserRow, 'text' | 'integer'])[];

/**
 * `select` of the rows of a JSON array of arrays, one column per position:
 * the whole batch travels as one parameter. (A multi-row VALUES statement
 * would bind thousands of parameters, and on SQLite each such statement holds
 * native memory until a full garbage collection, so a large import grew
 * without bound: docs/import-export.md, "Memory fixes".)
 */
function selectJsonRows(
  dialect: Dialect,
  columns: readonly (readonly [string, 'text' | 'integer'])[],
  rows: readonly unknown[][],
) {
  const json = JSON.stringify(rows);
  if (dialect === 'sqlite') {
    // Parsed once into SQLite's binary JSON: each `->>` then reads the element without parsing text again.
    const cols = sql.join(columns.map((_, i) => sql.raw(`value ->> ${i}`)));
    return sql`select ${cols} from jsonb_each(jsonb(${json})) order by key`;
  }
  const cols = sql.join(columns.map(([, type], i) => sql.raw(type === 'integer' ? `(e->>${i})::integer` : `e->>${i}`)));
  return sql`select ${cols} from jsonb_array_elements(${json}::jsonb) with ordinality as t(e, n) order by n`;
}

/** Inserts users (one statement per chunk); returns each new row's internal id by user_id. */
export async function insertUsers(
  trx: Trx,
  dialect: Dialect,
  rows: readonly NewUserRow[],
): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  const names = sql.join(USER_COLUMNS.map(([c]) => sql.ref(c)));
  for (const part of chunks(rows, USER_CHUNK)) {
    const values = part.map((r) => USER_COLUMNS.map(([c]) => r[c] ?? null));
    const { rows: inserted } = await sql<{
      id: number;
      user_id: string;
    }>`insert into users (${names}) ${selectJsonRows(dialect, USER_COLUMNS, values)} returning id, user_id`.execute(
      trx,
    );
    for (const r of inserted) ids.set(r.user_id, Number(r.id));
  }
  return ids;
}

/** Inserts the join rows mirroring new users' access lists. */
export async function insertAccessRows(
  trx: Trx,
  dialect: Dialect,
  orgId: number,
  billingGroups: readonly { user_pk: number; id: number }[],
  groupOwners: readonly { user_pk: number; id: number }[],
): Promise<void> {
  const pair = [
    ['org_id', 'integer'],
    ['user_pk', 'integer'],
    ['id', 'integer'],
  ] as const;
  for (const part of chunks(billingGroups, PAIR_CHUNK)) {
    await sql`insert into user_billing_groups (org_id, user_pk, billing_group_id) ${selectJsonRows(
      dialect,
      pair,
      part.map((p) => [orgId, p.user_pk, p.id]),
    )}`.execute(trx);
  }
  for (const part of chunks(groupOwners, PAIR_CHUNK)) {
    await sql`insert into user_group_owners (org_id, user_pk, group_id) ${selectJsonRows(
      dialect,
      pair,
      part.map((p) => [orgId, p.user_pk, p.id]),
    )}`.execute(trx);
  }
}

/** Replaces one user's access rows with the given lists (the user's own join rows only). */
export async function replaceAccessRows(
  trx: Trx,
  dialect: Dialect,
  orgId: number,
  userPk: number,
  billingGroups: readonly number[],
  groupOwners: readonly number[],
): Promise<void> {
  await trx.deleteFrom('user_billing_groups').where('org_id', '=', orgId).where('user_pk', '=', userPk).execute();
  await trx.deleteFrom('user_group_owners').where('org_id', '=', orgId).where('user_pk', '=', userPk).execute();
  const rows = (ids: readonly number[]) => ids.map((id) => ({ user_pk: userPk, id }));
  await insertAccessRows(trx, dialect, orgId, rows(billingGroups), rows(groupOwners));
}

/** Rewrites an existing user's row (the organization's, by internal id); its access rows are the caller's, and only when they changed. */
export async function replaceImportedUserRow(trx: Trx, orgId: number, pk: number, row: NewUserRow): Promise<void> {
  const { org_id: _org, ...values } = row;
  await trx.updateTable('users').set(values).where('org_id', '=', orgId).where('id', '=', pk).execute();
}

/** Whether the organization has no users at all (a first load may take the bulk path). */
export async function organizationIsEmpty(trx: Trx | Db, orgId: number): Promise<boolean> {
  return !(await trx.selectFrom('users').select('id').where('org_id', '=', orgId).limit(1).executeTakeFirst());
}
