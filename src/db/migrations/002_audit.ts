import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../connect.js';
import { columnsFor } from './columns.js';

/** The audit trail: one append-only row per write, written in the write's own transaction. */
export function auditMigration(dialect: Dialect): Migration {
  const { id, text } = columnsFor(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('audit_entries')
        .addColumn('id', 'integer', id)
        .addColumn('org_id', 'integer', (c) => c.notNull().references('organizations.id'))
        .addColumn('at', 'text', (c) => text(c).notNull())
        .addColumn('actor_key_id', 'integer')
        .addColumn('actor', 'text', (c) => text(c).notNull())
        .addColumn('action', 'text', (c) => text(c).notNull())
        .addColumn('target_type', 'text', (c) => text(c).notNull())
        .addColumn('target_id', 'text', (c) => text(c).notNull())
        .addColumn('changes', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text')
        .execute();
      await db.schema.createIndex('audit_org_idx').on('audit_entries').columns(['org_id', 'id']).execute();
      await db.schema
        .createIndex('audit_org_target_idx')
        .on('audit_entries')
        .columns(['org_id', 'target_id', 'id'])
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('audit_entries').execute();
    },
  };
}
