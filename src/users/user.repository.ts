import { sql, type RawBuilder, type SqlBool, type Transaction } from 'kysely';
import { RowChanged } from '../db/db-errors.js';
import type { ReadNow } from '../db/connect.js';
import { isSqlite, precompiled, precompiledRows } from '../db/dialect.js';
import type { Database, Db, NewUserRow, UserRow, UserUpdate } from '../db/tables.js';
import { isUuid } from '../shared/text.js';
import { foldUsername } from '../db/username-keys.js';
import { splitIds } from './user.mapper.js';

// The SQL of one user at a time: look-ups, inserts, updates. Lists and searches are in user.list.repository.ts.

// Read on every uncached request: compiled once per dialect.
const userByUserIdQuery = precompiled((db) =>
  db.selectFrom('users').selectAll().where('org_id', '=', 0).where('user_id', '=', ''),
);
const userByUsernameFoldQuery = precompiled((db) =>
  db.selectFrom('users').selectAll().where('org_id', '=', 0).where('username_fold', '=', ''),
);

/** The user with this user_id in the organization, if any. */
export async function findUserByUserId(
  db: Db | Transaction<Database>,
  orgId: number,
  userId: string,
): Promise<UserRow | undefined> {
  return userByUserIdQuery(db, [orgId, userId]);
}

/** The user with this folded username in the organization, if any. */
async function findUserByUsernameFold(
  db: Db | Transaction<Database>,
  orgId: number,
  usernameFold: string,
): Promise<UserRow | undefined> {
  return userByUsernameFoldQuery(db, [orgId, usernameFold]);
}

/** The user a path segment or body field names: by user_id when it has UUID form, else by username (case-insensitively). */
export async function findUserByRef(db: Db, orgId: number, ref: string): Promise<UserRow | undefined> {
  if (isUuid(ref)) {
    const byId = await findUserByUserId(db, orgId, ref.toLowerCase());
    if (byId) return byId;
  }
  return findUserByUsernameFold(db, orgId, foldUsername(ref));
}

/**
 * A search index's page of rows by one key column, the keys bound as one parameter (a JSON array on
 * SQLite, an array on PostgreSQL). By primary key where the index holds it: one b-tree descent a row
 * instead of two (the user_id index, then the table), about 40 % less time at 1M users on SQLite.
 */
function usersByKeysQuery(column: 'id' | 'user_id', pgType: 'integer' | 'text') {
  return precompiledRows((db) =>
    db
      .selectFrom('users')
      .selectAll()
      .where('org_id', '=', 0)
      .where(
        isSqlite(db)
          ? sql<SqlBool>`${sql.ref(column)} in (select value from json_each(${''}))`
          : sql<SqlBool>`${sql.ref(column)} = any(${[] as unknown[]}::${sql.raw(pgType)}[])`,
      ),
  );
}
const usersByIdsQuery = usersByKeysQuery('id', 'integer');
const usersByUserIdsQuery = usersByKeysQuery('user_id', 'text');
const keysParameter = (db: Db, keys: readonly unknown[]) => (isSqlite(db) ? JSON.stringify(keys) : [...keys]);

/**
 * The organization's users with these primary keys (users.id), in no particular order: at once, without
 * a promise, when `readNow` can read them (SQLite's connection.readNow).
 */
export function findUsersByIds(
  db: Db,
  orgId: number,
  ids: readonly number[],
  readNow?: ReadNow,
): UserRow[] | Promise<UserRow[]> {
  return usersByIdsQuery(db, [orgId, keysParameter(db, ids)], readNow);
}

/** The organization's users with these user_ids, in no particular order; at once as above. */
export function findUsersByUserIds(
  db: Db,
  orgId: number,
  userIds: readonly string[],
  readNow?: ReadNow,
): UserRow[] | Promise<UserRow[]> {
  return usersByUserIdsQuery(db, [orgId, keysParameter(db, userIds)], readNow);
}

/** The user whose username looks like one with this skeleton (db/username-keys.ts), if any: at most one. */
export async function findUserByUsernameSkeleton(
  db: Db | Transaction<Database>,
  orgId: number,
  skeleton: string,
): Promise<UserRow | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('username_skeleton', '=', skeleton)
    .executeTakeFirst();
}

/** Inserts a user with its access lists (ordered ids); returns the row's internal id. */
export async function insertUser(trx: Transaction<Database>, row: NewUserRow): Promise<number> {
  const { id } = await trx.insertInto('users').values(row).returning('id').executeTakeFirstOrThrow();
  await writeAccessRows(trx, row.org_id, id, row.billing_groups, row.group_owners);
  return id;
}

/** Rewrites the join rows that mirror a user's access lists. */
async function writeAccessRows(
  trx: Transaction<Database>,
  orgId: number,
  userPk: number,
  billingGroups: string,
  groupOwners: string,
): Promise<void> {
  await trx.deleteFrom('user_billing_groups').where('user_pk', '=', userPk).execute();
  await trx.deleteFrom('user_group_owners').where('user_pk', '=', userPk).execute();
  const bg = splitIds(billingGroups);
  const go = splitIds(groupOwners);
  if (bg.length > 0)
    await trx
      .insertInto('user_billing_groups')
      .values(bg.map((b) => ({ org_id: orgId, user_pk: userPk, billing_group_id: b })))
      .execute();
  if (go.length > 0)
    await trx
      .insertInto('user_group_owners')
      .values(go.map((g) => ({ org_id: orgId, user_pk: userPk, group_id: g })))
      .execute();
}

/**
 * Rewrites an organization's user row (`before`, as read in this write) to `row` and, when its access lists
 * changed, the access rows that mirror them; returns the stored row. `execute` runs the UPDATE (the audit
 * service's appendEntryWith, which sends the write's audit entry with it). The UPDATE stores the row only if
 * it is still at `before`'s version: RowChanged when it has moved on since it was read.
 */
export async function updateUser(
  trx: Transaction<Database>,
  orgId: number,
  before: UserRow,
  row: NewUserRow,
  execute: (update: UserUpdate) => Promise<UserRow | undefined>,
  combine?: (change: UserChange) => Promise<UserRow | undefined> | undefined,
): Promise<UserRow> {
  // Only the columns that change are set: SQLite maintains every index, and runs every `update of` trigger,
  // whose columns an UPDATE assigns, changed or not (a phone PATCH would rewrite all nine indexes). The
  // organization is never one of them: a user stays in the organization the WHERE names.
  const changed: Partial<NewUserRow> = {};
  for (const [column, value] of Object.entries(row))
    if (column !== 'org_id' && value !== undefined && value !== before[column as keyof UserRow])
      (changed as Record<string, unknown>)[column] = value;
  const updated = await (combine?.({ before, changed }) ??
    execute((qc) =>
      qc
        .updateTable('users')
        .set(changed)
        .where('org_id', '=', orgId)
        .where('id', '=', before.id)
        .where('version', '=', before.version)
        .returningAll(),
    ));
  if (!updated) throw new RowChanged(`user ${before.user_id} changed since it was read`);
  // Most writes (a phone, a name, a status) leave the lists alone: no access rows to rewrite then.
  if (row.billing_groups !== before.billing_groups || row.group_owners !== before.group_owners)
    await writeAccessRows(trx, orgId, before.id, row.billing_groups, row.group_owners);
  return updated;
}

/** One user's update: the row as read, and the columns that change. */
export interface UserChange {
  readonly before: UserRow;
  readonly changed: Partial<NewUserRow>;
}

/**
 * PostgreSQL: several users' updates as one UPDATE (the writes of a group commit run together: group-commit.ts
 * `combined`), for a data-modifying CTE. Each user is stored only if still at the version read; the rows
 * come back with `batch_ord`, the change's place in `changes` from 1. The columns set are those any of the
 * changes sets; the others' values for them are the ones they hold.
 */
export function updateUsersStatement(orgId: number, changes: readonly UserChange[]): RawBuilder<UserRow> {
  const columns = [...new Set(changes.flatMap((c) => Object.keys(c.changed)))].sort();
  const input = changes.map(({ before, changed }) => ({
    id: before.id,
    version: before.version,
    row: Object.fromEntries(
      columns.map((c) => [c, c in changed ? changed[c as keyof NewUserRow] : before[c as keyof UserRow]]),
    ),
  }));
  const assignments = sql.join(columns.map((c) => sql`${sql.ref(c)} = (i.r).${sql.ref(c)}`));
  return sql<UserRow>`update users u set ${assignments}
    from (select (t.e->>'id')::bigint as id, (t.e->>'version')::integer as version, t.ord as batch_ord,
            jsonb_populate_record(null::users, t.e->'row') as r
          from jsonb_array_elements(${JSON.stringify(input)}::jsonb) with ordinality as t(e, ord)) i
    where u.org_id = ${orgId} and u.id = i.id and u.version = i.version
    returning u.*, i.batch_ord`;
}

/** The record of one deactivation, with its instructions for the reporting side. */
interface DeactivationRecord {
  readonly orgId: number;
  readonly userId: string;
  readonly deactivatedAt: string;
  readonly reassignGroupsTo: string | null;
  readonly groupsMoved: readonly string[];
  readonly reassignReportsTo: string | null;
  readonly deleteScheduledReports: boolean;
  readonly actor: string;
  readonly requestId: string | null;
}

/** Records a deactivation in user_deactivations (in the deactivation's own transaction). */
export async function insertDeactivation(trx: Transaction<Database>, record: DeactivationRecord): Promise<void> {
  await trx
    .insertInto('user_deactivations')
    .values({
      org_id: record.orgId,
      user_id: record.userId,
      deactivated_at: record.deactivatedAt,
      reassign_groups_to_user: record.reassignGroupsTo,
      groups_moved: record.groupsMoved.join(','),
      reassign_reports_to_user: record.reassignReportsTo,
      delete_scheduled_reports: record.deleteScheduledReports ? 1 : 0,
      actor: record.actor,
      request_id: record.requestId,
    })
    .execute();
}
