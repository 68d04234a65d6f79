import type { UserRow } from '../db/tables.js';
import { rolesMask, splitIds } from './user.mapper.js';
import { userSortKey, type UserFilter, type UserSort } from './user.list.repository.js';

/**
 * Whether a logged user change can alter a cached answer, decided in JS from the change's before/after
 * values (migration 010 logs them). The rules mirror user.list.repository.ts's SQL: each filter list is OR,
 * lists combine with AND, substrings are literal over the folds, the order is the sort column (nulls
 * last in both directions) then user_id, compared by code point like SQLite's BINARY and PostgreSQL's "C".
 */

/** The logged columns of a user: what `GET users` filters and sorts on. */
export const CHANGED_USER_COLUMNS = [
  'user_id',
  'username_fold',
  'name_fold',
  'status',
  'roles_mask',
  'billing_groups',
  'group_owners',
  'last_login_date',
  'last_updated_date',
] as const;
export type ChangedUser = Pick<UserRow, (typeof CHANGED_USER_COLUMNS)[number]>;

/** One logged change; both sides null for a marker, which stands for any change of its version. */
export interface UserChange {
  readonly version: number;
  readonly before: ChangedUser | null;
  readonly after: ChangedUser | null;
}

/** Where a row sits in a sort order: its sort key and its user_id (the tie-breaker). */
export interface SortPosition {
  readonly key: string | null;
  readonly userId: string;
}

/** What a cached answer depends on: a page of a list query, or one user. */
export type AnswerScope =
  | {
      readonly kind: 'page';
      readonly filter: UserFilter;
      readonly sort: UserSort;
      /** The user_ids on the page. */
      readonly ids: ReadonlySet<string>;
      /** The page's first and last rows (undefined for an empty page). */
      readonly first?: SortPosition;
      readonly last?: SortPosition;
    }
  | { readonly kind: 'user'; readonly userIds: readonly string[] };

/** The scope of a cached page: its query and the rows it shows. */
export function pageScope(filter: UserFilter, sort: UserSort, rows: readonly ChangedUser[]): AnswerScope {
  const position = (row: ChangedUser): SortPosition => ({ key: userSortKey(row, sort.field), userId: row.user_id });
  return {
    kind: 'page',
    filter,
    sort,
    ids: new Set(rows.map((r) => r.user_id)),
    ...(rows.length > 0 ? { first: position(rows[0]!), last: position(rows[rows.length - 1]!) } : {}),
  };
}

const hasAny = (stored: string, ids: readonly number[]) => splitIds(stored).some((id) => ids.includes(id));

/** True when the user matches every list of the filter (user.list.repository.ts's applyFilter, in JS). */
function matchesFilter(user: ChangedUser, filter: UserFilter): boolean {
  return (
    (filter.usernames.length === 0 || filter.usernames.some((n) => user.username_fold.includes(n))) &&
    (filter.names.length === 0 || filter.names.some((n) => user.name_fold.includes(n))) &&
    matchesAttributes(user, filter)
  );
}

/** True when the user matches the filter's status, role, billing group and group owner lists. */
export function matchesAttributes(user: ChangedUser, filter: UserFilter): boolean {
  return (
    (filter.statuses.length === 0 || filter.statuses.includes(user.status)) &&
    (filter.roles.length === 0 || (user.roles_mask & rolesMask(filter.roles)) !== 0) &&
    (filter.billingGroups.length === 0 || hasAny(user.billing_groups, filter.billingGroups)) &&
    (filter.groupOwners.length === 0 || hasAny(user.group_owners, filter.groupOwners))
  );
}

/** Code-point order (UTF-8 byte order), which JS's `<` (UTF-16 units) breaks past U+FFFF. */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (a code point past U+FFFF) sorts after every other BMP unit from U+E000 up.
    const surrogate = (c: number) => c >= 0xd800 && c <= 0xdfff;
    if (surrogate(x) !== surrogate(y)) return surrogate(x) ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Negative when `a` comes before `b` in the sort order (nulls last in both directions, ties on user_id). */
export function compareInOrder(a: SortPosition, b: SortPosition, order: UserSort['order']): number {
  if (a.key === null && b.key !== null) return 1;
  if (b.key === null && a.key !== null) return -1;
  const byKey = a.key === null || b.key === null ? 0 : compareCodePoints(a.key, b.key);
  const cmp = byKey !== 0 ? byKey : compareCodePoints(a.userId, b.userId);
  return order === 'asc' ? cmp : -cmp;
}

/** Where a row sits against a non-empty page: before its first row, within its span, or after its last. */
function region(user: ChangedUser, scope: Extract<AnswerScope, { kind: 'page' }>): -1 | 0 | 1 {
  const at = { key: userSortKey(user, scope.sort.field), userId: user.user_id };
  if (compareInOrder(at, scope.first!, scope.sort.order) < 0) return -1;
  return compareInOrder(at, scope.last!, scope.sort.order) > 0 ? 1 : 0;
}

/**
 * True when the change may alter the answer. A page stands when the changed row matched the query
 * neither before nor after; or matched both times (the total stands), is not on the page, and stays on
 * the same side of it, never landing within its span (so the page still holds the same rows).
 */
export function changeAffects(scope: AnswerScope, change: UserChange): boolean {
  const { before, after } = change;
  if (before === null && after === null) return true;
  if (scope.kind === 'user') return [before, after].some((u) => u !== null && scope.userIds.includes(u.user_id));
  const was = before !== null && matchesFilter(before, scope.filter);
  const is = after !== null && matchesFilter(after, scope.filter);
  if (!was && !is) return false;
  if (was !== is) return true;
  if (scope.ids.has(before!.user_id) || scope.ids.has(after!.user_id)) return true;
  // An empty page lies past the last match: with the total unchanged, it stays empty.
  if (scope.first === undefined) return false;
  const from = region(before!, scope);
  const to = region(after!, scope);
  return from !== to || to === 0;
}
