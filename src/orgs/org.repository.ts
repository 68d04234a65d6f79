import { sql, type Transaction } from 'kysely';
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
 * The statement that increments the organization's write_version, the key of any per-organization cache, as
 * text without parameters (the id is an integer, checked), so that group commit can send it in one round trip
 * with the savepoint before it (db/group-commit.ts). Every write transaction runs it first: on PostgreSQL the
 * row lock it takes also serializes the organization's writes, so no two can deadlock.
 */
export function bumpWriteVersionStatement(orgId: number): string {
  if (!Number.isSafeInteger(orgId)) throw new TypeError(`An organization id is an integer, not ${String(orgId)}`);
  return `update organizations set write_version = write_version + 1 where id = ${orgId}`;
}

/** Runs bumpWriteVersionStatement inside a transaction; returns the new write_version. */
export async function bumpWriteVersion(trx: Transaction<Database>, orgId: number): Promise<number> {
  const { rows } = await sql
    .raw<{ write_version: number | string }>(`${bumpWriteVersionStatement(orgId)} returning write_version`)
    .execute(trx);
  if (rows[0] === undefined) throw new Error(`No organization ${orgId}`);
  return Number(rows[0].write_version);
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
