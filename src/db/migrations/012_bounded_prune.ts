import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../connect.js';
import { CHANGE_LOG_VERSIONS_KEPT, UNBOUNDED_PRUNE } from './010_change_log.js';

/**
 * The change log's pruning deletes only the versions a bump moves out of the kept window: versions after
 * `old.write_version - KEPT` up to `new.write_version - KEPT`. Migration 010 deleted every version up to
 * the window, an index range that begins with every row deleted before: on PostgreSQL those stay in the
 * index as dead entries until VACUUM, and each bump walked them all (14 ms a write after 23,000 writes with
 * autovacuum off, inside the organization's serialized write). Every older version was already deleted by
 * the bump that moved it out, so both delete the same rows.
 */
export function boundedPruneMigration(dialect: Dialect): Migration {
  return dialect === 'postgres' ? postgres : sqlite;
}

const KEPT = CHANGE_LOG_VERSIONS_KEPT;
const range = (org: string) =>
  `org_id = ${org} and version > old.write_version - ${KEPT} and version <= new.write_version - ${KEPT}`;

const sqlite: Migration = {
  async up(db: Kysely<any>) {
    await sql`drop trigger user_changes_prune`.execute(db);
    await sql
      .raw(
        `create trigger user_changes_prune after update of write_version on organizations begin
           delete from user_changes where ${range('new.id')};
         end`,
      )
      .execute(db);
  },
  async down(db: Kysely<any>) {
    await sql`drop trigger user_changes_prune`.execute(db);
    await sql.raw(UNBOUNDED_PRUNE.sqlite).execute(db);
  },
};

const postgres: Migration = {
  async up(db: Kysely<any>) {
    await sql
      .raw(
        `create or replace function roster_user_changes_prune() returns trigger language plpgsql as $$
           begin
             delete from user_changes where ${range('new.id')};
             return null;
           end $$`,
      )
      .execute(db);
  },
  async down(db: Kysely<any>) {
    await sql.raw(UNBOUNDED_PRUNE.postgres.replace(/^create function/, 'create or replace function')).execute(db);
  },
};
