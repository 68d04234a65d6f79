import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../connect.js';

/**
 * Performance at a million users per organization:
 *
 * - `user_counts`: exact user counts per (organization, status, roles_mask),
 *   maintained by triggers on `users`, so that every writer (API, import,
 *   demo seed, a manual SQL fix) keeps them right. Any `status`/`role`
 *   filter's total is a sum over at most 3 × 256 buckets.
 *   SQLite: one row per bucket, updated by row triggers (writers are
 *   serialized by the database lock anyway). PostgreSQL: statement triggers
 *   with transition tables append signed deltas (never update a shared row,
 *   so concurrent writers neither wait on nor deadlock over a hot counter);
 *   readers sum them, and `compactUserCounts` folds them back.
 * - Trigram indexes for the substring searches over the folded columns:
 *   SQLite FTS5 `trigram` (external content, exact and case-sensitive over
 *   the folded text) and PostgreSQL `pg_trgm` GIN indexes (LIKE is rechecked,
 *   so the index only narrows; answers stay the plain scan's).
 * - (org_id, sort column, user_id) indexes for the other sorts already exist;
 *   the username order gets one including user_id so that PostgreSQL can
 *   walk pages index-only.
 */
export function performanceMigration(dialect: Dialect): Migration {
  return dialect === 'postgres' ? postgres : sqlite;
}

/** The SQLite FTS5 triggers that keep `users_trgm` in step with `users` (also used by the bench loader). */
export const SQLITE_TRGM_TRIGGERS = [
  `create trigger users_trgm_ai after insert on users begin
     insert into users_trgm(rowid, username_fold, name_fold) values (new.id, new.username_fold, new.name_fold);
   end`,
  `create trigger users_trgm_ad after delete on users begin
     insert into users_trgm(users_trgm, rowid, username_fold, name_fold) values ('delete', old.id, old.username_fold, old.name_fold);
   end`,
  `create trigger users_trgm_au after update of username_fold, name_fold on users
     when old.username_fold <> new.username_fold or old.name_fold <> new.name_fold begin
     insert into users_trgm(users_trgm, rowid, username_fold, name_fold) values ('delete', old.id, old.username_fold, old.name_fold);
     insert into users_trgm(rowid, username_fold, name_fold) values (new.id, new.username_fold, new.name_fold);
   end`,
];

const SQLITE_COUNT_TRIGGERS = [
  `create trigger users_counts_ai after insert on users begin
     insert into user_counts(org_id, status, roles_mask, n) values (new.org_id, new.status, new.roles_mask, 1)
       on conflict (org_id, status, roles_mask) do update set n = n + 1;
   end`,
  `create trigger users_counts_ad after delete on users begin
     update user_counts set n = n - 1 where org_id = old.org_id and status = old.status and roles_mask = old.roles_mask;
   end`,
  `create trigger users_counts_au after update of org_id, status, roles_mask on users
     when old.org_id <> new.org_id or old.status <> new.status or old.roles_mask <> new.roles_mask begin
     update user_counts set n = n - 1 where org_id = old.org_id and status = old.status and roles_mask = old.roles_mask;
     insert into user_counts(org_id, status, roles_mask, n) values (new.org_id, new.status, new.roles_mask, 1)
       on conflict (org_id, status, roles_mask) do update set n = n + 1;
   end`,
];

const sqlite: Migration = {
  async up(db: Kysely<any>) {
    await sql`create table user_counts (
      org_id integer not null, status text not null, roles_mask integer not null, n integer not null,
      primary key (org_id, status, roles_mask)) without rowid`.execute(db);
    await sql`insert into user_counts (org_id, status, roles_mask, n)
      select org_id, status, roles_mask, count(*) from users group by org_id, status, roles_mask`.execute(db);
    for (const t of SQLITE_COUNT_TRIGGERS) await sql.raw(t).execute(db);

    // Case-sensitive over the already folded text: a match is exactly a substring of the fold.
    await sql`create virtual table users_trgm using fts5(username_fold, name_fold, content='users', content_rowid='id', tokenize='trigram case_sensitive 1')`.execute(
      db,
    );
    await sql`insert into users_trgm(users_trgm) values ('rebuild')`.execute(db);
    for (const t of SQLITE_TRGM_TRIGGERS) await sql.raw(t).execute(db);
    await sql`analyze`.execute(db);
  },
  async down(db: Kysely<any>) {
    for (const t of [
      'users_trgm_ai',
      'users_trgm_ad',
      'users_trgm_au',
      'users_counts_ai',
      'users_counts_ad',
      'users_counts_au',
    ]) {
      await sql.raw(`drop trigger if exists ${t}`).execute(db);
    }
    await sql`drop table users_trgm`.execute(db);
    await sql`drop table user_counts`.execute(db);
  },
};

/** The PostgreSQL trigram indexes (the bench loader drops and rebuilds them around a bulk load). */
const PG_TRGM_INDEXES = [
  `create index users_username_trgm on users using gin (username_fold gin_trgm_ops)`,
  `create index users_name_trgm on users using gin (name_fold gin_trgm_ops)`,
];

const postgres: Migration = {
  async up(db: Kysely<any>) {
    await sql`create extension if not exists pg_trgm`.execute(db);
    await sql`create table user_counts (
      id bigint generated always as identity primary key,
      org_id integer not null, status text collate "C" not null, roles_mask integer not null, n bigint not null)`.execute(
      db,
    );
    await sql`create index user_counts_org_idx on user_counts (org_id, status, roles_mask)`.execute(db);
    await sql`insert into user_counts (org_id, status, roles_mask, n)
      select org_id, status, roles_mask, count(*) from users group by org_id, status, roles_mask`.execute(db);
    await sql
      .raw(
        `create function roster_user_counts() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' then
          insert into user_counts (org_id, status, roles_mask, n)
            select org_id, status, roles_mask, count(*) from new_rows group by org_id, status, roles_mask;
        elsif tg_op = 'DELETE' then
          insert into user_counts (org_id, status, roles_mask, n)
            select org_id, status, roles_mask, -count(*) from old_rows group by org_id, status, roles_mask;
        else
          insert into user_counts (org_id, status, roles_mask, n)
            select org_id, status, roles_mask, sum(d) from (
              select org_id, status, roles_mask, -1 as d from old_rows
              union all
              select org_id, status, roles_mask, 1 as d from new_rows) t
            group by org_id, status, roles_mask having sum(d) <> 0;
        end if;
        return null;
      end $$`,
      )
      .execute(db);
    await sql`create trigger users_counts_ins after insert on users referencing new table as new_rows
      for each statement execute function roster_user_counts()`.execute(db);
    await sql`create trigger users_counts_del after delete on users referencing old table as old_rows
      for each statement execute function roster_user_counts()`.execute(db);
    await sql`create trigger users_counts_upd after update on users referencing old table as old_rows new table as new_rows
      for each statement execute function roster_user_counts()`.execute(db);

    for (const ddl of PG_TRGM_INDEXES) await sql.raw(ddl).execute(db);
    await sql`create index users_org_username_key_idx on users (org_id, username_fold, user_id)`.execute(db);
  },
  async down(db: Kysely<any>) {
    await sql`drop index users_org_username_key_idx`.execute(db);
    await sql`drop index users_name_trgm`.execute(db);
    await sql`drop index users_username_trgm`.execute(db);
    await sql`drop trigger users_counts_upd on users`.execute(db);
    await sql`drop trigger users_counts_del on users`.execute(db);
    await sql`drop trigger users_counts_ins on users`.execute(db);
    await sql`drop function roster_user_counts()`.execute(db);
    await sql`drop table user_counts`.execute(db);
  },
};
