import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../connect.js';

/**
 * The ordered per-organization log of user changes (docs/performance.md, "Writes invalidate only what they
 * change"): one row per inserted, updated or deleted user, stamped with the organization's write_version of
 * the transaction that made it and holding the before/after values of every column a `GET users` query
 * filters or sorts on (JSON). Triggers write it, so every writer (API, import, demo seed) is logged in its
 * own transaction; a process holding an answer stamped V reads the changes [V, current] to learn whether
 * the answer still stands (from V on, not after it: a transaction that bumps write_version after changing
 * users, as a test helper does, logs them at the version before its own).
 *
 * - Past ROWS_PER_VERSION rows in one version (a bulk import batch) the version's rows are replaced by one
 *   marker row (user_id null: "anything may have changed"), which stops the logging of that version.
 * - Each write_version bump deletes the versions older than VERSIONS_KEPT: readers further behind drop
 *   what they hold for the organization.
 */
export function changeLogMigration(dialect: Dialect): Migration {
  return dialect === 'postgres' ? postgres : sqlite;
}

/** Rows one write_version may log before a marker stands for all of them. */
const CHANGE_LOG_ROWS_PER_VERSION = 100;
/** Versions of an organization's log kept behind its current write_version. */
export const CHANGE_LOG_VERSIONS_KEPT = 1000;

/** The columns a `GET users` query filters or sorts on, and user_id (see users/user.changes.ts). */
const LOGGED = [
  'user_id',
  'username_fold',
  'name_fold',
  'status',
  'roles_mask',
  'billing_groups',
  'group_owners',
  'last_login_date',
  'last_updated_date',
];

const sqliteJson = (row: string) => `json_object(${LOGGED.map((c) => `'${c}', ${row}.${c}`).join(', ')})`;
const pgJson = (row: string) => `json_build_object(${LOGGED.map((c) => `'${c}', ${row}.${c}`).join(', ')})::text`;

const N = CHANGE_LOG_ROWS_PER_VERSION;

/** SQLite: one row trigger per operation; `row` is `new` or `old` (the row whose org_id counts). */
function sqliteTrigger(name: string, event: string, row: 'new' | 'old', before: string, after: string): string {
  const v = `(select write_version from organizations where id = ${row}.org_id)`;
  const here = `org_id = ${row}.org_id and version = ${v}`;
  return `create trigger ${name} after ${event} on users
    when not exists (select 1 from user_changes where ${here} and user_id is null)
    begin
      insert into user_changes (org_id, version, user_id, before, after)
        values (${row}.org_id, ${v}, ${row}.user_id, ${before}, ${after});
      insert into user_changes (org_id, version, user_id)
        select ${row}.org_id, ${v}, null
        where (select count(*) from (select 1 from user_changes where ${here} limit ${N + 1})) > ${N};
      delete from user_changes where ${here} and user_id is not null
        and exists (select 1 from user_changes where ${here} and user_id is null);
    end`;
}

const SQLITE_TRIGGERS: Record<string, string> = {
  user_changes_ai: sqliteTrigger('user_changes_ai', 'insert', 'new', 'null', sqliteJson('new')),
  user_changes_au: sqliteTrigger('user_changes_au', 'update', 'new', sqliteJson('old'), sqliteJson('new')),
  user_changes_ad: sqliteTrigger('user_changes_ad', 'delete', 'old', sqliteJson('old'), 'null'),
  user_changes_prune: `create trigger user_changes_prune after update of write_version on organizations begin
      delete from user_changes where org_id = new.id and version <= new.write_version - ${CHANGE_LOG_VERSIONS_KEPT};
    end`,
};

const sqlite: Migration = {
  async up(db: Kysely<any>) {
    await sql`create table user_changes (
      id integer primary key, org_id integer not null, version integer not null,
      user_id text, before text, after text)`.execute(db);
    await sql`create index user_changes_org_version_idx on user_changes (org_id, version)`.execute(db);
    for (const ddl of Object.values(SQLITE_TRIGGERS)) await sql.raw(ddl).execute(db);
  },
  async down(db: Kysely<any>) {
    for (const name of Object.keys(SQLITE_TRIGGERS)) await sql.raw(`drop trigger ${name}`).execute(db);
    await sql`drop table user_changes`.execute(db);
  },
};

/**
 * PostgreSQL: statement triggers with transition tables (as migration 004's counts), so that a bulk
 * statement logs in one pass; `source` joins the transition tables, `row` names the one whose org_id counts.
 */
function pgFunction(name: string, source: string, row: 'n' | 'o', before: string, after: string): string {
  return `create function ${name}() returns trigger language plpgsql as $$
    declare r record;
    begin
      -- A writer that bumps write_version last logs at the version before its own: the row lock keeps any
      -- other writer from committing in between, so readers (who read from their version on) still see it.
      perform 1 from organizations g where g.id in (select ${row}.org_id from ${source}) for update of g;
      for r in select ${row}.org_id, g.write_version as v, count(*) as n
          from ${source} join organizations g on g.id = ${row}.org_id group by ${row}.org_id, g.write_version loop
        continue when exists (select 1 from user_changes
          where org_id = r.org_id and version = r.v and user_id is null);
        if r.n + (select count(*) from (select 1 from user_changes
            where org_id = r.org_id and version = r.v limit ${N + 1}) x) > ${N} then
          delete from user_changes where org_id = r.org_id and version = r.v;
          insert into user_changes (org_id, version, user_id) values (r.org_id, r.v, null);
        else
          insert into user_changes (org_id, version, user_id, before, after)
            select ${row}.org_id, r.v, ${row}.user_id, ${before}, ${after} from ${source} where ${row}.org_id = r.org_id;
        end if;
      end loop;
      return null;
    end $$`;
}

const PG_FUNCTIONS: Record<string, string> = {
  roster_user_changes_ins: pgFunction('roster_user_changes_ins', 'new_rows n', 'n', 'null', pgJson('n')),
  roster_user_changes_upd: pgFunction(
    'roster_user_changes_upd',
    'new_rows n join old_rows o on o.id = n.id',
    'n',
    pgJson('o'),
    pgJson('n'),
  ),
  roster_user_changes_del: pgFunction('roster_user_changes_del', 'old_rows o', 'o', pgJson('o'), 'null'),
  roster_user_changes_prune: `create function roster_user_changes_prune() returns trigger language plpgsql as $$
    begin
      delete from user_changes where org_id = new.id and version <= new.write_version - ${CHANGE_LOG_VERSIONS_KEPT};
      return null;
    end $$`,
};

const postgres: Migration = {
  async up(db: Kysely<any>) {
    await sql`create table user_changes (
      id bigint generated always as identity primary key, org_id integer not null, version integer not null,
      user_id text collate "C", before text, after text)`.execute(db);
    await sql`create index user_changes_org_version_idx on user_changes (org_id, version)`.execute(db);
    for (const ddl of Object.values(PG_FUNCTIONS)) await sql.raw(ddl).execute(db);
    await sql`create trigger user_changes_ins after insert on users referencing new table as new_rows
      for each statement execute function roster_user_changes_ins()`.execute(db);
    await sql`create trigger user_changes_upd after update on users referencing old table as old_rows new table as new_rows
      for each statement execute function roster_user_changes_upd()`.execute(db);
    await sql`create trigger user_changes_del after delete on users referencing old table as old_rows
      for each statement execute function roster_user_changes_del()`.execute(db);
    await sql`create trigger user_changes_prune after update of write_version on organizations
      for each row execute function roster_user_changes_prune()`.execute(db);
  },
  async down(db: Kysely<any>) {
    await sql`drop trigger user_changes_prune on organizations`.execute(db);
    await sql`drop trigger user_changes_del on users`.execute(db);
    await sql`drop trigger user_changes_upd on users`.execute(db);
    await sql`drop trigger user_changes_ins on users`.execute(db);
    for (const name of Object.keys(PG_FUNCTIONS)) await sql.raw(`drop function ${name}()`).execute(db);
    await sql`drop table user_changes`.execute(db);
  },
};

/** This migration's pruning of the log, which migration 012 bounds: its `down` puts this back. */
export const UNBOUNDED_PRUNE = {
  sqlite: SQLITE_TRIGGERS.user_changes_prune!,
  postgres: PG_FUNCTIONS.roster_user_changes_prune!,
};
