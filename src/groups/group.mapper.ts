import type { GroupRow } from '../db/tables.js';
import type { Group } from './group.schemas.js';

/** The one mapping from a row to the API's group object. */
export function groupRowToGroup(row: GroupRow): Group {
  return { group_id: row.id, group_name: row.name, billing_group_id: row.billing_group_id, status: row.status };
}

/** A group's ETag: changes on every write to it. */
export function groupEtag(row: Pick<GroupRow, 'id' | 'version'>): string {
  return `"g${row.id}.${row.version}"`;
}
