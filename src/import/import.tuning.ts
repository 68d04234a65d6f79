/**
 * How a bulk import works the database: the import connection's settings, each
 * batch's transaction settings, the planner's statistics, and (SQLite) the
 * secondary indexes and insert triggers a first load sets aside and rebuilds.
 */
import { sql, type Transaction } from 'kysely';
import type { Connection, Dialect } from '../db/connect.js';
import type { Database } from '../db/tables.js';

type Trx = Transaction<Database>;

// SQLite page caches of the import (negative: KiB). A larger cache spills fewer of the load's random
// inserts into the unique indexes but adds to peak memory; docs/import-export.md ("Speed") has the
// measurements these sizes were chosen from, against its memory target.
const LOAD_CACHE = -49152;
const RESTORE_CACHE = -16384;
const FTS_REBUILD_HASH = 32 * 1024 * 1024;
const FTS_DEFAULT_HASH = 1024 * 1024;

/**
 * Connection settings for a bulk import. SQLite: NORMAL sync in WAL mode (a
 * crash may lose the last committed batches, never consistency; the import is
 * idempotent, so re-running it finishes the job), a 48 MB page cache and no
 * memory-mapped reads: the server's 1 GB map would count in the process's
 * memory (docs/import-export.md, "Memory fixes").
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
 * username look-up, which then took seconds instead of milliseconds
 * (docs/import-export.md). The import's look-ups are equality probes, which
 * the b-tree indexes serve.
 */
export async function relaxBatchCommit(trx: Trx, dialect: Connection['dialect']): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`set local synchronous_commit = off`.execute(trx);
  await sql`set local enable_bitmapscan = off`.execute(trx);
}

/** The tables an import of users changes. */
const IMPORTED_TABLES = ['users', 'user_billing_groups', 'user_group_owners'];

/**
 * After an import changed users: refresh the planner's statistics. A bulk load
 * leaves PostgreSQL's estimates stale until autovacuum gets to it, and with
 * them it chose a bitmap scan and sort per keyset page instead of walking the
 * index, and a large export took minutes. SQLite: ANALYZE of the same tables
 * (before, `pragma optimize`, which also took the change log's statistics).
 */
export async function refreshStatistics(conn: Connection): Promise<void> {
  const tables = IMPORTED_TABLES.map((table) => sql.table(table));
  if (conn.dialect === 'postgres') {
    await sql`analyze ${sql.join(tables)}`.execute(conn.db);
    return;
  }
  // One by one (SQLite's ANALYZE names one), from a sample of each index as `pragma optimize` takes it; not
  // the change log, whose statistics SQLite must not keep (db/statistics.ts).
  await sql`pragma analysis_limit = 2000`.execute(conn.db);
  try {
    for (const table of tables) await sql`analyze ${table}`.execute(conn.db);
  } finally {
    await sql`pragma analysis_limit = 0`.execute(conn.db);
  }
}

/**
 * PostgreSQL, during a large import: refresh the users table's statistics,
 * so that each batch's look-ups and inserts are not planned against the
 * near-empty table the import started from (docs/import-export.md measures
 * the difference). The import calls this at 10,000 created users and each
 * time that count doubles. ANALYZE reads a sample and blocks no reader or writer.
 */
export async function refreshUserStatistics(trx: Trx, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') await sql`analyze users`.execute(trx);
}

/** What a first load set aside inside its transaction, to be rebuilt once at its end. */
interface SetAside {
  readonly indexes: readonly { name: string; sql: string }[];
  readonly triggers: readonly { name: string; sql: string }[];
}

const BULK_TABLES = ['users', 'user_billing_groups', 'user_group_owners'];
// The insert triggers of src/db/migrations/004_performance.ts: the trigram index's and the per-organization counts'.
const BULK_TRIGGERS = ['users_trgm_ai', 'users_counts_ai'];

/**
 * SQLite, inside a first load's transaction: drops the user tables'
 * secondary indexes that back no constraint, and the insert triggers that
 * feed the trigram index and the user counts. Building each once at the end
 * (sorted, or FTS5's rebuild) costs a fraction of maintaining it row by row.
 * Other connections keep reading the committed schema (WAL) until the load
 * commits with all of it back.
 */
export async function setIndexesAside(trx: Trx): Promise<SetAside> {
  const tables = sql.join(BULK_TABLES.map((t) => sql.lit(t)));
  const triggers = sql.join(BULK_TRIGGERS.map((t) => sql.lit(t)));
  const { rows: indexList } = await sql<{ name: string; sql: string }>`select name, sql from sqlite_master
    where type = 'index' and sql is not null and tbl_name in (${tables}) and sql not like 'create unique%' collate nocase order by name`.execute(
    trx,
  );
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
    // FTS5's rebuild re-reads every user of the database, yet beats inserting only the organization's
    // rows with insert … select, which makes FTS5 merge its segments over and over. FTS5 writes its
    // in-memory index out each time it reaches `hashsize` bytes (1 MB by default) and merges what it
    // wrote, so the rebuild gets 32 MB (docs/import-export.md, "First load"). The setting is stored
    // with the index, so it is put back.
    await sql`insert into users_trgm(users_trgm, rank) values ('hashsize', ${sql.lit(FTS_REBUILD_HASH)})`.execute(trx);
    await sql`insert into users_trgm(users_trgm) values ('rebuild')`.execute(trx);
    await sql`insert into users_trgm(users_trgm, rank) values ('hashsize', ${sql.lit(FTS_DEFAULT_HASH)})`.execute(trx);
  }
  if (names.has('users_counts_ai')) {
    await sql`delete from user_counts where org_id = ${orgId}`.execute(trx);
    await sql`insert into user_counts (org_id, status, roles_mask, n)
      select org_id, status, roles_mask, count(*) from users where org_id = ${orgId} group by org_id, status, roles_mask`.execute(
      trx,
    );
  }
  for (const t of aside.triggers) await sql.raw(t.sql).execute(trx);
  await sql.raw(`pragma cache_size = ${Number(rows[0]?.cache_size ?? LOAD_CACHE)}`).execute(trx);
}
