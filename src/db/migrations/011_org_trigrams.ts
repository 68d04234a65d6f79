import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../connect.js';
import { SQLITE_TRGM_TRIGGERS } from './004_performance.js';

/**
 * Substring search indexes scoped by organization (issue 13, point 3): migration 004's trigram indexes
 * held every organization's names in one posting list per trigram, with the organization filter after the
 * match, so one organization's data changed the cost of another's search. Here every indexed term is an
 * (organization, column, trigram) triple: a search reads only its own organization's posting lists.
 *
 * - SQLite: `users_trgm` becomes an FTS5 index over the view `users_trgm_source`, whose columns hold
 *   the terms `u<org>x<hex of the trigram's UTF-8>` (usernames) and `n<org>x…` (names), space-separated
 *   (`ascii` tokenizer, `detail=none`: rowids only). A needle is the AND of its trigrams' terms; the
 *   LIKE that follows rechecks order and adjacency. The table, its columns, its triggers and FTS5
 *   `rebuild` keep their names, so bulk loads that set the triggers aside work as before.
 * - PostgreSQL: the GIN indexes, under their old names, index `roster_org_trigrams(org_id, column)`, the
 *   array of `<org>:<trigram>` strings, queried with `@>` and rechecked by the same LIKE.
 */
export function orgTrigramsMigration(dialect: Dialect): Migration {
  return dialect === 'postgres' ? postgres : sqlite;
}

/** The longest fold a trigram is taken from (no stored fold is longer: user.list.repository.ts). */
const MAX_FOLD = 2048;

/** SQLite: the space-separated terms of `column` of `row` (`new`, `old`, or the table itself). */
const sqliteTerms = (prefix: string, row: string, column: string) =>
  `(select group_concat('${prefix}' || ${row}.org_id || 'x' || hex(substr(${row}.${column}, n, 3)), ' ')
     from trigram_positions where n <= length(${row}.${column}) - 2)`;
/** The two indexed columns of a row, in users_trgm's order (named after the columns they index). */
const sqliteColumns = (row: string) =>
  `${sqliteTerms('u', row, 'username_fold')}, ${sqliteTerms('n', row, 'name_fold')}`;

const SQLITE_TRIGGERS = [
  `create trigger users_trgm_ai after insert on users begin
     insert into users_trgm(rowid, username_fold, name_fold) values (new.id, ${sqliteColumns('new')});
   end`,
  `create trigger users_trgm_ad after delete on users begin
     insert into users_trgm(users_trgm, rowid, username_fold, name_fold) values ('delete', old.id, ${sqliteColumns('old')});
   end`,
  `create trigger users_trgm_au after update of username_fold, name_fold on users
     when old.username_fold <> new.username_fold or old.name_fold <> new.name_fold begin
     insert into users_trgm(users_trgm, rowid, username_fold, name_fold) values ('delete', old.id, ${sqliteColumns('old')});
     insert into users_trgm(rowid, username_fold, name_fold) values (new.id, ${sqliteColumns('new')});
   end`,
];

const dropSqliteTrigrams = async (db: Kysely<any>) => {
  for (const t of ['users_trgm_ai', 'users_trgm_ad', 'users_trgm_au'])
    await sql.raw(`drop trigger if exists ${t}`).execute(db);
  await sql`drop table users_trgm`.execute(db);
};

const sqlite: Migration = {
  async up(db: Kysely<any>) {
    await dropSqliteTrigrams(db);
    await sql`create table trigram_positions (n integer primary key)`.execute(db);
    await sql`insert into trigram_positions (n)
      with recursive p(n) as (select 1 union all select n + 1 from p where n < ${sql.lit(MAX_FOLD)}) select n from p`.execute(
      db,
    );
    await sql
      .raw(
        `create view users_trgm_source (id, username_fold, name_fold) as select id, ${sqliteColumns('users')} from users`,
      )
      .execute(db);
    await sql`create virtual table users_trgm using fts5(username_fold, name_fold, content='users_trgm_source', content_rowid='id', tokenize='ascii', detail='none')`.execute(
      db,
    );
    await sql`insert into users_trgm(users_trgm) values ('rebuild')`.execute(db);
    for (const t of SQLITE_TRIGGERS) await sql.raw(t).execute(db);
  },
  async down(db: Kysely<any>) {
    await dropSqliteTrigrams(db);
    await sql`drop view users_trgm_source`.execute(db);
    await sql`drop table trigram_positions`.execute(db);
    await sql`create virtual table users_trgm using fts5(username_fold, name_fold, content='users', content_rowid='id', tokenize='trigram case_sensitive 1')`.execute(
      db,
    );
    await sql`insert into users_trgm(users_trgm) values ('rebuild')`.execute(db);
    for (const t of SQLITE_TRGM_TRIGGERS) await sql.raw(t).execute(db);
  },
};

const postgres: Migration = {
  async up(db: Kysely<any>) {
    await sql`drop index users_username_trgm`.execute(db);
    await sql`drop index users_name_trgm`.execute(db);
    await sql`create function roster_org_trigrams(org integer, t text) returns text[]
      language sql immutable strict parallel safe
      return array(select distinct org::text || ':' || substr(t, i, 3) from generate_series(1, char_length(t) - 2) i)`.execute(
      db,
    );
    await sql`create index users_username_trgm on users using gin (roster_org_trigrams(org_id, username_fold))`.execute(
      db,
    );
    await sql`create index users_name_trgm on users using gin (roster_org_trigrams(org_id, name_fold))`.execute(db);
  },
  async down(db: Kysely<any>) {
    await sql`drop index users_name_trgm`.execute(db);
    await sql`drop index users_username_trgm`.execute(db);
    await sql`drop function roster_org_trigrams(integer, text)`.execute(db);
    await sql`create index users_username_trgm on users using gin (username_fold gin_trgm_ops)`.execute(db);
    await sql`create index users_name_trgm on users using gin (name_fold gin_trgm_ops)`.execute(db);
  },
};
