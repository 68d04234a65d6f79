/**
 * Bulk import: each checked row upserts one user (by user_id when given, else
 * by username case-insensitively). A row that would change nothing is counted
 * `unchanged` and not written, so importing a file twice changes nothing the
 * second time. import.planner.ts decides what each row does,
 * import.writer.ts writes it, import.strategies.ts commits it.
 */
import type { Db } from '../db/tables.js';
import { organizationIsEmpty } from './import.repository.js';
import type { CheckedRow } from './import.rows.js';
import { ImportRun, type ImportCounts, type ImportHooks, type ImportOptions } from './import.run.js';
import { commitEachBatch, commitWholeFile } from './import.strategies.js';

export type { ImportCounts, Rejection } from './import.run.js';

/** Imports the rows into the organization; returns the counts (with --strict and a bad row, nothing was written). */
export async function importUsers(
  db: Db,
  rows: AsyncIterable<CheckedRow>,
  options: ImportOptions,
  hooks: ImportHooks,
): Promise<ImportCounts> {
  const run = new ImportRun(options, hooks);
  await run.start(db);
  const firstLoad = options.dialect === 'sqlite' && (await organizationIsEmpty(db, options.orgId));
  return options.strict || firstLoad ? commitWholeFile(db, rows, run, firstLoad) : commitEachBatch(db, rows, run);
}
