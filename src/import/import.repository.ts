/** The SQL of bulk import: batch look-ups and multi-row writes, every query scoped to the organization. */
import { sql, type SqlBool, type Transaction } from 'kysely';
import type { Connection, Dialect } from '../db/connect.js';
import type { Database, Db, NewUserRow, UserRow } from '../db/tables.js';

type Trx = Transaction<Database>;

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
 * The organization's users with any of these user_ids or folded usernames, and
 * which of the user_ids another organization holds (user_id is unique across
 * the database). The user_id look-up goes by the global unique index alone:
 * with `org_id = ?` beside it SQLite would walk the organization's whole index.
 */
export async function findUsersByIdsOrFolds(
  trx: Trx,
  dialect: Dialect,
  orgId: number,
  userIds: readonly string[],
  folds: readonly string[],
): Promise<{ rows: UserRow[]; elsewhere: Set<string> }> {
  const rows: UserRow[] = [];
  const elsewhere = new Set<string>();
  const found = new Set<string>();
  for (const ids of chunks(userIds, LOOKUP_CHUNK)) {
    for (const row of await trx.selectFrom('users').selectAll().where(inList(dialect, 'user_id', ids)).execute()) {
      if (row.org_id !== orgId) elsewhere.add(row.user_id);
      else {
        rows.push(row);
        found.add(row.username_fold);
      }
    }
  }
  const rest = folds.filter((f) => !found.has(f));
  for (const fs of chunks(rest, LOOKUP_CHUNK)) {
    rows.push(...(await trx.selectFrom('users').selectAll().where('org_id', '=', orgId).where(inList(dialect, 'username_fold', fs)).execute()));
  }
  return { rows, elsewhere };
}

/** `column in (values)` with the values as one parameter (see selectJsonRows for why). */
function inList(dialect: Dialect, column: 'user_id' | 'username_fold', values: readonly string[]) {
  return dialect === 'sqlite'
    ? sql<SqlBool>`${sql.ref(column)} in (select value from json_each(${JSON.stringify(values)}))`
    : sql<SqlBool>`${sql.ref(column)} = any(${[...values]}::text[])`;
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

// The users columns an import writes, in one order, with PostgreSQL's type for each.
const USER_COLUMNS = [
  ['org_id', 'integer'],
  ['user_id', 'text'],
  ['username', 'text'],
  ['username_fold', 'text'],
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
] as const satisfies readonly (readonly [keyof NewUserRow, 'text' | 'integer'])[];

/**
 * `select` of the rows of a JSON array of arrays, one column per position:
 * the whole batch travels as one parameter. (A multi-row VALUES statement
 * would bind thousands of parameters, and on SQLite each such statement holds
 * about a megabyte of native memory until a full garbage collection: a
 * million-row import would grow by gigabytes.)
 */
function selectJsonRows(dialect: Dialect, columns: readonly (readonly [string, 'text' | 'integer'])[], rows: readonly unknown[][]) {
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
export async function insertUsers(trx: Trx, dialect: Dialect, rows: readonly NewUserRow[]): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  const names = sql.join(USER_COLUMNS.map(([c]) => sql.ref(c)));
  for (const part of chunks(rows, USER_CHUNK)) {
    const values = part.map((r) => USER_COLUMNS.map(([c]) => r[c] ?? null));
    const { rows: inserted } = await sql<{ id: number; user_id: string }>`insert into users (${names}) ${selectJsonRows(dialect, USER_COLUMNS, values)} returning id, user_id`.execute(trx);
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
  const pair = [['org_id', 'integer'], ['user_pk', 'integer'], ['id', 'integer']] as const;
  for (const part of chunks(billingGroups, PAIR_CHUNK)) {
    await sql`insert into user_billing_groups (org_id, user_pk, billing_group_id) ${selectJsonRows(dialect, pair, part.map((p) => [orgId, p.user_pk, p.id]))}`.execute(trx);
  }
  for (const part of chunks(groupOwners, PAIR_CHUNK)) {
    await sql`insert into user_group_owners (org_id, user_pk, group_id) ${selectJsonRows(dialect, pair, part.map((p) => [orgId, p.user_pk, p.id]))}`.execute(trx);
  }
}

/** Rewrites an existing user's row (the organization's, by internal id). */
export async function updateUserRow(trx: Trx, orgId: number, pk: number, row: NewUserRow): Promise<void> {
  const { org_id: _org, ...values } = row;
  await trx.updateTable('users').set(values).where('org_id', '=', orgId).where('id', '=', pk).execute();
}

// SQLite page caches of the import (negative: KiB): the load's random inserts into the unique indexes
// spill less with more (a million-user first load: 16 MB 65 s, 32 MB 63 s, 64 MB 60 s), and peak RSS
// grows with it (230, 254, 351 MB); 48 MB for the load and 16 MB while the indexes rebuild keep it under 300.
const LOAD_CACHE = -49152;
const RESTORE_CACHE = -16384;
const FTS_REBUILD_HASH = 32 * 1024 * 1024;
const FTS_DEFAULT_HASH = 1024 * 1024;

/**
 * Connection settings for a bulk import. SQLite: NORMAL sync in WAL mode (a
 * crash may lose the last committed batches, never consistency; the import is
 * idempotent, so re-running it finishes the job), a 48 MB page cache and no
 * memory-mapped reads: the server's 1 GB map would count in the process's
 * memory (a million-user re-import: peak RSS 409 → 217 MB).
 */
export async function tuneForBulkImport(conn: Connection): Promise<void> {
  if (conn.dialect !== 'sqlite') return;
  await sql`pragma synchronous = normal`.execute(conn.db);
  await sql.raw(`pragma cache_size = ${LOAD_CACHE}`).execute(conn.db);
  await sql`pragma mmap_size = 0`.execute(conn.db);
}

/**
 * PostgreSQL, for each batch's transaction: its commit does not wait for the
 * WAL flush (the same trade as SQLite's NORMAL sync), and no bitmap scans.
 * pg_trgm's GIN index also answers `username_fold = any(…)`, and mid-load,
 * with the index's pending list long, the planner chose it for the batch's
 * username look-up: 8 s a batch instead of 5 ms. The import's look-ups are
 * equality probes, which the b-tree indexes serve.
 */
export async function relaxBatchCommit(trx: Trx, dialect: Connection['dialect']): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`set local synchronous_commit = off`.execute(trx);
  await sql`set local enable_bitmapscan = off`.execute(trx);
}

/**
 * After an import changed users: refresh the planner's statistics. A bulk load
 * leaves PostgreSQL's estimates stale until autovacuum gets to it, and with
 * them it chose a bitmap scan and sort per keyset page (0.4 s each, minutes
 * for a million-user export) instead of walking the index. SQLite: `pragma
 * optimize`, its recommended call after large changes.
 */
export async function refreshStatistics(conn: Connection): Promise<void> {
  if (conn.dialect === 'postgres') await sql`analyze users, user_billing_groups, user_group_owners`.execute(conn.db);
  else await sql`pragma optimize`.execute(conn.db);
}

/**
 * PostgreSQL, during a large import: refresh the users table's statistics,
 * so that each batch's look-ups and inserts are not planned against the
 * near-empty table the import started from (300k new users: 64 s without,
 * 31 s with). The import calls this at 10,000 created users and each time
 * that count doubles. ANALYZE reads a sample and blocks no reader or writer.
 */
export async function refreshUserStatistics(trx: Trx, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') await sql`analyze users`.execute(trx);
}

/** Whether the organization has no users at all (a first load may take the bulk path). */
export async function organizationIsEmpty(trx: Trx | Db, orgId: number): Promise<boolean> {
  return !(await trx.selectFrom('users').select('id').where('org_id', '=', orgId).limit(1).executeTakeFirst());
}

/** What a first load set aside inside its transaction, to be rebuilt once at its end. */
export interface SetAside {
  readonly indexes: readonly { name: string; sql: string }[];
  readonly triggers: readonly { name: string; sql: string }[];
}

const BULK_TABLES = ['users', 'user_billing_groups', 'user_group_owners'];
// The insert triggers of migration 004: the trigram index's and the per-organization counts'.
const BULK_TRIGGERS = ['users_trgm_ai', 'users_counts_ai'];

/**
 * SQLite, inside a first load's transaction: drops the user tables'
 * secondary indexes that back no constraint, and the insert triggers that
 * feed the trigram index and the user counts. Building each once at the end
 * (sorted, or FTS5's rebuild) costs a fraction of a million random inserts.
 * Other connections keep reading the committed schema (WAL) until the load
 * commits with all of it back.
 */
export async function setIndexesAside(trx: Trx): Promise<SetAside> {
  const tables = sql.join(BULK_TABLES.map((t) => sql.lit(t)));
  const triggers = sql.join(BULK_TRIGGERS.map((t) => sql.lit(t)));
  const { rows: indexList } = await sql<{ name: string; sql: string }>`select name, sql from sqlite_master
    where type = 'index' and sql is not null and tbl_name in (${tables}) and sql not like 'create unique%' collate nocase order by name`.execute(trx);
  const { rows: triggerList } = await sql<{ name: string; sql: string }>`select name, sql from sqlite_master
    where type = 'trigger' and name in (${triggers}) order by name`.execute(trx);
  for (const i of indexList) await sql`drop index ${sql.id(i.name)}`.execute(trx);
  for (const t of triggerList) await sql`drop trigger ${sql.id(t.name)}`.execute(trx);
  return { indexes: indexList, triggers: triggerList };
}

/** Rebuilds what setIndexesAside dropped: the indexes, the trigram index, the organization's counts, the triggers. */
export async function restoreIndexes(trx: Trx, orgId: number, aside: SetAside): Promise<void> {
  // The index sorts and FTS5's rebuild take memory of their own: give back the load's page cache first.
  const { rows } = await sql<{ cache_size: number }>`pragma cache_size`.execute(trx);
  await sql.raw(`pragma cache_size = ${RESTORE_CACHE}`).execute(trx);
  for (const i of aside.indexes) await sql.raw(i.sql).execute(trx);
  const names = new Set(aside.triggers.map((t) => t.name));
  if (names.has('users_trgm_ai')) {
    // FTS5's rebuild re-reads every user of the database; inserting only the organization's rows with
    // insert … select took minutes at a million. FTS5 writes its in-memory index out each time it reaches
    // `hashsize` bytes (1 MB by default) and merges what it wrote: with 32 MB for the rebuild, a million
    // users take 2.5 s instead of 9 s. The setting is stored with the index, so it is put back.
    await sql`insert into users_trgm(users_trgm, rank) values ('hashsize', ${sql.lit(FTS_REBUILD_HASH)})`.execute(trx);
    await sql`insert into users_trgm(users_trgm) values ('rebuild')`.execute(trx);
    await sql`insert into users_trgm(users_trgm, rank) values ('hashsize', ${sql.lit(FTS_DEFAULT_HASH)})`.execute(trx);
  }
  if (names.has('users_counts_ai')) {
    await sql`delete from user_counts where org_id = ${orgId}`.execute(trx);
    await sql`insert into user_counts (org_id, status, roles_mask, n)
      select org_id, status, roles_mask, count(*) from users where org_id = ${orgId} group by org_id, status, roles_mask`.execute(trx);
  }
  for (const t of aside.triggers) await sql.raw(t.sql).execute(trx);
  await sql.raw(`pragma cache_size = ${Number(rows[0]?.cache_size ?? LOAD_CACHE)}`).execute(trx);
}
