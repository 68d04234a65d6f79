import { setImmediate as nextTurn } from 'node:timers/promises';
import type { SearchIndexSettings } from '../config.js';
import { CHANGE_LOG_VERSIONS_KEPT } from '../db/migrations/010_change_log.js';
import type { Reads } from '../db/reads.js';
import { QueryTimeoutError } from '../db/read-pool.js';
import type { Db, UserRow } from '../db/tables.js';
import { createOrgService } from '../orgs/org.service.js';
import { findChangesSince } from './user.changes.repository.js';
import { countUsers, findUsersAfter, NO_FILTER, type UserFilter, type UserSort } from './user.list.repository.js';
import { findUsersByUserIds } from './user.repository.js';
import { sameIndexedColumns, SearchIndexBuilder, type OrgSearchIndex } from './user.search-index.js';

/**
 * Keeps this process's per-organization search indexes (user.search-index.ts) and answers substring
 * searches from them (docs/performance.md, "The in-memory search index"): an organization's index is
 * built in the background the first time it is searched, brought up to the request's write_version from
 * the change log (migration 010) before each answer, and rebuilt when the log cannot bring it there.
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

interface OrgState {
  index?: OrgSearchIndex;
  build?: Build;
  reading?: Promise<boolean>;
  /** Not indexed (too small, over the bound, or a failed build): not tried again before this time. */
  retryAt?: number;
}

// Pages ending past this many rows take their total from the index and their rows from the database.
const PAGE_BOUND = 2000;
// Changes read per catch-up; an index further behind is rebuilt.
const LOG_READ_LIMIT = 1000;
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

/** An answer from the index: the exact total and the page's rows in order (none past PAGE_BOUND). */
export interface IndexAnswer {
  readonly total: number;
  readonly rows?: UserRow[];
}

export class SearchIndexes {
  private readonly orgs = new Map<number, OrgState>();
  private readonly builds = new Set<Promise<void>>();
  private closed = false;
  /** Searches answered by an index, and by the database instead, since start. */
  readonly counts = { index: 0, database: 0 };

  constructor(
    private readonly db: Db,
    private readonly reads: Reads,
    private readonly settings: SearchIndexSettings,
  ) {}

  /**
   * The organization's total and page for a query with a substring filter, as of write_version `version`
   * or later, or undefined when the database must answer (no index yet, a stale one, rows that disagree).
   */
  async answer(
    orgId: number,
    version: number,
    filter: UserFilter,
    sort: UserSort,
    offset: number,
    limit: number,
  ): Promise<IndexAnswer | undefined> {
    const answer = await this.tryAnswer(orgId, version, filter, sort, offset, limit);
    this.counts[answer ? 'index' : 'database']++;
    return answer;
  }

  private async tryAnswer(
    orgId: number,
    version: number,
    filter: UserFilter,
    sort: UserSort,
    offset: number,
    limit: number,
  ): Promise<IndexAnswer | undefined> {
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
      const users = page.users;
      if (!users) return { total: page.total };
      if (users.length === 0) return { total: page.total, rows: [] };
      // At most a chunk of rows by primary key: bounded work, read straight on the connection (as a single
      // user is), without the time-limited transaction of costly reads (three more round trips on PostgreSQL).
      const ids = users.map((u) => u.user_id);
      const rows = new Map((await findUsersByUserIds(this.db, orgId, ids)).map((r) => [r.user_id, r]));
      const ordered = users.map((u) => rows.get(u.user_id));
      if (ordered.every((row, i) => row !== undefined && sameIndexedColumns(row, users[i]!)))
        return { total: page.total, rows: ordered as UserRow[] };
    }
    return undefined;
  }

  /** Brings the index up to `version` from the log (one read per organization at a time); false: none now. */
  private async catchUp(orgId: number, state: OrgState, version: number): Promise<boolean> {
    for (let round = 0; state.index && state.index.high < version && round < 2; round++) {
      const index = state.index;
      state.reading ??= this.replay(orgId, index).finally(() => (state.reading = undefined));
      if (await state.reading) {
        if (index.worthRebuilding) this.startBuild(orgId, state);
      } else if (state.index === index) {
        state.index = undefined;
        this.startBuild(orgId, state);
      }
    }
    return state.index !== undefined;
  }

  /**
   * Applies the log's changes from the index's version on; false when they cannot be applied (too many,
   * pruned, or a marker). A marker at the version the index holds when no write followed is already
   * reflected: only a writer that bumps first logs at the current version, and it committed before.
   */
  private async replay(orgId: number, index: OrgSearchIndex): Promise<boolean> {
    const from = index.high;
    const { current, changes, truncated } = await findChangesSince(this.db, orgId, from, LOG_READ_LIMIT);
    if (current < from || truncated || from <= current - CHANGE_LOG_VERSIONS_KEPT) return false;
    for (const change of changes)
      if (!index.apply(change) && !(change.version === from && current === from)) return false;
    index.high = current;
    return true;
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
      build.rows = 0;
      // Read before the scan: the replay from it fixes every row that changed while the scan ran.
      const version = await createOrgService(this.db).findWriteVersion(orgId);
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
        if (rows.length < size) break;
        after = { key: rows[rows.length - 1]!.username_fold, userId: rows[rows.length - 1]!.user_id };
      }
      const index = await builder.finish(version, () => nextTurn());
      if (this.closed) return undefined;
      if (await this.replay(orgId, index)) return index;
    }
    return undefined;
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
    await Promise.all(this.builds);
  }
}
