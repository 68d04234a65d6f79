import { setImmediate as nextTurn } from 'node:timers/promises';
import type { SearchIndexSettings } from '../config.js';
import { CHANGE_LOG_VERSIONS_KEPT } from '../db/migrations/010_change_log.js';
import type { ReadNow } from '../db/connect.js';
import type { Reads } from '../db/reads.js';
import { QueryTimeoutError } from '../db/read-pool.js';
import type { Db, UserRow } from '../db/tables.js';
import { createOrgService } from '../orgs/org.service.js';
import type { ChangedUser, UserChange } from './user.changes.js';
import { findChangesSince } from './user.changes.repository.js';
import { countUsers, findUsersAfter, NO_FILTER, type UserFilter, type UserSort } from './user.list.repository.js';
import { findUsersByIds, findUsersByUserIds } from './user.repository.js';
import { userRowToJson } from './user.mapper.js';
import { sameIndexedColumns, SearchIndexBuilder, type OrgSearchIndex } from './user.search-index.js';

/**
 * Keeps this process's per-organization search indexes (user.search-index.ts) and answers substring
 * searches from them (docs/performance.md, "The in-memory search index"): an organization's index is
 * built in the background the first time it is searched, follows the change log (migration 010) as it
 * grows, whether searches come or not, is brought up to the request's write_version before each answer,
 * and is rebuilt only when the log cannot bring it there.
 */

/** How far this process's indexes are (for /readyz and /metrics): no organization names or ids. */
export interface SearchIndexProgress {
  readonly state: 'off' | 'building' | 'ready';
  readonly organizations_ready: number;
  readonly organizations_building: number;
  readonly rows_indexed: number;
  readonly rows_total: number;
  readonly bytes: number;
}

interface Build {
  rows: number;
  total: number;
}

/** A build's attempt gave up: the log moved on past what it keeps, or logged a change it cannot apply. */
class LogOverrun extends Error {}

interface OrgState {
  index?: OrgSearchIndex;
  build?: Build;
  reading?: Promise<boolean>;
  /** Not indexed (too small, over the bound, or a failed build): not tried again before this time. */
  retryAt?: number;
}

// Pages ending past this many rows take their total from the index and their rows from the database.
const PAGE_BOUND = 2000;
// Changes read per query of the log, and queries per catch-up; an index further behind is rebuilt.
const LOG_READ_LIMIT = 1000;
const LOG_READS_MAX = 20;
// How often an index (and a build) reads what the log gained: well before the log prunes what it has not
// read (CHANGE_LOG_VERSIONS_KEPT versions, one per write), even at thousands of writes a second.
const FOLLOW_MS = 100;
// Changes a build keeps while it scans; past this many it starts over.
const BUILD_PENDING_MAX = 200_000;
const RETRY_MS = 60_000;
const BUILD_ATTEMPTS = 3;
// The smallest chunk a build reads when reads of bigger ones run past the time limit.
const MIN_CHUNK = 500;
// Rows indexed per step of a build (about 5 ms each).
const ROWS_PER_STEP = 1000;
const BY_USERNAME: UserSort = { field: 'username', order: 'asc' };

// The most needles a search the index answers may have: its work runs on the event loop's thread, so a
// search of many needles (or of one character, a scan of every row) goes to the database, off that thread.
const INDEX_NEEDLES_MAX = 4;

/** Whether the index may answer the search: a few needles of 2+ code points each. */
function indexable(filter: UserFilter): boolean {
  const needles = [...filter.usernames, ...filter.names];
  return needles.length <= INDEX_NEEDLES_MAX && needles.every((n) => [...n].length >= 2);
}

/** A search put to the index: one page of the organization's users as of write_version `version` or later. */
export interface IndexQuery {
  readonly orgId: number;
  readonly version: number;
  readonly filter: UserFilter;
  readonly sort: UserSort;
  readonly offset: number;
  readonly limit: number;
}

/**
 * An answer from the index: the exact total and, but past PAGE_BOUND, the page's rows in order (the columns
 * the index keeps) with each one's answer (userRowToJson).
 */
export interface IndexAnswer {
  readonly total: number;
  readonly page?: { readonly users: readonly ChangedUser[]; readonly answers: readonly string[] };
}

/**
 * Applies a logged change to an index that reflects version `from`, given the log's `current` version;
 * false when the index cannot apply it. A marker at the version the index holds when no write followed is
 * already reflected: only a writer that bumps first logs at the current version, and it committed before.
 */
const applier =
  (index: OrgSearchIndex, from: number) =>
  (change: UserChange, current: number): boolean =>
    index.apply(change) || (change.version === from && current === from);

export class SearchIndexes {
  private readonly orgs = new Map<number, OrgState>();
  private readonly builds = new Set<Promise<void>>();
  private closed = false;
  private readonly follower: NodeJS.Timeout;
  /** Searches answered by an index, and by the database instead, since start. */
  readonly counts = { index: 0, database: 0 };

  constructor(
    private readonly db: Db,
    private readonly reads: Reads,
    private readonly settings: SearchIndexSettings,
    /** SQLite's connection.readNow: a page's rows read at once, without Kysely's queue. */
    private readonly readNow?: ReadNow,
  ) {
    // Writes without searches must not leave an index behind the log's pruning (a rebuild then): follow it.
    this.follower = setInterval(() => this.followAll(), FOLLOW_MS).unref();
  }

  /** Brings every built index up to its organization's latest version: one read of its log each. */
  private followAll(): void {
    for (const [orgId, state] of this.orgs) if (state.index && !state.reading) void this.refresh(orgId, state);
  }

  /**
   * The organization's total and page for a query with a substring filter, as of write_version `version`
   * or later, or undefined when the database must answer (no index yet, a stale one, rows that disagree).
   */
  async answer(query: IndexQuery): Promise<IndexAnswer | undefined> {
    const answer = await this.tryAnswer(query);
    this.counts[answer ? 'index' : 'database']++;
    return answer;
  }

  private async tryAnswer({
    orgId,
    version,
    filter,
    sort,
    offset,
    limit,
  }: IndexQuery): Promise<IndexAnswer | undefined> {
    let state = this.orgs.get(orgId);
    if (!state) this.orgs.set(orgId, (state = {}));
    // A search the index would not answer does not start a build either.
    if (!indexable(filter)) return undefined;
    if (!state.index) {
      this.startBuild(orgId, state);
      return undefined;
    }
    // A page row that differs from its slot means a write the index has not applied: catch up, retry once.
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!(await this.catchUp(orgId, state, attempt === 0 ? version : (state.index?.high ?? 0) + 1))) return undefined;
      const page = state.index?.page(filter, sort, offset, limit, PAGE_BOUND);
      if (!page) return undefined;
      if (!page.users) return { total: page.total };
      const { users, answers } = page;
      const unread = users.flatMap((_, i) => (answers[i] === undefined ? [i] : []));
      if (unread.length === 0) return { total: page.total, page: { users, answers: answers as string[] } };
      // The rows whose answers the index does not hold: at most a chunk, by primary key, read straight on the
      // connection (as a single user is), without the time-limited transaction of costly reads (three more
      // round trips on PostgreSQL).
      const read = unread.map((i) => users[i]!);
      const rowIds = unread.map((i) => page.rowIds[i]!);
      const rows = new Map((await this.pageRows(orgId, read, rowIds)).map((r) => [r.user_id, r]));
      const filled = [...answers];
      const fits = unread.every((i) => {
        const row = rows.get(users[i]!.user_id);
        if (row === undefined || !sameIndexedColumns(row, users[i]!)) return false;
        filled[i] = userRowToJson(row);
        return true;
      });
      if (fits) return { total: page.total, page: { users, answers: filled as string[] } };
    }
    return undefined;
  }

  /**
   * A page's rows: by primary key where the index knows it, by user_id for rows appended since its build.
   * Either way the caller checks each row against its slot, so an id that no longer fits only costs a retry.
   */
  private async pageRows(orgId: number, users: readonly ChangedUser[], rowIds: readonly number[]): Promise<UserRow[]> {
    const ids = rowIds.filter((id) => id !== 0);
    const rows = ids.length > 0 ? await findUsersByIds(this.db, orgId, ids, this.readNow) : [];
    if (ids.length === users.length) return rows;
    const userIds = users.filter((_, i) => rowIds[i] === 0).map((u) => u.user_id);
    return [...rows, ...(await findUsersByUserIds(this.db, orgId, userIds, this.readNow))];
  }

  /** Brings the index up to `version` from the log (one read per organization at a time); false: none now. */
  private async catchUp(orgId: number, state: OrgState, version: number): Promise<boolean> {
    for (let round = 0; state.index && state.index.high < version && round < 2; round++)
      await this.refresh(orgId, state);
    return state.index !== undefined;
  }

  /**
   * Replays the organization's log into its index (one replay at a time, shared by whoever asks); an index
   * the log cannot bring up to date is dropped and rebuilt, one that changed much is rebuilt beside it.
   */
  private async refresh(orgId: number, state: OrgState): Promise<void> {
    const index = state.index;
    if (!index) return;
    state.reading ??= this.replay(orgId, index)
      .catch(() => false)
      .finally(() => (state.reading = undefined));
    if (await state.reading) {
      if (index.worthRebuilding) this.startBuild(orgId, state);
    } else if (state.index === index) {
      state.index = undefined;
      this.startBuild(orgId, state);
    }
  }

  /**
   * Applies the log's changes from the index's version on (see applier); false when they cannot be
   * applied (too many, pruned, or a marker).
   */
  private async replay(orgId: number, index: OrgSearchIndex): Promise<boolean> {
    const high = await this.readLog(orgId, index.high, applier(index, index.high));
    if (high === undefined) return false;
    index.high = high;
    return true;
  }

  /**
   * Visits the log's changes from version `from` on, oldest first, in reads of LOG_READ_LIMIT; returns the
   * version they bring the organization to, or undefined when they cannot (the log pruned past `from`, the
   * organization gone, too far behind, or `visit` refused one). A read cut within a version reads that
   * version again from its start (a version logs at most a few hundred rows; re-applying them is harmless).
   */
  private async readLog(
    orgId: number,
    from: number,
    visit: (change: UserChange, current: number) => boolean,
  ): Promise<number | undefined> {
    for (let read = 0, since = from; read < LOG_READS_MAX; read++) {
      const { current, changes, truncated } = await findChangesSince(this.db, orgId, since, LOG_READ_LIMIT);
      if (current < since || since <= current - CHANGE_LOG_VERSIONS_KEPT) return undefined;
      for (const change of changes) if (!visit(change, current)) return undefined;
      if (!truncated) return current;
      const last = changes[changes.length - 1]!.version;
      if (last === since) return undefined;
      since = last;
    }
    return undefined;
  }

  private startBuild(orgId: number, state: OrgState): void {
    if (state.build || this.closed || (state.retryAt ?? 0) > Date.now()) return;
    const build: Build = { rows: 0, total: 0 };
    state.build = build;
    const done = this.build(orgId, state, build)
      .then((index) => {
        if (index) state.index = index;
        else state.retryAt = Date.now() + RETRY_MS;
      })
      .catch(() => {
        state.retryAt = Date.now() + RETRY_MS;
      })
      .finally(() => {
        state.build = undefined;
        this.builds.delete(done);
      });
    this.builds.add(done);
  }

  /** A new index of the organization, or undefined when it is not to be indexed now. */
  private async build(orgId: number, state: OrgState, build: Build): Promise<OrgSearchIndex | undefined> {
    const total = await this.reads.read((rdb) => countUsers(rdb, orgId, NO_FILTER));
    const others = this.indexedRows() - (state.index?.rows ?? 0);
    if (total < this.settings.minUsers || others + total > this.settings.maxUsers) return undefined;
    build.total = total;
    for (let attempt = 0; attempt < BUILD_ATTEMPTS && !this.closed; attempt++) {
      const index = await this.buildOnce(orgId, build).catch((error: unknown) => {
        if (error instanceof LogOverrun) return undefined;
        throw error;
      });
      if (index) return index;
    }
    return undefined;
  }

  /**
   * One attempt at a build: a scan in username order, while the log's changes since the scan began are
   * kept (read every FOLLOW_MS, before the log prunes them), then applied to the finished index in order.
   */
  private async buildOnce(orgId: number, build: Build): Promise<OrgSearchIndex | undefined> {
    build.rows = 0;
    // Read before the scan: the changes from it on fix every row that changed while the scan ran.
    const version = await createOrgService(this.db).findWriteVersion(orgId);
    const pending: UserChange[] = [];
    let polled = version;
    let polledAt = Date.now();
    const follow = async () => {
      if (Date.now() - polledAt < FOLLOW_MS) return;
      const high = await this.readLog(orgId, polled, (change) => pending.push(change) <= BUILD_PENDING_MAX);
      if (high === undefined) throw new LogOverrun();
      [polled, polledAt] = [high, Date.now()];
    };
    const builder = new SearchIndexBuilder();
    let chunk = this.settings.chunkRows;
    for (let after: { key: string | null; userId: string } | null = null; !this.closed;) {
      const from: { key: string | null; userId: string } | null = after;
      const size = chunk;
      const rows: UserRow[] | undefined = await this.reads
        .read((rdb): Promise<UserRow[]> => findUsersAfter(rdb, orgId, NO_FILTER, BY_USERNAME, from, size))
        .catch((error: unknown) => {
          // A busy database: read smaller chunks rather than give the build up.
          if (!(error instanceof QueryTimeoutError) || chunk <= MIN_CHUNK) throw error;
          chunk = Math.max(MIN_CHUNK, Math.floor(chunk / 2));
          return undefined;
        });
      if (rows === undefined) continue;
      // Indexing a row costs microseconds: a slice at a time keeps each step of the event loop short.
      for (let i = 0; i < rows.length; i += ROWS_PER_STEP) {
        for (const row of rows.slice(i, i + ROWS_PER_STEP)) builder.add(row);
        build.rows = builder.rows;
        await nextTurn();
      }
      await follow();
      if (rows.length < size) break;
      after = { key: rows[rows.length - 1]!.username_fold, userId: rows[rows.length - 1]!.user_id };
    }
    const index = await builder.finish(version, async () => {
      await nextTurn();
      await follow();
    });
    if (this.closed) return undefined;
    // The kept changes, as replay would apply them from `version`; then the rest of the log.
    const apply = applier(index, version);
    if (!pending.every((change) => apply(change, polled))) return undefined;
    index.high = polled;
    return (await this.replay(orgId, index)) ? index : undefined;
  }

  private indexedRows(): number {
    let rows = 0;
    for (const state of this.orgs.values()) rows += state.index?.rows ?? 0;
    return rows;
  }

  /** How far the indexes are: organizations ready and building, rows indexed of the rows to index. */
  progress(): SearchIndexProgress {
    let ready = 0;
    let building = 0;
    let indexed = 0;
    let total = 0;
    let bytes = 0;
    for (const state of this.orgs.values()) {
      // A build counts once it knows the organization is to be indexed (not while it counts its users).
      if (state.build && state.build.total > 0) {
        building++;
        indexed += state.build.rows;
        total += state.build.total;
      } else if (state.index) {
        ready++;
        indexed += state.index.rows;
        total += state.index.rows;
      }
      bytes += state.index?.bytes ?? 0;
    }
    return {
      state: building > 0 ? 'building' : 'ready',
      organizations_ready: ready,
      organizations_building: building,
      rows_indexed: indexed,
      rows_total: total,
      bytes,
    };
  }

  /** Stops building: awaits the builds under way, each at its next step. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.follower);
    await Promise.all(this.builds);
  }
}
