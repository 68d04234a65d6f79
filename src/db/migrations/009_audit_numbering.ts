import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../connect.js';

/**
 * Audit entries numbered per organization (docs/security.md section 15): `audit_id` on the wire was the
 * table's id, one sequence for every organization, so the gaps between an organization's own entries
 * showed how much the others wrote. Each organization now counts its own (`organizations.audit_seq`, taken
 * with an UPDATE … RETURNING that holds the organization's row until the write commits), and existing
 * entries are numbered 1, 2, 3… per organization in the order they were written.
 */
export function auditNumberingMigration(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('organizations')
        .addColumn('audit_seq', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('audit_entries').addColumn('org_seq', 'integer').execute();
      // UPDATE … FROM and window functions: the same statement on PostgreSQL and SQLite (3.33+).
      await sql`update audit_entries set org_seq = numbered.seq
        from (select id, row_number() over (partition by org_id order by id) as seq from audit_entries) as numbered
        where audit_entries.id = numbered.id`.execute(db);
      await sql`update organizations set audit_seq =
        coalesce((select max(org_seq) from audit_entries where audit_entries.org_id = organizations.id), 0)`.execute(
        db,
      );
      if (dialect === 'postgres') await sql`alter table audit_entries alter column org_seq set not null`.execute(db);
      await db.schema
        .createIndex('audit_org_seq_uq')
        .on('audit_entries')
        .columns(['org_id', 'org_seq'])
        .unique()
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropIndex('audit_org_seq_uq').execute();
      await db.schema.alterTable('audit_entries').dropColumn('org_seq').execute();
      await db.schema.alterTable('organizations').dropColumn('audit_seq').execute();
    },
  };
}
