import type { Transaction } from 'kysely';
import { precompiled } from '../db/dialect.js';
import type { Database, Db, OrganizationRow } from '../db/tables.js';

/** Creates an organization; returns its id. */
export async function insertOrganization(db: Db, name: string, createdAt: string): Promise<number> {
  const row = await db
    .insertInto('organizations')
    .values({ name, created_at: createdAt })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** The organization with this name, if any. */
export async function findOrganizationByName(db: Db, name: string): Promise<OrganizationRow | undefined> {
  return db.selectFrom('organizations').selectAll().where('name', '=', name).executeTakeFirst();
}

/** How many organizations exist. */
export async function countOrganizations(db: Db): Promise<number> {
  const row = await db
    .selectFrom('organizations')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Increments the organization's write_version, the key of any per-organization
 * cache. Call it first in every write transaction: on PostgreSQL the row lock it
 * takes also serializes the organization's writes, so no two can deadlock.
 */
export async function bumpWriteVersion(trx: Transaction<Database>, orgId: number): Promise<number> {
  const row = await trx
    .updateTable('organizations')
    .set((eb) => ({ write_version: eb('write_version', '+', 1) }))
    .where('id', '=', orgId)
    .returning('write_version')
    .executeTakeFirstOrThrow();
  return Number(row.write_version);
}

// Read on every uncached request: compiled once per dialect.
const writeVersionQuery = precompiled((db) =>
  db.selectFrom('organizations').select('write_version').where('id', '=', 0),
);

/** The organization's write_version (bumped by every write to its directory); -1 when there is no such organization. */
export async function findWriteVersion(db: Db, orgId: number): Promise<number> {
  const row = await writeVersionQuery(db, [orgId]);
  return row ? Number(row.write_version) : -1;
}

/** The organization with this id, if any. */
export async function findOrganizationById(db: Db, orgId: number): Promise<OrganizationRow | undefined> {
  return db.selectFrom('organizations').selectAll().where('id', '=', orgId).executeTakeFirst();
}
