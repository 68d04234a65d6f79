import type { Transaction } from 'kysely';
import type { Database, NewUserRow, UserRow } from '../db/tables.js';
import { writeAccessRows } from './user.repository.js';

/** Rewrites an organization's user row (found by its internal id) and its access rows; returns the stored row. */
export async function updateUserRow(trx: Transaction<Database>, orgId: number, userPk: number, row: NewUserRow): Promise<UserRow> {
  const updated = await trx
    .updateTable('users')
    .set({ ...row, org_id: orgId })
    .where('org_id', '=', orgId)
    .where('id', '=', userPk)
    .returningAll()
    .executeTakeFirstOrThrow();
  await writeAccessRows(trx, orgId, userPk, row.billing_groups, row.group_owners);
  return updated;
}

/** The record of one deactivation, with its instructions for the reporting side. */
export interface DeactivationRecord {
  readonly orgId: number;
  readonly userId: string;
  readonly deactivatedAt: string;
  readonly reassignGroupsTo: string | null;
  readonly groupsMoved: readonly string[];
  readonly reassignReportsTo: string | null;
  readonly deleteScheduledReports: boolean;
  readonly actor: string;
  readonly requestId: string | null;
}

/** Records a deactivation in user_deactivations (in the deactivation's own transaction). */
export async function insertDeactivation(trx: Transaction<Database>, record: DeactivationRecord): Promise<void> {
  await trx
    .insertInto('user_deactivations')
    .values({
      org_id: record.orgId,
      user_id: record.userId,
      deactivated_at: record.deactivatedAt,
      reassign_groups_to_user: record.reassignGroupsTo,
      groups_moved: record.groupsMoved.join(','),
      reassign_reports_to_user: record.reassignReportsTo,
      delete_scheduled_reports: record.deleteScheduledReports ? 1 : 0,
      actor: record.actor,
      request_id: record.requestId,
    })
    .execute();
}
