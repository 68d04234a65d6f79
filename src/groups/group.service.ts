import type { Transaction } from 'kysely';
import { diffFields } from '../audit/audit.mapper.js';
import { createAuditService } from '../audit/audit.service.js';
import { createBillingGroupService, type BillingGroupService } from '../billing-groups/billing-group.service.js';
import { isSqlite, syncIdSequences } from '../db/dialect.js';
import type { Database, Db, GroupRow, NewGroupRow } from '../db/tables.js';
import { invalidFields, notFound } from '../errors.js';
import { listEtag } from '../http/etags.js';
import { checkIfMatch, parseIfMatch } from '../http/preconditions.js';
import { createOrgService } from '../orgs/org.service.js';
import type { WriteContext } from '../shared/actor.js';
import { quoteValue } from '../shared/text.js';
import { groupEtag, groupRowToGroup } from './group.mapper.js';
import { findGroupById, findGroups, findGroupsByIds, insertGroup, updateGroup } from './group.repository.js';
import type { Group, GroupCreate, GroupsQuery, GroupUpdate } from './group.schemas.js';

const snapshot = (row: GroupRow) => groupRowToGroup(row) as unknown as Record<string, unknown>;

/** A group may hang only on an active leaf billing group of the organization: 400 naming the field otherwise. */
async function checkLeaf(
  billingGroups: BillingGroupService,
  trx: Transaction<Database>,
  orgId: number,
  billingGroupId: number,
): Promise<void> {
  const pointer = '/billing_group_id';
  const bg = await billingGroups.findBillingGroup(trx, orgId, billingGroupId);
  if (!bg) {
    throw invalidFields(
      [{ pointer, message: `names billing group ${billingGroupId}, which does not exist in this organization` }],
      'UNKNOWN_REFERENCE',
    );
  }
  let message: string | undefined;
  if (await billingGroups.hasChildBillingGroups(trx, orgId, bg.id))
    message = `names billing group ${bg.id}, which has child billing groups: groups hang only on leaf billing groups; choose one of its leaves`;
  else if (bg.status === 'inactive')
    message = `names billing group ${bg.id}, which is inactive: activate it first or choose an active leaf`;
  if (message) throw invalidFields([{ pointer, message }]);
}

/** Groups (advertisers), each on a leaf billing group. */
export function createGroupService(db: Db) {
  const orgs = createOrgService(db);
  const audit = createAuditService(db);
  const billingGroups = createBillingGroupService(db);
  async function requireGroup(dbOrTrx: Db, orgId: number, id: string): Promise<GroupRow> {
    const row = await findGroupById(dbOrTrx, orgId, Number(id));
    if (!row) throw notFound(`Group ${id}`);
    return row;
  }

  return {
    /** The organization's groups (optionally those of one billing group), with the list's ETag. */
    async listGroups(orgId: number, query: GroupsQuery): Promise<{ etag: string; body: Group[] }> {
      const etag = listEtag('groups', await orgs.findWriteVersion(orgId));
      const bg = query.billing_group_id;
      const rows =
        bg === undefined || bg === ''
          ? await findGroups(db, orgId)
          : (await billingGroups.findBillingGroup(db, orgId, Number(bg)))
            ? await findGroups(db, orgId, Number(bg))
            : [];
      return { etag, body: rows.map(groupRowToGroup) };
    },

    getGroup: (orgId: number, id: string) => requireGroup(db, orgId, id),

    /** Creates a group on an active leaf billing group; `keepId`: the id it must have (an import of an exported hierarchy). */
    async createGroup(ctx: WriteContext, body: GroupCreate, keepId?: number): Promise<GroupRow> {
      return orgs.inWriteTransaction(ctx.orgId, async (trx) => {
        await checkLeaf(billingGroups, trx, ctx.orgId, body.billing_group_id);
        const id = await insertGroup(trx, {
          ...(keepId !== undefined ? { id: keepId } : {}),
          org_id: ctx.orgId,
          name: body.group_name,
          billing_group_id: body.billing_group_id,
          status: body.status ?? 'active',
        });
        if (keepId !== undefined) await syncIdSequences(trx, isSqlite(trx) ? 'sqlite' : 'postgres');
        const row = await requireGroup(trx, ctx.orgId, String(id));
        await audit.appendEntry(trx, {
          orgId: ctx.orgId,
          actor: ctx.actor,
          action: 'group.create',
          targetType: 'group',
          targetId: String(id),
          changes: diffFields(null, snapshot(row)),
        });
        return row;
      });
    },

    /** Renames a group, moves it to another active leaf billing group and/or sets its status; honours If-Match. */
    async updateGroup(
      ctx: WriteContext,
      id: string,
      body: GroupUpdate,
      ifMatch: string | string[] | undefined,
    ): Promise<GroupRow> {
      const precondition = parseIfMatch(ifMatch);
      return orgs.inWriteTransaction(ctx.orgId, async (trx) => {
        const row = await requireGroup(trx, ctx.orgId, id);
        checkIfMatch(precondition, groupEtag(row), `Group ${row.id}`);
        if (body.group_id !== undefined && body.group_id !== row.id) {
          throw invalidFields([
            {
              pointer: '/group_id',
              message: `is read-only: send ${row.id} or leave it out (got ${quoteValue(body.group_id)})`,
            },
          ]);
        }
        if (body.billing_group_id !== undefined && body.billing_group_id !== row.billing_group_id)
          await checkLeaf(billingGroups, trx, ctx.orgId, body.billing_group_id);
        const saved = await updateGroup(trx, ctx.orgId, row.id, {
          name: body.group_name ?? row.name,
          billing_group_id: body.billing_group_id ?? row.billing_group_id,
          status: body.status ?? row.status,
        });
        await audit.appendEntry(trx, {
          orgId: ctx.orgId,
          actor: ctx.actor,
          action: 'group.update',
          targetType: 'group',
          targetId: String(row.id),
          changes: diffFields(snapshot(row), snapshot(saved)),
        });
        return saved;
      });
    },

    // For other features' services, inside their transaction (`trx`) or on the database.

    /** Those of `ids` that are groups of the organization. */
    findGroupsByIds: (trx: Db, orgId: number, ids: readonly number[]) => findGroupsByIds(trx, orgId, ids),
    /** Inserts a group as given, keeping its id when it has one (demo data, imports); no audit entry. */
    insertGroup: (trx: Transaction<Database>, row: NewGroupRow) => insertGroup(trx, row),
  };
}

export type GroupService = ReturnType<typeof createGroupService>;
