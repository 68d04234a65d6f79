/**
 * The ways an import commits. Batch by batch: each batch commits on its own,
 * so an interrupted import keeps what it wrote and re-running it finishes the
 * job. The whole file at once: --strict (nothing unless every row is good), and
 * a first load into an organization with no users on SQLite, which sets the
 * user tables' secondary indexes and insert triggers aside and rebuilds them at
 * its end. A file that turns out malformed part-way keeps the rows before the
 * problem (every one imported or reported, the partial batch too), except
 * under --strict; its ImportFileError carries the counts of those rows.
 */
import type { Transaction } from 'kysely';
import type { Database, Db } from '../db/tables.js';
import { createOrgService } from '../orgs/org.service.js';
import { ImportBatchError, ImportFileError } from './import.errors.js';
import { organizationIsEmpty } from './import.repository.js';
import type { CheckedRow } from './import.rows.js';
import type { ImportCounts, ImportRun } from './import.run.js';
import { restoreIndexes, setIndexesAside } from './import.tuning.js';

const BATCH = 2000;
/** Thrown inside a transaction to roll it back on purpose; never leaves this module. */
const ROLLBACK = new Error('rollback');

/** One transaction per batch; a batch that changes nothing is rolled back, so even write_version stays as it was. */
export async function commitEachBatch(db: Db, rows: AsyncIterable<CheckedRow>, run: ImportRun): Promise<ImportCounts> {
  try {
    for await (const batch of batches(rows, run.options.batchSize ?? BATCH)) {
      try {
        await db.transaction().execute(async (trx) => {
          if (!(await run.processBatch(trx, batch))) throw ROLLBACK;
        });
      } catch (error) {
        if (error !== ROLLBACK)
          throw new ImportBatchError(
            batch[0]?.line ?? 0,
            error,
            `the rows before line ${batch[0]?.line ?? 0} were imported`,
          );
      }
      run.commit();
    }
  } catch (error) {
    throw withAccount(error, run);
  }
  return run.counts;
}

/** A file that broke part-way carries the account of the rows before the break (each imported or reported). */
function withAccount(error: unknown, run: ImportRun): unknown {
  if (error instanceof ImportFileError) error.counts = { ...run.counts };
  return error;
}

/** What a first load (the organization had no users) does around its rows, inside the file's transaction. */
export interface FirstLoad {
  /** After the write lock, before the first row. May throw OrganizationNotEmpty when the organization has users after all. */
  prepare(trx: Transaction<Database>): Promise<void>;
  /** After the last row, before the commit. */
  finish(trx: Transaction<Database>): Promise<void>;
}

/** A first load found users in the organization once it held the write lock; nothing was read or written. */
export class OrganizationNotEmpty extends Error {}

/**
 * SQLite's first load: the secondary indexes and insert triggers are set
 * aside while the rows go in (import.tuning.ts), and rebuilt once at the end.
 * If the organization has users after all, the rows simply go in with them.
 */
export function sqliteFirstLoad(orgId: number): FirstLoad {
  let aside: Awaited<ReturnType<typeof setIndexesAside>> | null = null;
  return {
    async prepare(trx) {
      aside = (await organizationIsEmpty(trx, orgId)) ? await setIndexesAside(trx) : null;
    },
    async finish(trx) {
      if (aside) await restoreIndexes(trx, orgId, aside);
    },
  };
}

/**
 * One transaction for the whole file: rolled back under --strict when a row was
 * rejected, and whenever nothing changed. `firstLoad` (the organization had no
 * users) prepares and finishes the load (SQLite: indexes set aside; PostgreSQL:
 * a staging table). A file malformed part-way keeps the rows read before the
 * problem, except under --strict.
 */
export async function commitWholeFile(
  db: Db,
  rows: AsyncIterable<CheckedRow>,
  run: ImportRun,
  firstLoad: FirstLoad | null,
): Promise<ImportCounts> {
  const { orgId, strict } = run.options;
  // Set inside the transaction's callback, so TypeScript must not narrow it to null here.
  let fileError = null as ImportFileError | null;
  let line = 0;
  let firstLine = 0;
  try {
    await db.transaction().execute(async (trx) => {
      // Take the write lock before looking: no other writer can add users to the organization while this runs.
      await createOrgService(db).bumpWriteVersion(trx, orgId);
      await firstLoad?.prepare(trx);
      try {
        for await (const batch of batches(rows, run.options.batchSize ?? BATCH)) {
          line = batch[0]?.line ?? line;
          firstLine ||= line;
          await run.processBatch(trx, batch);
          run.commit();
        }
      } catch (error) {
        if (strict || !(error instanceof ImportFileError)) throw error;
        fileError = error;
      }
      if ((strict && run.counts.rejected > 0) || !run.changedAny) throw ROLLBACK;
      // Finishing works on every row at once (PostgreSQL moves the staged users): a failure there is the whole file's.
      line = firstLine;
      await firstLoad?.finish(trx);
      await run.finished();
    });
  } catch (error) {
    if (error === ROLLBACK) {
      if (fileError) throw withAccount(fileError, run);
      return run.counts;
    }
    if (error instanceof OrganizationNotEmpty) throw error;
    if (error instanceof ImportFileError || strict) throw withAccount(error, run);
    throw new ImportBatchError(
      line,
      error,
      'nothing was imported: a first load into an organization with no users is one transaction',
    );
  }
  if (fileError) throw withAccount(fileError, run);
  return run.counts;
}

/**
 * The rows in batches, reading one batch ahead: while a batch waits on
 * PostgreSQL, the next is parsed and checked (the two processes run on
 * separate cores). With SQLite every query runs on this thread, so nothing
 * overlaps, and reading ahead costs only one batch of memory.
 */
async function* batches<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  const source = chunked(items, size);
  let next = source.next();
  for (;;) {
    const current = await next;
    if (current.done) return;
    next = source.next();
    // A failure reading ahead surfaces when that batch is awaited; until then it must not count as unhandled.
    next.catch(() => {});
    yield current.value;
  }
}

async function* chunked<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  try {
    for await (const item of items) {
      batch.push(item);
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
  } catch (error) {
    // The rows read before a break are a batch like any other: imported or reported before the error surfaces.
    if (batch.length > 0) yield batch;
    throw error;
  }
  if (batch.length > 0) yield batch;
}
