import { statSync } from 'node:fs';
import type { Kysely } from 'kysely';
import type { Connection, Dialect } from '../db/connect.js';
import { syncIdSequences } from '../db/dialect.js';
import { MigrationError, migrateToLatest } from '../db/migrator.js';
import { restoreIndexes, setIndexesAside } from '../import/import.tuning.js';
import type { Database } from '../db/tables.js';
import { listColumns, type CatalogColumn } from './copy.catalog.js';
import { CopyError } from './copy.errors.js';
import {
  analyzeTables,
  countOrgRows,
  createIndexes,
  dropIndexes,
  findHeldValue,
  findOrganizations,
  findPlainIndexes,
  findSqliteFile,
  insertRows,
  isSamePostgresDatabase,
  readOrgPage,
  readUniqueValues,
} from './copy.repository.js';
import { COPIED_TABLES, type CopiedTable } from './copy.tables.js';
import { normalizeValue } from './copy.values.js';
import { verifyTable, type Side, type TableCheck } from './copy.verify.js';

/** What the copy tells whoever runs it (the command draws a progress bar from it). */
export interface CopyProgress {
  /** How the source is read (one snapshot), said before anything is copied. */
  snapshot(description: string): void;
  startOrganization(name: string, rows: number): void;
  /** A step of the organization's copy begins: rebuilding indexes, verifying, committing. */
  step(description: string): void;
  advance(table: string, rows: number): void;
  /** The organization is committed and verified. */
  committed(name: string, id: number, tables: readonly TableCheck[]): void;
  /** The fault-test hook stopped the copy (see CopyOptions.pauseAfter). */
  paused(table: string): void;
}

export interface CopyOptions {
  /** Copy this organization only; every organization when absent. */
  readonly org?: string;
  readonly batchSize?: number;
  readonly progress?: CopyProgress;
  /** Fault tests: after the first batch of this table is written (uncommitted), wait for ever. */
  readonly pauseAfter?: string;
}

export interface CopyReport {
  /** How the source was read: one snapshot, whatever was written to it meanwhile. */
  readonly snapshot: string;
  readonly organizations: { readonly id: number; readonly name: string; readonly tables: TableCheck[] }[];
}

interface Plan {
  readonly table: CopiedTable;
  readonly source: readonly CatalogColumn[];
  readonly target: readonly CatalogColumn[];
}

/** Every copied table's columns on both sides, read from the catalogues; a column the target lacks is refused. */
async function planColumns(source: Connection, target: Connection): Promise<Plan[]> {
  const plans: Plan[] = [];
  for (const table of COPIED_TABLES) {
    const columns = await listColumns(source, table.name);
    const targetColumns = new Map((await listColumns(target, table.name)).map((c) => [c.name, c]));
    const missing = columns.find((c) => !targetColumns.has(c.name));
    if (missing) {
      throw new CopyError(
        `the target's table ${table.name} has no column ${missing.name}: run the same version of Roster on both`,
      );
    }
    plans.push({ table, source: columns, target: columns.map((c) => targetColumns.get(c.name) as CatalogColumn) });
  }
  return plans;
}

/** Runs `work` inside one read snapshot of the source; the source stays readable and writable meanwhile. */
async function inSnapshot<T>(conn: Connection, work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  // SQLite (WAL): a read transaction sees the database as of its first read; writers carry on beside it.
  if (conn.dialect === 'sqlite') return conn.db.transaction().execute(work);
  return conn.db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(work);
}

const SNAPSHOT: Record<Dialect, string> = {
  sqlite: 'one SQLite read transaction (a WAL snapshot)',
  postgres: 'one PostgreSQL REPEATABLE READ, READ ONLY transaction',
};

/** Refuses, before anything is written, a target holding a value unique across Roster that the copy brings. */
async function refuseConflicts(snap: Kysely<Database>, target: Kysely<Database>, orgs: { id: number; name: string }[]) {
  const ids = orgs.map((o) => o.id);
  for (const table of COPIED_TABLES) {
    for (const column of table.unique) {
      let after: unknown = undefined;
      for (;;) {
        const values = await readUniqueValues(target, table.name, column, after, 1000);
        if (values.length === 0) break;
        const held = await findHeldValue(snap, table, column, ids, values);
        if (held) {
          const org = orgs.find((o) => o.id === held.org)?.name ?? '';
          const what =
            table.name === 'organizations'
              ? `an organization with ${column} ${JSON.stringify(held.v)} (the source's "${org}")`
              : `${table.name}.${column} ${JSON.stringify(held.v)}, which the source's organization "${org}" also holds`;
          throw new CopyError(
            `the target already has ${what}; nothing was written. Copy into a database without it, or pick another organization with --org`,
          );
        }
        after = values.at(-1);
      }
    }
  }
}

function noSuchOrganization(org: string): CopyError {
  return new CopyError(`the source has no organization named "${org}"`);
}

/** Refuses an `--org` the source lacks; run before the target is opened, since opening creates and migrates it. */
export async function requireSourceOrganization(source: Connection, org: string | undefined): Promise<void> {
  if (org !== undefined && (await findOrganizations(source.db, org)).length === 0) throw noSuchOrganization(org);
}

/** Refuses a target that is the source itself, however its URL is spelled (another path, host or parameter). */
async function refuseSameDatabase(source: Connection, target: Connection): Promise<void> {
  let same = false;
  if (source.dialect === 'sqlite' && target.dialect === 'sqlite') {
    // One file by device and inode: a relative path, `..`, a symbolic or hard link all name it.
    const files = [await findSqliteFile(source.db), await findSqliteFile(target.db)];
    const [a, b] = files.map((f) => (f === '' ? null : statSync(f))); // '': an in-memory database
    same = a != null && b != null && a.dev === b.dev && a.ino === b.ino;
  } else if (source.dialect === 'postgres' && target.dialect === 'postgres') {
    same = await isSamePostgresDatabase(source.db, target.db);
  }
  if (same) throw new CopyError('--to names the source database itself (DATABASE_URL): name another database');
}

/**
 * `roster copy`: copies every organization (or one) from the source to the
 * target with every row, id and version kept, and verifies it. Each
 * organization is written in one target transaction and verified inside it,
 * so an interrupted or failed copy leaves the target without it.
 */
export async function copyDatabase(source: Connection, target: Connection, options: CopyOptions = {}) {
  try {
    await migrateToLatest(target);
  } catch (error) {
    // The source was opened and migrated just before: a failure here is about --to.
    if (error instanceof MigrationError) throw new CopyError(`the target database (--to): ${error.message}`);
    throw error;
  }
  // After the migration, which changes nothing in the source (already migrated by the same code).
  await refuseSameDatabase(source, target);
  const plans = await planColumns(source, target);
  const batchSize = options.batchSize ?? 5000;
  return inSnapshot(source, async (snap): Promise<CopyReport> => {
    options.progress?.snapshot(SNAPSHOT[source.dialect]);
    const orgs = await findOrganizations(snap, options.org);
    if (options.org !== undefined && orgs.length === 0) throw noSuchOrganization(options.org);
    await refuseConflicts(snap, target.db, orgs);
    let bulkLoad = (await findOrganizations(target.db)).length === 0;
    const tableNames = plans.map((p) => p.table.name);
    const identities = plans.filter((p) => p.table.identity).map((p) => p.table.name);
    const report: CopyReport = { snapshot: SNAPSHOT[source.dialect], organizations: [] };
    for (const org of orgs) {
      let rows = 0;
      for (const { table } of plans) rows += await countOrgRows(snap, table, org.id);
      options.progress?.startOrganization(org.name, rows);
      const tables = await target.db.transaction().execute(async (trx) => {
        // Into a database holding no organization yet (no one else uses it), indexes (and on SQLite the insert
        // triggers) are set aside and rebuilt once, inside this transaction: a rollback gets them back.
        const rebuild = bulkLoad && target.dialect === 'postgres' ? await findPlainIndexes(trx, tableNames) : [];
        await dropIndexes(trx, rebuild);
        const aside = bulkLoad && target.dialect === 'sqlite' ? await setIndexesAside(trx) : null;
        for (const plan of plans)
          await copyTable(plan, org.id, snap, source.dialect, trx, target.dialect, batchSize, options);
        options.progress?.step('rebuilding indexes, moving id sequences');
        await createIndexes(trx, rebuild);
        if (aside) await restoreIndexes(trx, org.id, aside);
        await syncIdSequences(trx, target.dialect, identities);
        // The verification's keyset reads need the planner to know the rows this transaction added.
        await analyzeTables(trx, target.dialect, tableNames);
        options.progress?.step('verifying');
        const checks: TableCheck[] = [];
        for (const plan of plans) {
          const from: Side = { db: snap, dialect: source.dialect, columns: plan.source };
          const to: Side = { db: trx, dialect: target.dialect, columns: plan.target };
          checks.push(await verifyTable(plan.table, org.id, from, to));
        }
        options.progress?.step('committing');
        return checks;
      });
      report.organizations.push({ id: org.id, name: org.name, tables });
      options.progress?.committed(org.name, org.id, tables);
      bulkLoad = false;
    }
    return report;
  });
}

/** Streams one table's rows of the organization into the target, reading the next page while a batch is written. */
async function copyTable(
  plan: Plan,
  orgId: number,
  snap: Kysely<Database>,
  sourceDialect: Dialect,
  trx: Kysely<Database>,
  targetDialect: Dialect,
  batchSize: number,
  options: CopyOptions,
): Promise<void> {
  const { table, source: columns } = plan;
  const names = columns.map((c) => c.name);
  options.progress?.step(`copying ${table.name}`);
  let after: unknown[] | null = null;
  let writing: Promise<void> = Promise.resolve();
  let first = true;
  for (;;) {
    const rows = await readOrgPage(snap, table, columns, orgId, after, batchSize);
    if (rows.length === 0) break;
    const last = rows[rows.length - 1] as Record<string, unknown>;
    after = table.order.map((c) => last[c]);
    const values = rows.map((r) =>
      Object.fromEntries(columns.map((c) => [c.name, normalizeValue(r[c.name], c.kind, sourceDialect)])),
    );
    await writing;
    writing = insertRows(trx, targetDialect, table.name, names, values).then(() =>
      options.progress?.advance(table.name, rows.length),
    );
    // Marked as handled at once: the rejection is awaited (and thrown) on the next round.
    writing.catch(() => {});
    if (first && options.pauseAfter === table.name) {
      await writing;
      options.progress?.paused(table.name);
      await new Promise(() => setInterval(() => {}, 60_000));
    }
    first = false;
    if (rows.length < batchSize) break;
  }
  await writing;
}
