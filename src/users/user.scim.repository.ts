import { sql, type Expression, type ExpressionBuilder, type RawBuilder, type SqlBool } from 'kysely';
import { isSqlite } from '../db/dialect.js';
import type { Database, Db, UserRow } from '../db/tables.js';
import { escapeLike } from '../shared/text.js';
import { countUsers, substring } from './user.list.repository.js';
import { rolesMask } from './user.mapper.js';
import type { Role } from './user.schemas.js';

// The SQL of SCIM's user reads: a filter tree compiled to one WHERE over Roster's indexes, pages, totals,
// and the holders of a role. Users deleted through SCIM are never part of any answer here.

/** A user attribute a SCIM filter or sort names, resolved by the SCIM layer. */
export type DirectoryField =
  | 'userName'
  | 'externalId'
  | 'email'
  | 'name'
  | 'givenName'
  | 'familyName'
  | 'active'
  | 'id'
  | 'role'
  | 'lastModified'
  | 'created';

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';

/**
 * A filter over users. Values arrive in the column's form: folded for userName,
 * names and email, stored timestamps for dates, a boolean for active, a role name for role.
 */
export type UserCondition =
  | { readonly op: 'and' | 'or'; readonly items: readonly UserCondition[] }
  | { readonly op: 'not'; readonly item: UserCondition }
  | { readonly op: 'pr'; readonly field: DirectoryField }
  | { readonly op: CompareOp; readonly field: DirectoryField; readonly value: string | boolean };

export interface DirectorySort {
  readonly field: DirectoryField;
  readonly order: 'asc' | 'desc';
}

type Users = ExpressionBuilder<Database, 'users'>;

// Each expression matches an index where one exists: (org_id, username_fold), (org_id, name_fold, …),
// (org_id, external_id), (org_id, lower(email)), (org_id, last_updated_date, …), the trigram indexes.
const COLUMNS: Record<Exclude<DirectoryField, 'active' | 'role'>, RawBuilder<string>> = {
  userName: sql`users.username_fold`,
  externalId: sql`users.external_id`,
  email: sql`lower(users.email)`,
  name: sql`users.name_fold`,
  givenName: sql`lower(users.given_name)`,
  familyName: sql`lower(users.family_name)`,
  id: sql`users.user_id`,
  lastModified: sql`users.last_updated_date`,
  created: sql`users.created_at`,
};

const SQL_OPS = { eq: '=', gt: '>', ge: '>=', lt: '<', le: '<=' } as const;

function present(field: DirectoryField): Expression<SqlBool> {
  switch (field) {
    case 'externalId':
      return sql<SqlBool>`users.external_id is not null`;
    case 'email':
    case 'givenName':
    case 'familyName':
      return sql<SqlBool>`${COLUMNS[field]} <> ''`;
    case 'role':
      return sql<SqlBool>`users.roles_mask <> 0`;
    default:
      return sql<SqlBool>`1 = 1`;
  }
}

function compare(
  eb: Users,
  op: CompareOp,
  field: DirectoryField,
  value: string | boolean,
  sqlite: boolean,
  orgId: number,
): Expression<SqlBool> {
  if (field === 'active') {
    const active = (op === 'eq') === (value === true);
    return active ? sql<SqlBool>`users.status = 'activated'` : sql<SqlBool>`users.status <> 'activated'`;
  }
  const text = String(value);
  if (field === 'role') {
    const mask = rolesMask([text as Role]);
    return op === 'eq'
      ? sql<SqlBool>`(users.roles_mask & ${mask}) <> 0`
      : sql<SqlBool>`(users.roles_mask & ${mask}) = 0`;
  }
  const column = COLUMNS[field];
  if (op === 'co' && (field === 'userName' || field === 'name'))
    return substring(orgId, field === 'userName' ? 'username_fold' : 'name_fold', [text], sqlite, 'index')(eb);
  // externalId is case-exact, and SQLite's LIKE ignores ASCII case: position functions compare exactly.
  if (field === 'externalId' && (op === 'co' || op === 'sw' || op === 'ew')) return exactSubstring(op, text, sqlite);
  if (op === 'co' || op === 'sw' || op === 'ew') {
    const pattern = `${op === 'sw' ? '' : '%'}${escapeLike(text)}${op === 'ew' ? '' : '%'}`;
    const like = sql<SqlBool>`${column} like ${pattern} escape '\\'`;
    // A prefix is also a range of the (code-point ordered) folded column: its index finds it on both backends.
    if (op === 'sw' && (field === 'userName' || field === 'name'))
      return sql<SqlBool>`(${column} >= ${text} and ${column} < ${`${text}\u{10FFFF}`} and ${like})`;
    return like;
  }
  if (op === 'ne') return sql<SqlBool>`(${column} is null or ${column} <> ${text})`;
  return sql<SqlBool>`${column} ${sql.raw(SQL_OPS[op])} ${text}`;
}

/** `co`, `sw` or `ew` on external_id, case-exact on both backends. */
function exactSubstring(op: 'co' | 'sw' | 'ew', text: string, sqlite: boolean): Expression<SqlBool> {
  const position = sqlite ? sql`instr(users.external_id, ${text})` : sql`strpos(users.external_id, ${text})`;
  if (op === 'co') return sql<SqlBool>`${position} > 0`;
  if (op === 'sw') return sql<SqlBool>`${position} = 1`;
  return sql<SqlBool>`(length(users.external_id) >= length(${text}) and substr(users.external_id, length(users.external_id) - length(${text}) + 1) = ${text})`;
}

function compile(eb: Users, condition: UserCondition, sqlite: boolean, orgId: number): Expression<SqlBool> {
  switch (condition.op) {
    case 'and':
      return eb.and(condition.items.map((item) => compile(eb, item, sqlite, orgId)));
    case 'or':
      return eb.or(condition.items.map((item) => compile(eb, item, sqlite, orgId)));
    case 'not':
      return eb.not(compile(eb, condition.item, sqlite, orgId));
    case 'pr':
      return present(condition.field);
    default:
      return compare(eb, condition.op, condition.field, condition.value, sqlite, orgId);
  }
}

/** The key every users index holds: SQLite's indexes hold the rowid, PostgreSQL's (org_id, …, user_id) ones user_id. */
const indexKey = (db: Db) => (isSqlite(db) ? 'id' : 'user_id');

/**
 * The organization's users matching `condition`, less those deleted through
 * SCIM. The deleted ones (few, found by their own index) are excluded by key,
 * so that a count or a deep page stays an index-only walk; testing
 * scim_deleted_at on each row would read every row the walk passes.
 */
function selectLiving(db: Db, orgId: number, condition: UserCondition | undefined) {
  const sqlite = isSqlite(db);
  const key = sql.raw(indexKey(db));
  let query = db
    .selectFrom('users')
    .where('users.org_id', '=', orgId)
    .where(
      sql<SqlBool>`users.${key} not in (select d.${key} from users d where d.org_id = ${orgId} and d.scim_deleted_at is not null)`,
    );
  if (condition) query = query.where((eb) => compile(eb, condition, sqlite, orgId));
  return query;
}

// Past this offset a page is found by its keys alone first (an index-only walk), then its rows are read.
const DEFERRED_OFFSET = 1000;

function sortKey(field: DirectoryField): RawBuilder<unknown> {
  if (field === 'active') return sql`users.status`;
  if (field === 'role') return sql`users.roles`;
  if (field === 'externalId') return sql`coalesce(users.external_id, '')`;
  return COLUMNS[field];
}

/** One page of the organization's users (not deleted through SCIM) matching `condition`, ties broken by user_id. */
export async function findDirectoryUsers(
  db: Db,
  orgId: number,
  condition: UserCondition | undefined,
  sort: DirectorySort,
  offset: number,
  limit: number,
  few = false,
): Promise<UserRow[]> {
  const direction = sql.raw(sort.order);
  // Few matches: the sort key is wrapped so that no backend walks the sort order's index testing every row
  // (without fresh statistics SQLite would, to avoid sorting); the filter's own index finds them, then they are sorted.
  const key = few ? sql`(${sortKey(sort.field)} || '')` : sortKey(sort.field);
  const order = <Q extends { orderBy(expression: RawBuilder<unknown>): Q }>(q: Q): Q =>
    q.orderBy(sql`${key} ${direction}`).orderBy(sql`users.user_id ${direction}`);
  if (offset < DEFERRED_OFFSET)
    return order(selectLiving(db, orgId, condition).selectAll('users'))
      .limit(limit)
      .offset(offset)
      .execute();
  const rowKey = indexKey(db);
  const keys = order(selectLiving(db, orgId, condition).select(sql.ref<string>(`users.${rowKey}`).as('k')))
    .limit(limit)
    .offset(offset);
  return order(
    db.selectFrom('users').innerJoin(keys.as('page'), 'page.k', `users.${rowKey}`).selectAll('users'),
  ).execute();
}

/**
 * How many of the organization's users (not deleted through SCIM) match. With
 * no filter: the trigger-kept counts less the deleted ones (both indexed), not a scan.
 */
export async function countDirectoryUsers(
  db: Db,
  orgId: number,
  condition: UserCondition | undefined,
): Promise<number> {
  if (condition === undefined) {
    const all = await countUsers(db, orgId, {
      usernames: [],
      names: [],
      statuses: [],
      roles: [],
      billingGroups: [],
      groupOwners: [],
    });
    const deleted = await db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('org_id', '=', orgId)
      .where('scim_deleted_at', 'is not', null)
      .executeTakeFirstOrThrow();
    return all - Number(deleted.n);
  }
  const row = await selectLiving(db, orgId, condition)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * The user_id and username of the users of the organization (not deleted through SCIM) who hold the role, by
 * username: every one, or the first `limit`.
 */
export async function findRoleHolders(
  db: Db,
  orgId: number,
  role: Role,
  limit?: number,
): Promise<Array<Pick<UserRow, 'user_id' | 'username'>>> {
  const query = selectLiving(db, orgId, { op: 'eq', field: 'role', value: role })
    .select(['users.user_id', 'users.username'])
    .orderBy('users.username_fold');
  return (limit === undefined ? query : query.limit(limit)).execute();
}
