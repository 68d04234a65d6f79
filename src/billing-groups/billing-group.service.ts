import type { Transaction } from 'kysely';
import { diffFields } from '../audit/audit.mapper.js';
import { createAuditService } from '../audit/audit.service.js';
import { isSqlite, syncIdSequences } from '../db/dialect.js';
import type { BillingGroupRow, Database, Db, NewBillingGroupRow } from '../db/tables.js';
import { AppError, invalidFields, notFound, type ProblemItem } from '../errors.js';
import { listEtag } from '../http/etags.js';
import { checkIfMatch, parseIfMatch } from '../http/preconditions.js';
import { createOrgService } from '../orgs/org.service.js';
import type { WriteContext } from '../shared/actor.js';
import { quoteValue } from '../shared/text.js';
import { billingGroupEtag, billingGroupRowToBillingGroup } from './billing-group.mapper.js';
import {
  findBillingGroupById,
  findBillingGroups,
  findBillingGroupsByIds,
  hasChildBillingGroups,
  hasGroupsOn,
  insertBillingGroup,
  updateBillingGroup,
} from './billing-group.repository.js';
import type { BillingGroup, BillingGroupCreate, BillingGroupUpdate } from './billing-group.schemas.js';

/** The hierarchy is at most this deep (the original product's rule). */
const MAX_DEPTH = 3;

const snapshot = (row: BillingGroupRow) => billingGroupRowToBillingGroup(row) as unknown as Record<string, unknown>;

/** Billing groups: a hierarchy of at most three levels; groups hang on its leaves. */
export function createBillingGroupService(db: Db) {
  const orgs = createOrgService(db);
  const audit = createAuditService(db);
  async function requireBillingGroup(dbOrTrx: Db, orgId: number, id: string): Promise<BillingGroupRow> {
    const row = await findBillingGroupById(dbOrTrx, orgId, Number(id));
    if (!row) throw notFound(`Billing group ${id}`);
    return row;
  }

  return {
    /** Every billing group, with the list's ETag (read before the rows, so that a tag never outlives its data). */
    async listBillingGroups(orgId: number): Promise<{ etag: string; body: BillingGroup[] }> {
      const etag = listEtag('billinggroups', await orgs.findWriteVersion(orgId));
      return { etag, body: (await findBillingGroups(db, orgId)).map(billingGroupRowToBillingGroup) };
    },

    getBillingGroup: (orgId: number, id: string) => requireBillingGroup(db, orgId, id),

    /**
     * Creates a root (parentId undefined) or a child of an active billing group that holds no groups, at most
     * MAX_DEPTH deep. `keepId`: the id it must have (an import of an exported hierarchy).
     */
    async createBillingGroup(
      ctx: WriteContext,
      parentId: string | undefined,
      body: BillingGroupCreate,
      keepId?: number,
    ): Promise<BillingGroupRow> {
      return orgs.inWriteTransaction(ctx.orgId, async (trx) => {
        let depth = 1;
        let parent: BillingGroupRow | null = null;
        if (parentId !== undefined) {
          parent = await requireBillingGroup(trx, ctx.orgId, parentId);
          if (parent.depth >= MAX_DEPTH) {
            throw new AppError(
              'VALIDATION_FAILED',
              `Billing group ${parent.id} is on level ${parent.depth}: the hierarchy is at most ${MAX_DEPTH} levels deep, so it cannot have children. Create the billing group under a level 1 or 2 billing group.`,
              {
                errors: [
                  {
                    parameter: 'id',
                    message: `is on level ${parent.depth} of at most ${MAX_DEPTH} (got ${quoteValue(parentId)})`,
                  },
                ],
              },
            );
          }
          if (parent.status === 'inactive') {
            throw new AppError(
              'CONFLICT',
              `Billing group ${parent.id} is inactive: activate it before adding billing groups under it.`,
            );
          }
          if (await hasGroupsOn(trx, ctx.orgId, parent.id)) {
            throw new AppError(
              'CONFLICT',
              `Billing group ${parent.id} holds groups, and groups hang only on leaf billing groups: move its groups to another leaf (PUT groups/{id}) before adding billing groups under it.`,
            );
          }
          depth = parent.depth + 1;
        }
        const id = await insertBillingGroup(trx, {
          ...(keepId !== undefined ? { id: keepId } : {}),
          org_id: ctx.orgId,
          name: body.billing_group_name,
          status: body.status ?? 'active',
          parent_id: parent?.id ?? null,
          depth,
        });
        if (keepId !== undefined) await syncIdSequences(trx, isSqlite(trx) ? 'sqlite' : 'postgres');
        const row = await requireBillingGroup(trx, ctx.orgId, String(id));
        await audit.appendEntry(trx, {
          orgId: ctx.orgId,
          actor: ctx.actor,
          action: 'billing_group.create',
          targetType: 'billing_group',
          targetId: String(id),
          changes: diffFields(null, snapshot(row)),
        });
        return row;
      });
    },

    /** Renames a billing group and/or sets its status; honours If-Match. */
    async updateBillingGroup(
      ctx: WriteContext,
      id: string,
      body: BillingGroupUpdate,
      ifMatch: string | string[] | undefined,
    ): Promise<BillingGroupRow> {
      const precondition = parseIfMatch(ifMatch);
      return orgs.inWriteTransaction(ctx.orgId, async (trx) => {
        const row = await requireBillingGroup(trx, ctx.orgId, id);
        checkIfMatch(precondition, billingGroupEtag(row), `Billing group ${row.id}`);
        const errors: ProblemItem[] = [];
        if (body.billing_group_id !== undefined && body.billing_group_id !== row.id)
          errors.push({
            pointer: '/billing_group_id',
            message: `is read-only: send ${row.id} or leave it out (got ${quoteValue(body.billing_group_id)})`,
          });
        if (body.parent_id !== undefined && body.parent_id !== row.parent_id)
          errors.push({
            pointer: '/parent_id',
            message: `is read-only (billing groups do not move): send ${row.parent_id} or leave it out (got ${quoteValue(body.parent_id)})`,
          });
        if (errors.length > 0) throw invalidFields(errors);
        const saved = await updateBillingGroup(trx, ctx.orgId, row.id, {
          name: body.billing_group_name ?? row.name,
          status: body.status ?? row.status,
        });
        await audit.appendEntry(trx, {
          orgId: ctx.orgId,
          actor: ctx.actor,
          action: 'billing_group.update',
          targetType: 'billing_group',
          targetId: String(row.id),
          changes: diffFields(snapshot(row), snapshot(saved)),
        });
        return saved;
      });
    },

    // For other features' services, inside their transaction (`trx`) or on the database.

    /** The organization's billing group with this id, if any. */
    findBillingGroup: (trx: Db, orgId: number, id: number) => findBillingGroupById(trx, orgId, id),
    /** Those of `ids` that are billing groups of the organization. */
    findBillingGroupsByIds: (trx: Db, orgId: number, ids: readonly number[]) => findBillingGroupsByIds(trx, orgId, ids),
    /** Whether the billing group has child billing groups (groups may hang only on leaves). */
    hasChildBillingGroups: (trx: Db, orgId: number, id: number) => hasChildBillingGroups(trx, orgId, id),
    /** Inserts a billing group as given, keeping its id when it has one (demo data, imports); no audit entry. */
    insertBillingGroup: (trx: Transaction<Database>, row: NewBillingGroupRow) => insertBillingGroup(trx, row),
  };
}

export type BillingGroupService = ReturnType<typeof createBillingGroupService>;
