import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

/** A group (advertiser) row to insert; `id` only when keeping an id given from elsewhere. */
export interface NewGroup {
  id?: number;
  org_id: number;
  name: string;
  billing_group_id: number;
  status: 'active' | 'inactive';
}

/** Inserts a group; returns its id. */
export async function insertGroup(trx: Transaction<Database>, row: NewGroup): Promise<number> {
  const { id } = await trx.insertInto('groups').values(row).returning('id').executeTakeFirstOrThrow();
  return id;
}
