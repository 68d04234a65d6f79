import type { BillingGroupRow } from '../db/tables.js';
import type { BillingGroup } from './billing-group.schemas.js';

/** The one mapping from a row to the API's billing group object. */
export function billingGroupRowToBillingGroup(row: BillingGroupRow): BillingGroup {
  return { billing_group_id: row.id, billing_group_name: row.name, status: row.status, parent_id: row.parent_id };
}

/** A billing group's ETag: changes on every write to it. */
export function billingGroupEtag(row: Pick<BillingGroupRow, 'id' | 'version'>): string {
  return `"bg${row.id}.${row.version}"`;
}
