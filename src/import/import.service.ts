/**
 * The import's rules: each checked row upserts one user (by user_id when
 * given, else by username case-insensitively), in batched transactions. A row
 * that would change nothing is counted `unchanged` and not written, so
 * importing a file twice changes nothing the second time.
 */
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { appendAudit, CLI_ACTOR, diffFields } from '../audit/audit.repository.js';
import { insertBillingGroup, syncIdSequences } from '../billing-groups/billing-group.repository.js';
import type { Dialect } from '../db/connect.js';
import type { Database, Db, NewUserRow, UserRow } from '../db/schema.js';
import { insertGroup } from '../groups/group.repository.js';
import { bumpWriteVersion } from '../orgs/org.repository.js';
import { fold } from '../shared/text.js';
import { nowTimestamp } from '../shared/timestamps.js';
import { splitIds, userRowToStoredUser, userRowToUser, userToRow, writeAccessRows, type StoredUser } from '../users/user.repository.js';
import {
  findAccessIds,
  findAccessIdsOutsideOrg,
  findRootBillingGroupByName,
  findUsersByIdsOrFolds,
  insertAccessRows,
  insertUsers,
  organizationIsEmpty,
  replaceImportedUserRow,
} from './import.repository.js';
import { refreshUserStatistics, relaxBatchCommit, restoreIndexes, setIndexesAside } from './import.tuning.js';
import type { CheckedRow } from './import.rows.js';
import { ImportBatchError, ImportFileError } from './import.errors.js';
import type { FieldProblem, UserInput } from './import.rules.js';

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
  /** Called after each batch with the running counts. */
  onProgress?(counts: Readonly<ImportCounts>): void;
}

/** Billing groups created by --create-missing are roots; the groups it creates hang on this root (created once per organization). */
export const IMPORTED_GROUPS_HOLDER = 'Imported groups';

const BATCH = 2000;
/** Refresh the planner's statistics once this many users were created, and again each time that count doubles. */
const STATISTICS_FROM = 10_000;
const ROLLBACK = Symbol('rollback');
type Trx = Transaction<Database>;

interface Planned {
  readonly row: CheckedRow;
  readonly target: UserRow | undefined;
  readonly next: NewUserRow;
}

/**
 * Imports the rows into the organization; returns the counts (with --strict and a bad row, nothing was written).
 *
 * Three ways to write: --strict runs one transaction for the whole file; a
 * first load into an organization with no users (SQLite) runs one transaction
 * with the user tables' secondary indexes set aside and rebuilt at its end;
 * otherwise each batch commits on its own, so an interrupted import keeps what
 * it wrote and re-running it finishes the job. A file that turns out malformed
 * part-way keeps the rows before the problem, except under --strict.
 */
export async function importUsers(db: Db, rows: AsyncIterable<CheckedRow>, options: ImportOptions, hooks: ImportHooks): Promise<ImportCounts> {
  const run = new ImportRun(options, hooks);
  await run.start(db);
  const firstLoad = options.dialect === 'sqlite' && (await organizationIsEmpty(db, options.orgId));
  if (options.strict || firstLoad) {
    let fileError: ImportFileError | null = null;
    let line = 0;
    try {
      await db.transaction().execute(async (trx) => {
        // Take the write lock before looking: no other writer can add users to the organization while this runs.
        await bumpWriteVersion(trx, options.orgId);
        const aside = firstLoad && (await organizationIsEmpty(trx, options.orgId)) ? await setIndexesAside(trx) : null;
        try {
          for await (const batch of batches(rows, options.batchSize ?? BATCH)) {
            line = batch[0]?.line ?? line;
            await run.processBatch(trx, batch);
            run.commit();
          }
        } catch (error) {
          // A first load keeps the rows read before the file went bad, as the batched path does.
          if (options.strict || !(error instanceof ImportFileError)) throw error;
          fileError = error;
        }
        if ((options.strict && run.counts.rejected > 0) || !run.changedAny) throw ROLLBACK;
        if (aside) await restoreIndexes(trx, options.orgId, aside);
      });
    } catch (error) {
      if (error === ROLLBACK) {
        if (fileError) throw fileError;
        return run.counts;
      }
      if (error instanceof ImportFileError || options.strict) throw error;
      throw new ImportBatchError(line, error, 'nothing was imported: a first load into an organization with no users is one transaction');
    }
    if (fileError) throw fileError;
    return run.counts;
  }
  for await (const batch of batches(rows, options.batchSize ?? BATCH)) {
    try {
      await db.transaction().execute(async (trx) => {
        // Nothing to write: roll back, so that even write_version stays as it was.
        if (!(await run.processBatch(trx, batch))) throw ROLLBACK;
      });
    } catch (error) {
      if (error !== ROLLBACK) throw new ImportBatchError(batch[0]?.line ?? 0, error, `the rows before line ${batch[0]?.line ?? 0} were imported`);
    }
    run.commit();
  }
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
  for await (const item of items) {
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

const toIds = (list: readonly string[] | undefined) => (list ?? []).map(Number);

class ImportRun {
  readonly counts: ImportCounts = { imported: 0, updated: 0, unchanged: 0, rejected: 0 };
  changedAny = false;
  /** How many users the import had created when it last refreshed the planner's statistics. */
  private analyzedAt = 0;
  private billingGroups = new Set<number>();
  private groups = new Set<number>();
  /** Internal id of every user a row of this file resolved to → that row's line (to name duplicates). */
  private readonly seen = new LineByPk();
  private pending: { billingGroups: number[]; groups: number[] } = { billingGroups: [], groups: [] };

  constructor(
    private readonly options: ImportOptions,
    private readonly hooks: ImportHooks,
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

  /** Resolves, checks and writes one batch in the transaction; returns whether it wrote anything. */
  async processBatch(trx: Trx, batch: readonly CheckedRow[]): Promise<boolean> {
    const { orgId } = this.options;
    await bumpWriteVersion(trx, orgId);
    await relaxBatchCommit(trx, this.options.dialect);
    const rejections: Rejection[] = [];
    const good = batch.filter((row) => {
      if (row.problems.length === 0) return true;
      rejections.push({ line: row.line, raw: row.raw, problems: row.problems });
      return false;
    });

    const givenIds = [...new Set(good.flatMap((r) => (r.input.user_id ? [r.input.user_id] : [])))];
    const givenFolds = [...new Set(good.flatMap((r) => (r.input.username !== undefined ? [fold(r.input.username)] : [])))];
    const byId = new Map<string, UserRow>();
    const byFold = new Map<string, UserRow>();
    const { rows: existing, elsewhere } = await findUsersByIdsOrFolds(trx, this.options.dialect, orgId, givenIds, givenFolds);
    for (const u of existing) {
      byId.set(u.user_id, u);
      byFold.set(u.username_fold, u);
    }
    this.foreignIds = await this.findForeignAccessIds(trx, good);
    this.batchPending = { billingGroups: new Set(), groups: new Set() };

    const batchIds = new Map<string, number>();
    const batchFolds = new Map<string, number>();
    const plans: Planned[] = [];
    for (const row of good) {
      const problems: FieldProblem[] = [];
      const plan = this.plan(row, { byId, byFold, elsewhere, batchIds, batchFolds }, problems);
      if (problems.length > 0 || !plan) rejections.push({ line: row.line, raw: row.raw, problems });
      else plans.push(plan);
    }

    const inserts = plans.filter((p) => !p.target);
    const updates = plans.filter((p) => p.target && !sameUser(p.target, p.next));
    this.counts.unchanged += plans.length - inserts.length - updates.length;
    for (const p of plans) if (p.target) this.seen.set(p.target.id, p.row.line);

    const changed = inserts.length > 0 || updates.length > 0;
    if (changed) await this.write(trx, inserts, updates);
    this.counts.imported += inserts.length;
    this.counts.updated += updates.length;
    this.counts.rejected += rejections.length;
    if (this.counts.imported >= Math.max(STATISTICS_FROM, 2 * this.analyzedAt)) {
      this.analyzedAt = this.counts.imported;
      await refreshUserStatistics(trx, this.options.dialect);
    }
    this.changedAny ||= changed;
    rejections.sort((a, b) => a.line - b.line);
    for (const r of rejections) this.hooks.onRejected(r);
    this.hooks.onProgress?.(this.counts);
    return changed;
  }

  /** Which unknown billing group / group ids the batch names belong to other organizations (only with --create-missing). */
  private async findForeignAccessIds(trx: Trx, rows: readonly CheckedRow[]) {
    const unknownBg = new Set<number>();
    const unknownG = new Set<number>();
    for (const r of rows) {
      for (const id of toIds(r.input.billing_groups)) if (!this.billingGroups.has(id)) unknownBg.add(id);
      for (const id of toIds(r.input.group_owners)) if (!this.groups.has(id)) unknownG.add(id);
    }
    if (!this.options.createMissing) return { billingGroups: new Set<number>(), groups: new Set<number>() };
    return {
      billingGroups: unknownBg.size > 0 ? await findAccessIdsOutsideOrg(trx, this.options.orgId, 'billing_groups', [...unknownBg]) : new Set<number>(),
      groups: unknownG.size > 0 ? await findAccessIdsOutsideOrg(trx, this.options.orgId, 'groups', [...unknownG]) : new Set<number>(),
    };
  }

  /** Decides what one good row does (insert, update or nothing), or records why it cannot be imported. */
  private plan(
    row: CheckedRow,
    ctx: {
      byId: Map<string, UserRow>;
      byFold: Map<string, UserRow>;
      elsewhere: Set<string>;
      batchIds: Map<string, number>;
      batchFolds: Map<string, number>;
    },
    problems: FieldProblem[],
  ): Planned | null {
    const { input, line } = row;
    const userId = input.user_id;
    let target: UserRow | undefined;
    if (userId !== undefined) {
      const first = ctx.batchIds.get(userId);
      if (first !== undefined) problems.push({ field: 'user_id', reason: `${userId} appears again in this file (first on line ${first}); a file may name each user once` });
      target = ctx.byId.get(userId);
      if (!target && ctx.elsewhere.has(userId)) problems.push({ field: 'user_id', reason: `${userId} is the user_id of a user in another organization; user_ids are unique across Roster` });
    } else if (input.username !== undefined) {
      target = ctx.byFold.get(fold(input.username));
    } else {
      problems.push({ field: '(row)', reason: 'gives neither user_id nor username, so it names no user' });
      return null;
    }
    if (target) {
      const first = this.seen.get(target.id);
      if (first !== undefined) problems.push({ field: userId !== undefined ? 'user_id' : 'username', reason: `names the same user as line ${first} of this file; a file may name each user once` });
    }
    if (input.username !== undefined) {
      const f = fold(input.username);
      const first = ctx.batchFolds.get(f);
      const owner = ctx.byFold.get(f);
      if (first !== undefined) {
        problems.push({ field: 'username', reason: `${JSON.stringify(input.username)} appears again in this file (first on line ${first}); usernames are unique, ignoring case` });
      } else if (owner && owner.id !== target?.id) {
        const ownerLine = this.seen.get(owner.id);
        problems.push({
          field: 'username',
          reason:
            ownerLine !== undefined
              ? `${JSON.stringify(input.username)} is already used by line ${ownerLine} of this file; usernames are unique, ignoring case`
              : `${JSON.stringify(input.username)} is already taken by user ${owner.user_id}; usernames are unique, ignoring case`,
        });
      }
    }
    const merged = this.merge(input, target, problems, row.source === 'json' ? 'access.' : '');
    if (problems.length > 0 || !merged) return null;

    let next = userToRow(this.options.orgId, merged, (target?.version ?? 0) + 1);
    if (target && input.last_updated_date === undefined && !sameUser(target, next)) {
      // A change the file does not date is dated now, as any write is.
      next = userToRow(this.options.orgId, { ...merged, last_updated_date: nowTimestamp() }, target.version + 1);
    }
    ctx.batchIds.set(next.user_id, line);
    ctx.batchFolds.set(next.username_fold, line);
    return { row, target, next };
  }

  /** The whole user the row describes: its fields over the existing user's, or over a new user's defaults. */
  private merge(input: UserInput, target: UserRow | undefined, problems: FieldProblem[], listPrefix: string): StoredUser | null {
    const base = target ? userRowToStoredUser(target) : null;
    if (!base) {
      for (const field of ['username', 'name', 'call_detail_level', 'roles'] as const) {
        if (input[field] === undefined) problems.push({ field, reason: 'is required for a new user (no user of this organization has this user_id or username)' });
      }
    }
    const status = input.status ?? base?.status ?? 'awaiting_approval';
    if (input.deactivation_date !== undefined && status !== 'deactivated') {
      problems.push({ field: 'deactivation_date', reason: `is only kept for a deactivated user, and this user's status is "${status}"; leave it empty` });
    }
    this.checkAccess(input.billing_groups, 'billing group', listPrefix + 'billing_groups', problems, 'billingGroups');
    this.checkAccess(input.group_owners, 'group', listPrefix + 'group_owners', problems, 'groups');
    if (problems.length > 0) return null;
    const lastUpdated = input.last_updated_date ?? base?.last_updated_date ?? nowTimestamp();
    return {
      user_id: input.user_id ?? base?.user_id ?? randomUUID(),
      username: input.username ?? base!.username,
      name: input.name ?? base!.name,
      email: input.email ?? base?.email ?? '',
      phone: input.phone ?? base?.phone ?? '',
      call_detail_level: input.call_detail_level ?? base!.call_detail_level,
      restrict_recording_download: input.restrict_recording_download ?? base?.restrict_recording_download ?? false,
      status,
      last_login_date: input.last_login_date !== undefined ? input.last_login_date : (base?.last_login_date ?? null),
      last_updated_date: lastUpdated,
      deactivation_date: status === 'deactivated' ? (input.deactivation_date ?? (base?.status === 'deactivated' ? base.deactivation_date : null) ?? null) : null,
      roles: input.roles ?? base!.roles,
      access: {
        billing_groups: input.billing_groups ?? base?.access.billing_groups ?? [],
        group_owners: input.group_owners ?? base?.access.group_owners ?? [],
      },
    };
  }

  private checkAccess(list: readonly string[] | undefined, what: string, field: string, problems: FieldProblem[], kind: 'billingGroups' | 'groups'): void {
    const known = kind === 'billingGroups' ? this.billingGroups : this.groups;
    for (const id of toIds(list)) {
      if (known.has(id) || this.batchPending[kind].has(id)) continue;
      if (!this.options.createMissing) {
        problems.push({ field, reason: `${what} ${id} does not exist in this organization; create it first, or import with --create-missing` });
      } else if (this.foreignIds[kind].has(id)) {
        problems.push({ field, reason: `${what} ${id} belongs to another organization, so it cannot be created here` });
      } else {
        this.batchPending[kind].add(id);
      }
    }
  }

  /** This batch: unknown ids another organization holds, and unknown ids to be created. */
  private foreignIds = { billingGroups: new Set<number>(), groups: new Set<number>() };
  private batchPending = { billingGroups: new Set<number>(), groups: new Set<number>() };

  private async write(trx: Trx, inserts: readonly Planned[], updates: readonly Planned[]): Promise<void> {
    const { orgId } = this.options;
    await this.createMissing(trx, inserts.concat(updates));

    if (inserts.length > 0) {
      const pks = await insertUsers(trx, this.options.dialect, inserts.map((p) => p.next));
      const bg: { user_pk: number; id: number }[] = [];
      const go: { user_pk: number; id: number }[] = [];
      for (const p of inserts) {
        const pk = pks.get(p.next.user_id)!;
        this.seen.set(pk, p.row.line);
        for (const id of splitIds(p.next.billing_groups)) bg.push({ user_pk: pk, id });
        for (const id of splitIds(p.next.group_owners)) go.push({ user_pk: pk, id });
      }
      await insertAccessRows(trx, this.options.dialect, orgId, bg, go);
      await appendAudit(trx, {
        orgId,
        actor: CLI_ACTOR,
        action: 'user.import',
        targetType: 'user',
        targetId: `${this.options.label}:${inserts[0]!.row.line}-${inserts[inserts.length - 1]!.row.line}`,
        changes: { created: { before: null, after: inserts.map((p) => p.next.user_id) } },
      });
    }
    for (const { target, next } of updates) {
      await replaceImportedUserRow(trx, orgId, target!.id, next);
      if (target!.billing_groups !== next.billing_groups || target!.group_owners !== next.group_owners) {
        await writeAccessRows(trx, orgId, target!.id, next.billing_groups, next.group_owners);
      }
      const after = { ...next, id: target!.id } as UserRow;
      await appendAudit(trx, {
        orgId,
        actor: CLI_ACTOR,
        action: 'user.import',
        targetType: 'user',
        targetId: next.user_id,
        changes: diffFields(userRowToUser(target!), userRowToUser(after)),
      });
    }
  }

  /** Creates the billing groups and groups this batch's rows name that do not exist yet (--create-missing). */
  private async createMissing(trx: Trx, plans: readonly Planned[]): Promise<void> {
    const { orgId, dialect } = this.options;
    const named = (list: string, known: Set<number>) => splitIds(list).filter((id) => !known.has(id));
    const bg = [...new Set(plans.flatMap((p) => named(p.next.billing_groups, this.billingGroups)))];
    const g = [...new Set(plans.flatMap((p) => named(p.next.group_owners, this.groups)))];
    if (bg.length === 0 && g.length === 0) return;
    for (const id of bg) await insertBillingGroup(trx, { id, org_id: orgId, name: `Billing group ${id}`, status: 'active', parent_id: null, depth: 1 });
    await syncIdSequences(trx, dialect);
    if (g.length > 0) {
      const holder =
        (await findRootBillingGroupByName(trx, orgId, IMPORTED_GROUPS_HOLDER)) ??
        (await insertBillingGroup(trx, { org_id: orgId, name: IMPORTED_GROUPS_HOLDER, status: 'active', parent_id: null, depth: 1 }));
      for (const id of g) await insertGroup(trx, { id, org_id: orgId, name: `Group ${id}`, billing_group_id: holder, status: 'active' });
      await syncIdSequences(trx, dialect);
    }
    this.pending = { billingGroups: bg, groups: g };
  }
}

/**
 * A map from a user's internal id to a line number, in 16 KB pages of a
 * typed array: a million users take ~4 MB where a Map took ~100 MB of heap.
 */
class LineByPk {
  private readonly pages = new Map<number, Uint32Array>();

  get(pk: number): number | undefined {
    const line = this.pages.get(pk >>> 12)?.[pk & 4095];
    return line ? line : undefined;
  }

  set(pk: number, line: number): void {
    let page = this.pages.get(pk >>> 12);
    if (!page) this.pages.set(pk >>> 12, (page = new Uint32Array(4096)));
    page[pk & 4095] = line;
  }
}

/** True when writing `next` would change nothing a reader sees. */
function sameUser(row: UserRow, next: NewUserRow): boolean {
  return (
    row.username === next.username &&
    row.name === next.name &&
    row.email === next.email &&
    row.phone === next.phone &&
    row.call_detail_level === next.call_detail_level &&
    row.restrict_recording_download === next.restrict_recording_download &&
    row.status === next.status &&
    row.last_login_date === next.last_login_date &&
    row.last_updated_date === next.last_updated_date &&
    (row.status !== 'deactivated' || row.deactivation_date === next.deactivation_date) &&
    row.roles === next.roles &&
    row.billing_groups === next.billing_groups &&
    row.group_owners === next.group_owners
  );
}
