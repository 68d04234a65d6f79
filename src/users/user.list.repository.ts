import { sql, type Expression, type ExpressionBuilder, type SqlBool, type Transaction } from 'kysely';
import { isSqlite } from '../db/dialect.js';
import { inIdList } from '../db/id-list.js';
import type { Database, Db, UserRow } from '../db/tables.js';
import { escapeLike } from '../shared/text.js';
import { rolesMask } from './user.mapper.js';
import { pgTrigramArray, sqliteTrigramQuery } from './user.trigrams.js';
import type { Role, SortField } from './user.schemas.js';

// The SQL of `GET users` and of the streams: filters, sort orders, pages, totals, keyset reads.

/** What `GET users` filters on, already folded and parsed. Each list is OR; lists combine with AND. */
export interface UserFilter {
  readonly usernames: readonly string[];
  readonly names: readonly string[];
  readonly statuses: readonly string[];
  readonly roles: readonly Role[];
  readonly billingGroups: readonly number[];
  readonly groupOwners: readonly number[];
}

/** No filter: every user of the organization. */
export const NO_FILTER: UserFilter = {
  usernames: [],
  names: [],
  statuses: [],
  roles: [],
  billingGroups: [],
  groupOwners: [],
};

export interface UserSort {
  readonly field: SortField;
  readonly order: 'asc' | 'desc';
}

// No stored fold is longer than this: a longer needle cannot match (and would exceed SQLite's LIKE pattern limit).
export const MAX_NEEDLE = 2048;

/** The shortest needle, in code points, that the trigram indexes can answer (shorter ones scan). */
const TRIGRAM_MIN = 3;

/** True when a needle can be answered by the trigram index. */
function usesTrigramIndex(needle: string): boolean {
  return !needle.includes('\u0000') && [...needle].length >= TRIGRAM_MIN && needle.length <= MAX_NEEDLE;
}

/**
 * How a substring filter is answered: `index` uses the organization's trigram
 * terms (migration 011; needles of 3+ code points), then LIKE rechecks; `walk`
 * tests rows one by one with LIKE as another index (the sort order's) is walked
 * (on PostgreSQL the column is wrapped so that the GIN index cannot be chosen).
 */
export type SubstringPlan = 'index' | 'walk';

/**
 * `column` holds `needle` as a literal substring (both already folded): LIKE
 * escapes `%`, `_` and `\`. With the `index` plan, a needle of 3+ code points
 * first narrows the rows to those holding all its trigrams in the
 * organization's own posting lists (user.trigrams.ts); shorter ones scan.
 */
export function substring(
  orgId: number,
  column: 'username_fold' | 'name_fold',
  needles: readonly string[],
  sqlite: boolean,
  plan: SubstringPlan,
) {
  return (eb: ExpressionBuilder<Database, 'users'>): Expression<SqlBool> =>
    eb.or(
      needles.map((n) => {
        if (n.length > MAX_NEEDLE) return sql<SqlBool>`1 = 0`;
        const pattern = `%${escapeLike(n)}%`;
        const like = sql<SqlBool>`${sql.ref(`users.${column}`)} like ${pattern} escape '\\'`;
        if (plan === 'index' && usesTrigramIndex(n)) {
          if (sqlite)
            return sql<SqlBool>`(users.id in (select rowid from users_trgm where users_trgm match ${sqliteTrigramQuery(orgId, column, n)}) and ${like})`;
          return sql<SqlBool>`(roster_org_trigrams(users.org_id, ${sql.ref(`users.${column}`)}) @> ${pgTrigramArray(orgId, n)}::text[] and ${like})`;
        }
        if (!sqlite && plan === 'walk')
          return sql<SqlBool>`(${sql.ref(`users.${column}`)} || '') like ${pattern} escape '\\'`;
        return like;
      }),
    );
}

function applyFilter(db: Db | Transaction<Database>, orgId: number, filter: UserFilter, plan: SubstringPlan = 'index') {
  const sqlite = isSqlite(db);
  let query = db.selectFrom('users').where('users.org_id', '=', orgId);
  if (filter.usernames.length > 0)
    query = query.where(substring(orgId, 'username_fold', filter.usernames, sqlite, plan));
  if (filter.names.length > 0) query = query.where(substring(orgId, 'name_fold', filter.names, sqlite, plan));
  if (filter.statuses.length > 0) query = query.where('users.status', 'in', filter.statuses as UserRow['status'][]);
  if (filter.roles.length > 0) query = query.where(sql<SqlBool>`(users.roles_mask & ${rolesMask(filter.roles)}) <> 0`);
  if (filter.billingGroups.length > 0) {
    const ids = filter.billingGroups;
    query = query.where('users.id', 'in', (eb) =>
      eb
        .selectFrom('user_billing_groups')
        .select('user_pk')
        .where('org_id', '=', orgId)
        .where(inIdList(db, 'billing_group_id', ids)),
    );
  }
  if (filter.groupOwners.length > 0) {
    const ids = filter.groupOwners;
    query = query.where('users.id', 'in', (eb) =>
      eb
        .selectFrom('user_group_owners')
        .select('user_pk')
        .where('org_id', '=', orgId)
        .where(inIdList(db, 'group_id', ids)),
    );
  }
  return query;
}

const sortColumn = {
  username: 'users.username_fold',
  name: 'users.name_fold',
  last_login_date: 'users.last_login_date',
  last_updated_date: 'users.last_updated_date',
} as const;

/** What the caller already knows about a page's query: its total and the organization's. */
interface PageHint {
  readonly total: number;
  readonly orgTotal: number;
}

// Past this offset a page is found by its keys alone first (an index-only walk), then its rows are read.
const DEFERRED_OFFSET = 1000;

/**
 * One page of an organization's users matching `filter`, in a total order (ties on user_id, null dates last).
 *
 * With a substring filter and a hint, the cheaper of two plans: many matches:
 * walk the sort order's index testing rows with LIKE, which reaches the page
 * after about (offset+limit) × orgTotal / total rows; few matches: take them
 * from the trigram index and sort them (about `total` rows). Deep pages skip
 * over keys only (a covering index walk), then read the page's rows.
 */
export async function findUsers(
  db: Db,
  orgId: number,
  filter: UserFilter,
  sort: UserSort,
  limit: number,
  offset: number,
  hint?: PageHint,
): Promise<UserRow[]> {
  const sqlite = isSqlite(db);
  const walk = hint !== undefined && hint.total * hint.total > (offset + limit) * hint.orgTotal;
  const plan: SubstringPlan = walk ? 'walk' : 'index';
  // PostgreSQL: with few matches, keep the planner off the sort index (it would walk it all for a rare needle).
  const col = sortColumn[sort.field];
  const sortKey = !sqlite && hint !== undefined && !walk ? sql<string>`(${sql.ref(col)} || '')` : sql.ref<string>(col);
  // Kysely's orderBy is overloaded per query shape; this one helper orders the page query and the
  // keyset query alike, so it takes any builder with an orderBy of that builder's own type.
  /* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return */
  const order = <Q extends { orderBy: (...args: any[]) => Q }>(q: Q): Q =>
    q
      .orderBy(sortKey, (ob: any) => (sort.order === 'asc' ? ob.asc() : ob.desc()).nullsLast())
      .orderBy('users.user_id', sort.order);
  /* eslint-enable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return */
  if (offset < DEFERRED_OFFSET)
    return order(applyFilter(db, orgId, filter, plan).selectAll('users'))
      .limit(limit)
      .offset(offset)
      .execute();
  // SQLite's indexes hold the rowid; PostgreSQL's (org_id, sort column, user_id) indexes hold user_id.
  const key = sqlite ? 'id' : 'user_id';
  const keys = order(applyFilter(db, orgId, filter, plan).select(sql.ref<string>(`users.${key}`).as('k')))
    .limit(limit)
    .offset(offset);
  return order(
    db.selectFrom('users').innerJoin(keys.as('page'), 'page.k', `users.${key}`).selectAll('users'),
  ).execute();
}

/** True when only `status`/`role` filter: the maintained counts answer the total. */
function countedByBuckets(filter: UserFilter): boolean {
  return (
    filter.usernames.length === 0 &&
    filter.names.length === 0 &&
    filter.billingGroups.length === 0 &&
    filter.groupOwners.length === 0
  );
}

// PostgreSQL appends signed deltas to user_counts (see migration 004); past this many rows an organization's are folded.
const COMPACT_AFTER_ROWS = 2000;

/** How many of an organization's users match `filter`: exact, from the trigger-kept counts when only status/role filter. */
export async function countUsers(db: Db, orgId: number, filter: UserFilter): Promise<number> {
  if (countedByBuckets(filter)) {
    let q = db
      .selectFrom('user_counts')
      .select((eb) => [eb.fn.sum<number | string | null>('n').as('n'), eb.fn.countAll<number>().as('rows')])
      .where('org_id', '=', orgId);
    if (filter.statuses.length > 0) q = q.where('status', 'in', [...filter.statuses]);
    if (filter.roles.length > 0) q = q.where(sql<SqlBool>`(roles_mask & ${rolesMask(filter.roles)}) <> 0`);
    const row = await q.executeTakeFirstOrThrow();
    if (Number(row.rows) > COMPACT_AFTER_ROWS && !isSqlite(db)) await compactUserCounts(db, orgId);
    return Number(row.n ?? 0);
  }
  const row = await applyFilter(db, orgId, filter)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * PostgreSQL: folds an organization's count deltas into one row per bucket,
 * in one statement (readers see the sums before or after, never between).
 * SQLite keeps one row per bucket already.
 */
export async function compactUserCounts(db: Db, orgId: number): Promise<void> {
  if (isSqlite(db)) return;
  await sql`with gone as (delete from user_counts where org_id = ${orgId} returning status, roles_mask, n)
    insert into user_counts (org_id, status, roles_mask, n)
    select ${orgId}, status, roles_mask, sum(n) from gone group by status, roles_mask having sum(n) <> 0`.execute(db);
}

/** Where a keyset page starts: the sort key and user_id of the last row of the previous page. */
interface UserKeyset {
  readonly key: string | null;
  readonly userId: string;
}

/** The columns a sort order reads (a full row, a logged change and an index slot all have them). */
export type SortedColumns = Pick<UserRow, 'username_fold' | 'name_fold' | 'last_login_date' | 'last_updated_date'>;

/** The sort key of a row for keyset paging (the same column findUsers orders by). */
export function userSortKey(row: SortedColumns, field: SortField): string | null {
  return row[sortedColumn(field)];
}

/** The column a sort field orders by. */
export function sortedColumn(field: SortField): keyof SortedColumns {
  return sortColumn[field].slice('users.'.length) as keyof SortedColumns;
}

/**
 * The next `limit` users after `after` in findUsers' order (keyset paging: no
 * OFFSET, so streaming a million users stays linear). Null dates sort last in
 * both directions, as in findUsers: the non-null part first, then the nulls by user_id.
 */
export async function findUsersAfter(
  db: Db,
  orgId: number,
  filter: UserFilter,
  sort: UserSort,
  after: UserKeyset | null,
  limit: number,
): Promise<UserRow[]> {
  const col = sortColumn[sort.field];
  const nullable = sort.field === 'last_login_date';
  const [gt, ge] = sort.order === 'asc' ? (['>', '>='] as const) : (['<', '<='] as const);
  const ordered = (q: ReturnType<typeof applyFilter>) =>
    q.selectAll('users').orderBy(col, sort.order).orderBy('users.user_id', sort.order).limit(limit);
  const rows: UserRow[] = [];
  if (after === null || after.key !== null) {
    let q = applyFilter(db, orgId, filter);
    if (nullable) q = q.where(col, 'is not', null);
    if (after !== null) {
      const { key, userId } = after;
      q = q
        .where(col, ge, key as string)
        .where((eb) => eb.or([eb(col, gt, key as string), eb('users.user_id', gt, userId)]));
    }
    rows.push(...(await ordered(q).execute()));
    if (rows.length === limit || !nullable) return rows;
  }
  let q = applyFilter(db, orgId, filter).where(col, 'is', null);
  if (after !== null && after.key === null) q = q.where('users.user_id', gt, after.userId);
  rows.push(
    ...(await ordered(q)
      .limit(limit - rows.length)
      .execute()),
  );
  return rows;
}

// Users per keyset read of a stream: big enough to amortize a query, small enough to keep memory flat.
const STREAM_PAGE = 1000;

/**
 * Every user matching `filter`, in `sort` order, read page by page with keyset
 * paging: memory stays flat however many users match. `readPage` runs each
 * page's read (within a time limit, on a read worker: db/reads.ts).
 */
export async function* streamUserRows(
  db: Db,
  orgId: number,
  filter: UserFilter,
  sort: UserSort,
  pageSize = STREAM_PAGE,
  readPage: (page: (db: Db) => Promise<UserRow[]>) => Promise<UserRow[]> = (page) => page(db),
): AsyncGenerator<UserRow> {
  let after: UserKeyset | null = null;
  for (;;) {
    const from = after;
    const rows = await readPage((rdb) => findUsersAfter(rdb, orgId, filter, sort, from, pageSize));
    yield* rows;
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1]!;
    after = { key: userSortKey(last, sort.field), userId: last.user_id };
  }
}
