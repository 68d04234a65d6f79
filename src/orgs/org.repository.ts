import type { Db, OrganizationRow } from '../db/schema.js';

/** Creates an organization; returns its id. */
export async function insertOrganization(db: Db, name: string, createdAt: string): Promise<number> {
  const row = await db.insertInto('organizations').values({ name, created_at: createdAt }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/** The organization with this name, if any. */
export async function findOrganizationByName(db: Db, name: string): Promise<OrganizationRow | undefined> {
  return db.selectFrom('organizations').selectAll().where('name', '=', name).executeTakeFirst();
}

/** How many organizations exist. */
export async function countOrganizations(db: Db): Promise<number> {
  const row = await db.selectFrom('organizations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}
