/**
 * Bulk import: each checked row upserts one user (by user_id when given, else
 * by username case-insensitively). A row that would change nothing is counted
 * `unchanged` and not written, so importing a file twice changes nothing the
 * second time. import.planner.ts decides what each row does,
 * import.writer.ts writes it, import.strategies.ts commits it.
 */
import type { Connection } from '../db/connect.js';
import { organizationIsEmpty } from './import.repository.js';
import type { CheckedRow } from './import.rows.js';
import { ImportRun, type ImportCounts, type ImportHooks, type ImportOptions } from './import.run.js';
import { postgresFirstLoad, stageSink } from './import.stage.js';
import { commitEachBatch, commitWholeFile, OrganizationNotEmpty, sqliteFirstLoad } from './import.strategies.js';

export type { ImportCounts, Rejection } from './import.run.js';

/**
 * Imports the rows into the organization; returns the counts (with --strict and a bad row, nothing was written).
 * Into an organization with no users it is a first load: one transaction (SQLite: indexes set aside;
 * PostgreSQL: COPY into a staging table, then one insert).
 */
export async function importUsers(
  conn: Connection,
  rows: AsyncIterable<CheckedRow>,
  options: ImportOptions,
  hooks: ImportHooks,
): Promise<ImportCounts> {
  const { db } = conn;
  const empty = await organizationIsEmpty(db, options.orgId);
  if (empty && conn.withSession) {
    try {
      return await conn.withSession(async (session) => {
        const run = new ImportRun(options, hooks, stageSink(session.client));
        await run.start(session.db);
        return commitWholeFile(session.db, rows, run, postgresFirstLoad(options.orgId));
      });
    } catch (error) {
      // Users arrived between the look and the write lock; no row was read yet, so the row path takes over.
      if (!(error instanceof OrganizationNotEmpty)) throw error;
    }
  }
  const run = new ImportRun(options, hooks);
  await run.start(db);
  const firstLoad = options.dialect === 'sqlite' && empty ? sqliteFirstLoad(options.orgId) : null;
  return options.strict || firstLoad ? commitWholeFile(db, rows, run, firstLoad) : commitEachBatch(db, rows, run);
}
