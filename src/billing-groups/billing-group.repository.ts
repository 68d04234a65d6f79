import { sql, type Transaction } from 'kysely';
import type { Dialect } from '../db/connect.js';
import type { Database } from '../db/schema.js';

/** A billing group row to insert; `id` only when keeping an id given from elsewhere (demo data, imports). */
export interface NewBillingGroup {
  id?: number;
  org_id: number;
  name: string;
  status: 'active' | 'inactive';
  parent_id: number | null;
  depth: number;
}

/** Inserts a billing group; returns its id. */
export async function insertBillingGroup(trx: Transaction<Database>, row: NewBillingGroup): Promise<number> {
  const { id } = await trx.insertInto('billing_groups').values(row).returning('id').executeTakeFirstOrThrow();
  return id;
}

/**
 * After rows were inserted with explicit ids, moves PostgreSQL's identity
 * sequences past them (SQLite's AUTOINCREMENT follows the largest id by itself).
 */
export async function syncIdSequences(trx: Transaction<Database>, dialect: Dialect): Promise<void> {
  if (dialect !== 'postgres') return;
  for (const table of ['billing_groups', 'groups']) {
    await sql`select setval(pg_get_serial_sequence(${table}, 'id'), greatest((select max(id) from ${sql.table(table)}), 1))`.execute(trx);
  }
}
