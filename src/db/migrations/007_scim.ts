import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../connect.js';
import { columnsFor } from './columns.js';

/**
 * SCIM 2.0 provisioning (docs/scim.md):
 *
 * - `external_id`, `given_name`, `family_name`: what an identity provider
 *   sends that the Roster API has no field for, kept so that it round-trips.
 * - `created_at`: when the user was created (SCIM `meta.created`). Existing
 *   rows take the time of their first audit entry (their creation through the
 *   API), else their last_updated_date: the earliest time Roster knows of.
 * - `scim_deleted_at`: set by SCIM DELETE; such a user is gone for SCIM and
 *   stays, deactivated and renamed, in the API.
 * - `audit_entries.via`: `scim` for writes that came through SCIM.
 * - Indexes for the filters identity providers send (externalId, emails) and
 *   for the count of deleted users that lists subtract.
 */
export function scimMigration(dialect: Dialect): Migration {
  const { text } = columnsFor(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('users').addColumn('external_id', 'text', text).execute();
      await db.schema
        .alterTable('users')
        .addColumn('given_name', 'text', (c) => text(c).notNull().defaultTo(''))
        .execute();
      await db.schema
        .alterTable('users')
        .addColumn('family_name', 'text', (c) => text(c).notNull().defaultTo(''))
        .execute();
      await db.schema
        .alterTable('users')
        .addColumn('created_at', 'text', (c) => text(c).notNull().defaultTo(''))
        .execute();
      await db.schema.alterTable('users').addColumn('scim_deleted_at', 'text', text).execute();
      await sql`update users set created_at = coalesce(
          (select min(a.at) from audit_entries a
            where a.org_id = users.org_id and a.target_id = users.user_id and a.target_type = 'user'),
          last_updated_date)`.execute(db);
      await db.schema.createIndex('users_org_external_id_idx').on('users').columns(['org_id', 'external_id']).execute();
      await db.schema
        .createIndex('users_org_email_idx')
        .on('users')
        .expression(sql`org_id, lower(email)`)
        .execute();
      await db.schema
        .createIndex('users_org_scim_deleted_idx')
        .on('users')
        .columns(['org_id', 'scim_deleted_at'])
        .execute();
      await db.schema.alterTable('audit_entries').addColumn('via', 'text', text).execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.alterTable('audit_entries').dropColumn('via').execute();
      for (const index of ['users_org_scim_deleted_idx', 'users_org_email_idx', 'users_org_external_id_idx'])
        await db.schema.dropIndex(index).execute();
      for (const column of ['scim_deleted_at', 'created_at', 'family_name', 'given_name', 'external_id'])
        await db.schema.alterTable('users').dropColumn(column).execute();
    },
  };
}
