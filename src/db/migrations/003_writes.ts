import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../connect.js';
import { columnsFor } from './columns.js';

/**
 * The write side: a version (the ETag) on billing groups and groups, and the
 * record of each deactivation with its instructions for the reporting side.
 */
export function writesMigration(dialect: Dialect): Migration {
  const { id, text } = columnsFor(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('billing_groups')
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema
        .alterTable('groups')
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      // The leaf rule looks up a billing group's children and groups.
      await db.schema
        .createIndex('billing_groups_parent_idx')
        .on('billing_groups')
        .columns(['org_id', 'parent_id'])
        .execute();
      await db.schema
        .createIndex('groups_billing_group_idx')
        .on('groups')
        .columns(['org_id', 'billing_group_id'])
        .execute();

      await db.schema
        .createTable('user_deactivations')
        .addColumn('id', 'integer', id)
        .addColumn('org_id', 'integer', (c) => c.notNull().references('organizations.id'))
        .addColumn('user_id', 'text', (c) => text(c).notNull())
        .addColumn('deactivated_at', 'text', (c) => text(c).notNull())
        .addColumn('reassign_groups_to_user', 'text', text)
        .addColumn('groups_moved', 'text', (c) => text(c).notNull())
        .addColumn('reassign_reports_to_user', 'text', text)
        .addColumn('delete_scheduled_reports', 'integer', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => text(c).notNull())
        .addColumn('request_id', 'text', text)
        .execute();
      await db.schema
        .createIndex('user_deactivations_org_user_idx')
        .on('user_deactivations')
        .columns(['org_id', 'user_id', 'id'])
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('user_deactivations').execute();
      await db.schema.dropIndex('groups_billing_group_idx').execute();
      await db.schema.dropIndex('billing_groups_parent_idx').execute();
      await db.schema.alterTable('groups').dropColumn('version').execute();
      await db.schema.alterTable('billing_groups').dropColumn('version').execute();
    },
  };
}
