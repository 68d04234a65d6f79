import { sql, type ColumnDefinitionBuilder, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../connect.js';
import { columnsFor } from './columns.js';

/**
 * The directory's tables. Per-dialect branches: PostgreSQL ids are identity
 * columns, and its text columns use the "C" collation so that sorting is by
 * code point, exactly as on SQLite (the answers must not depend on the backend).
 */
export function coreMigration(dialect: Dialect): Migration {
  const { id, text } = columnsFor(dialect);
  const textNotNull = (col: ColumnDefinitionBuilder) => text(col).notNull();

  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('organizations')
        .addColumn('id', 'integer', id)
        .addColumn('name', 'text', (c) => textNotNull(c).unique())
        .addColumn('created_at', 'text', textNotNull)
        .addColumn('write_version', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'integer', id)
        .addColumn('org_id', 'integer', (c) => c.notNull().references('organizations.id'))
        .addColumn('prefix', 'text', (c) => textNotNull(c).unique())
        .addColumn('key_hash', 'text', (c) => textNotNull(c).unique())
        .addColumn('scope', 'text', (c) => textNotNull(c).check(sql`scope in ('read', 'write', 'admin')`))
        .addColumn('created_at', 'text', textNotNull)
        .addColumn('revoked_at', 'text', text)
        .addColumn('expires_at', 'text', text)
        .addColumn('last_used_at', 'text', text)
        .execute();

      await db.schema
        .createTable('billing_groups')
        .addColumn('id', 'integer', id)
        .addColumn('org_id', 'integer', (c) => c.notNull().references('organizations.id'))
        .addColumn('name', 'text', textNotNull)
        .addColumn('status', 'text', (c) => textNotNull(c).check(sql`status in ('active', 'inactive')`))
        .addColumn('parent_id', 'integer', (c) => c.references('billing_groups.id'))
        .addColumn('depth', 'integer', (c) => c.notNull().check(sql`depth between 1 and 3`))
        .execute();
      await db.schema.createIndex('billing_groups_org_idx').on('billing_groups').columns(['org_id', 'id']).execute();

      await db.schema
        .createTable('groups')
        .addColumn('id', 'integer', id)
        .addColumn('org_id', 'integer', (c) => c.notNull().references('organizations.id'))
        .addColumn('name', 'text', textNotNull)
        .addColumn('billing_group_id', 'integer', (c) => c.notNull().references('billing_groups.id'))
        .addColumn('status', 'text', (c) => textNotNull(c).check(sql`status in ('active', 'inactive')`))
        .execute();
      await db.schema.createIndex('groups_org_idx').on('groups').columns(['org_id', 'id']).execute();

      await db.schema
        .createTable('users')
        .addColumn('id', 'integer', id)
        .addColumn('org_id', 'integer', (c) => c.notNull().references('organizations.id'))
        .addColumn('user_id', 'text', (c) => textNotNull(c).unique())
        .addColumn('username', 'text', textNotNull)
        .addColumn('username_fold', 'text', textNotNull)
        .addColumn('name', 'text', textNotNull)
        .addColumn('name_fold', 'text', textNotNull)
        .addColumn('email', 'text', textNotNull)
        .addColumn('phone', 'text', textNotNull)
        .addColumn('call_detail_level', 'text', textNotNull)
        .addColumn('restrict_recording_download', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', textNotNull)
        .addColumn('last_login_date', 'text', text)
        .addColumn('last_updated_date', 'text', textNotNull)
        .addColumn('deactivation_date', 'text', text)
        .addColumn('roles', 'text', textNotNull)
        .addColumn('roles_mask', 'integer', (c) => c.notNull())
        .addColumn('billing_groups', 'text', textNotNull)
        .addColumn('group_owners', 'text', textNotNull)
        .addColumn('version', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('users_org_username_uq')
        .on('users')
        .columns(['org_id', 'username_fold'])
        .unique()
        .execute();
      await db.schema
        .createIndex('users_org_name_idx')
        .on('users')
        .columns(['org_id', 'name_fold', 'user_id'])
        .execute();
      await db.schema
        .createIndex('users_org_login_idx')
        .on('users')
        .columns(['org_id', 'last_login_date', 'user_id'])
        .execute();
      await db.schema
        .createIndex('users_org_updated_idx')
        .on('users')
        .columns(['org_id', 'last_updated_date', 'user_id'])
        .execute();
      await db.schema
        .createIndex('users_org_status_idx')
        .on('users')
        .columns(['org_id', 'status', 'username_fold'])
        .execute();

      await db.schema
        .createTable('user_billing_groups')
        .addColumn('org_id', 'integer', (c) => c.notNull())
        .addColumn('user_pk', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('billing_group_id', 'integer', (c) => c.notNull().references('billing_groups.id'))
        .addPrimaryKeyConstraint('user_billing_groups_pk', ['user_pk', 'billing_group_id'])
        .execute();
      await db.schema
        .createIndex('user_billing_groups_bg_idx')
        .on('user_billing_groups')
        .columns(['org_id', 'billing_group_id', 'user_pk'])
        .execute();

      await db.schema
        .createTable('user_group_owners')
        .addColumn('org_id', 'integer', (c) => c.notNull())
        .addColumn('user_pk', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('group_id', 'integer', (c) => c.notNull().references('groups.id'))
        .addPrimaryKeyConstraint('user_group_owners_pk', ['user_pk', 'group_id'])
        .execute();
      await db.schema
        .createIndex('user_group_owners_group_idx')
        .on('user_group_owners')
        .columns(['org_id', 'group_id', 'user_pk'])
        .execute();
    },

    async down(db: Kysely<any>) {
      for (const table of [
        'user_group_owners',
        'user_billing_groups',
        'users',
        'groups',
        'billing_groups',
        'api_keys',
        'organizations',
      ]) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}
