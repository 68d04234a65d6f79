/**
 * One import in progress: its counts, the organization's billing group and
 * group ids as the import creates more, and what it does with each batch of
 * rows (look up, plan, write, report) in the transaction a strategy gives it.
 */
import type { Transaction } from 'kysely';
import type { Dialect } from '../db/connect.js';
import type { Database, Db, UserRow } from '../db/tables.js';
import { createOrgService } from '../orgs/org.service.js';
import { usernameSkeleton } from '../db/username-keys.js';
import { RowMatcher } from './import.matcher.js';
import { planBatch, type AccessIds, type CreatePlan, type KeepPlan } from './import.planner.js';
import { findAccessIds, findAccessIdsOutsideOrg, findUsersByIdsOrSkeletons } from './import.repository.js';
import type { CheckedRow } from './import.rows.js';
import type { FieldProblem } from './import.rules.js';
import { refreshUserStatistics, relaxBatchCommit } from './import.tuning.js';
import { writePlannedBatch, type WriteOptions, type WrittenBatch } from './import.writer.js';

export interface ImportOptions {
  readonly orgId: number;
  readonly dialect: Dialect;
  /** Create the billing groups and groups the file names that the organization lacks, keeping their ids. */
  readonly createMissing: boolean;
  /** Write nothing unless every row is good (one transaction for the whole file). */
  readonly strict: boolean;
  /** Rows per transaction. */
  readonly batchSize?: number;
  /** Names the import in its audit entries (e.g. the file name). */
  readonly label: string;
}

/** A row that was not imported, with every reason. */
export interface Rejection {
  readonly line: number;
  readonly raw: string;
  readonly problems: readonly FieldProblem[];
}

export interface ImportCounts {
  imported: number;
  updated: number;
  unchanged: number;
  rejected: number;
}

export interface ImportHooks {
  /** Called for each rejected row, in line order within a batch. */
  onRejected(rejection: Rejection): void;
  /** Called after each batch with the running counts, and once more when the rows are in, before the commit (awaited). */
  onProgress?(counts: Readonly<ImportCounts>): void | Promise<void>;
}

/**
 * Where a batch's users are looked up and written: the users table, or a
 * PostgreSQL first load's staging table (import.stage.ts), which holds the
 * users the load has created so far until one insert moves them all.
 */
export interface BatchSink {
  /** The organization's users (or staged rows, `id` their line) with these user_ids or username skeletons, and the user_ids other organizations hold. */
  findUsers(
    trx: Transaction<Database>,
    dialect: Dialect,
    orgId: number,
    userIds: readonly string[],
    skeletons: readonly string[],
  ): Promise<{ rows: UserRow[]; elsewhere: Set<string> }>;
  write(
    trx: Transaction<Database>,
    options: WriteOptions,
    known: { readonly billingGroups: ReadonlySet<number>; readonly groups: ReadonlySet<number> },
    inserts: readonly CreatePlan[],
    updates: readonly KeepPlan[],
  ): Promise<WrittenBatch>;
  /** Refreshes the planner's statistics of what `findUsers` reads, as the load grows. */
  refreshStatistics(trx: Transaction<Database>, dialect: Dialect): Promise<void>;
}

/** The row path: batches look up and write the users table itself. */
const USERS_TABLE: BatchSink = {
  findUsers: findUsersByIdsOrSkeletons,
  write: writePlannedBatch,
  refreshStatistics: refreshUserStatistics,
};

/** Refresh the planner's statistics once this many users were created, and again each time that count doubles. */
const STATISTICS_FROM = 10_000;
const toIds = (list: readonly string[] | undefined) => (list ?? []).map(Number);

export class ImportRun {
  readonly counts: ImportCounts = { imported: 0, updated: 0, unchanged: 0, rejected: 0 };
  changedAny = false;
  /** How many users the import had created when it last refreshed the planner's statistics. */
  private analyzedAt = 0;
  private billingGroups = new Set<number>();
  private groups = new Set<number>();
  private readonly matcher = new RowMatcher();
  /** Ids the last batch created, known once its transaction commits. */
  private pending: { billingGroups: readonly number[]; groups: readonly number[] } = { billingGroups: [], groups: [] };

  constructor(
    readonly options: ImportOptions,
    private readonly hooks: ImportHooks,
    private readonly sink: BatchSink = USERS_TABLE,
  ) {}

  async start(db: Db): Promise<void> {
    const ids = await db.transaction().execute((trx) => findAccessIds(trx, this.options.orgId));
    this.billingGroups = ids.billingGroups;
    this.groups = ids.groups;
  }

  /** After a batch was written: the ids it created now exist. */
  commit(): void {
    for (const id of this.pending.billingGroups) this.billingGroups.add(id);
    for (const id of this.pending.groups) this.groups.add(id);
    this.pending = { billingGroups: [], groups: [] };
  }

  /** Looks up, plans and writes one batch in the transaction; returns whether it wrote anything. */
  async processBatch(trx: Transaction<Database>, batch: readonly CheckedRow[]): Promise<boolean> {
    const { orgId, dialect } = this.options;
    await createOrgService(trx).bumpWriteVersion(trx, orgId);
    await relaxBatchCommit(trx, dialect);
    const good = batch.filter((row) => row.problems.length === 0);
    const givenIds = [...new Set(good.flatMap((r) => (r.input.user_id ? [r.input.user_id] : [])))];
    const givenSkeletons = [
      ...new Set(good.flatMap((r) => (r.input.username !== undefined ? [usernameSkeleton(r.input.username)] : []))),
    ];
    this.matcher.startBatch(await this.sink.findUsers(trx, dialect, orgId, givenIds, givenSkeletons));
    const access: AccessIds = {
      billingGroups: this.billingGroups,
      groups: this.groups,
      ...(await this.findForeignAccessIds(trx, good)),
    };
    const plans = planBatch(batch, this.matcher, access, this.options);

    const inserts = plans.filter((p): p is CreatePlan => p.decision === 'create');
    const updates = plans.filter((p): p is KeepPlan => p.decision === 'update');
    const rejections = plans.flatMap((p) =>
      p.decision === 'reject' ? [{ line: p.row.line, raw: p.row.raw, problems: p.problems }] : [],
    );
    const changed = inserts.length > 0 || updates.length > 0;
    if (changed) {
      const written = await this.sink.write(trx, this.options, access, inserts, updates);
      for (const p of inserts) this.matcher.remember(written.userPks.get(p.next.user_id)!, p.row.line);
      this.pending = { billingGroups: written.billingGroups, groups: written.groups };
    }
    this.counts.imported += inserts.length;
    this.counts.updated += updates.length;
    this.counts.unchanged += plans.length - inserts.length - updates.length - rejections.length;
    this.counts.rejected += rejections.length;
    if (this.counts.imported >= Math.max(STATISTICS_FROM, 2 * this.analyzedAt)) {
      this.analyzedAt = this.counts.imported;
      await this.sink.refreshStatistics(trx, dialect);
    }
    this.changedAny ||= changed;
    rejections.sort((a, b) => a.line - b.line);
    for (const r of rejections) this.hooks.onRejected(r);
    await this.hooks.onProgress?.(this.counts);
    return changed;
  }

  /** The rows are in (a whole-file import, before its commit): tells the hooks once more. */
  async finished(): Promise<void> {
    await this.hooks.onProgress?.(this.counts);
  }

  /** Which unknown billing group / group ids the batch names belong to other organizations (only with --create-missing). */
  private async findForeignAccessIds(trx: Transaction<Database>, rows: readonly CheckedRow[]) {
    const none = { foreignBillingGroups: new Set<number>(), foreignGroups: new Set<number>() };
    if (!this.options.createMissing) return none;
    const unknownBg = new Set<number>();
    const unknownG = new Set<number>();
    for (const r of rows) {
      for (const id of toIds(r.input.billing_groups)) if (!this.billingGroups.has(id)) unknownBg.add(id);
      for (const id of toIds(r.input.group_owners)) if (!this.groups.has(id)) unknownG.add(id);
    }
    const { orgId } = this.options;
    return {
      foreignBillingGroups:
        unknownBg.size > 0
          ? await findAccessIdsOutsideOrg(trx, orgId, 'billing_groups', [...unknownBg])
          : none.foreignBillingGroups,
      foreignGroups:
        unknownG.size > 0 ? await findAccessIdsOutsideOrg(trx, orgId, 'groups', [...unknownG]) : none.foreignGroups,
    };
  }
}
