/**
 * `roster import --what hierarchy`: billing groups and groups as `roster
 * export --what hierarchy` (or GET billinggroups / GET groups) writes them,
 * one object per line or a JSON array, recreated with their ids through the
 * billing group and group services (every rule and audit entry of the API).
 */
import { readFile } from 'node:fs/promises';
import { Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { createBillingGroupService } from '../billing-groups/billing-group.service.js';
import { isUniqueViolation } from '../db/db-errors.js';
import type { Db } from '../db/tables.js';
import { AppError } from '../errors.js';
import { createGroupService } from '../groups/group.service.js';
import { CLI_ACTOR, type WriteContext } from '../shared/actor.js';
import { MAX_ID } from '../shared/ids.js';
import { ACTIVITY, DisplayName, Nullable, StringEnum } from '../shared/typebox.js';
import { ImportFileError } from './import.errors.js';

const Id = Type.Integer({ minimum: 1, maximum: MAX_ID });
const BillingGroupLine = Type.Object(
  { billing_group_id: Id, billing_group_name: DisplayName, status: StringEnum(ACTIVITY), parent_id: Nullable(Id) },
  { additionalProperties: false },
);
const GroupLine = Type.Object(
  { group_id: Id, group_name: DisplayName, billing_group_id: Id, status: StringEnum(ACTIVITY) },
  { additionalProperties: false },
);

// Ajv, as Fastify checks the API's bodies (TypeBox's own checker does not know the Unsafe enums).
const ajv = new Ajv();
const isBillingGroupLine = ajv.compile<typeof BillingGroupLine.static>(BillingGroupLine);
const isGroupLine = ajv.compile<typeof GroupLine.static>(GroupLine);

interface Line<T> {
  readonly line: number;
  readonly value: T;
}

export interface HierarchyCounts {
  imported: number;
  updated: number;
  unchanged: number;
  rejected: number;
}

/** The file's objects with their lines: NDJSON (blank lines skipped) or one JSON array. */
async function readObjects(file: string): Promise<Line<unknown>[]> {
  const text = (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
  try {
    if (text.trimStart().startsWith('[')) {
      return (JSON.parse(text) as unknown[]).map((value, i) => ({ line: i + 1, value }));
    }
    return text
      .split(/\r?\n/)
      .map((raw, i) => ({ line: i + 1, raw }))
      .filter((l) => l.raw.trim() !== '')
      .map((l) => ({ line: l.line, value: JSON.parse(l.raw) as unknown }));
  } catch (error) {
    throw new ImportFileError(`${file} is not NDJSON or a JSON array: ${(error as Error).message}`);
  }
}

/** Parents before children, whatever order the file has (a parent missing from the file must exist already). */
function parentsFirst(groups: Line<typeof BillingGroupLine.static>[]): Line<typeof BillingGroupLine.static>[] {
  const ids = new Set(groups.map((g) => g.value.billing_group_id));
  const placed = new Set<number>();
  const out: Line<typeof BillingGroupLine.static>[] = [];
  let rest = groups;
  while (rest.length > 0) {
    const ready = rest.filter((g) => {
      const parent = g.value.parent_id;
      return parent === null || !ids.has(parent) || placed.has(parent);
    });
    if (ready.length === 0) return [...out, ...rest]; // a cycle: the service refuses each (its parent does not exist)
    for (const g of ready) placed.add(g.value.billing_group_id);
    out.push(...ready);
    rest = rest.filter((g) => !ready.includes(g));
  }
  return out;
}

/**
 * Imports billing groups and groups, keeping ids: a new one is created (billing groups parents first,
 * active until their groups are placed, then given their status), an existing one of the organization is
 * renamed / given its status (a group also moved) when it differs. Each object is its own write, so good
 * ones land; `report` hears each rejected one.
 */
export async function importHierarchy(
  db: Db,
  orgId: number,
  file: string,
  report: (line: number, message: string) => void,
): Promise<HierarchyCounts> {
  const counts: HierarchyCounts = { imported: 0, updated: 0, unchanged: 0, rejected: 0 };
  const ctx: WriteContext = { orgId, actor: CLI_ACTOR };
  const billingGroups = createBillingGroupService(db);
  const groups = createGroupService(db);
  const reject = (line: number, message: string) => {
    counts.rejected++;
    report(line, message);
  };
  const attempt = async (line: number, work: () => Promise<'imported' | 'updated' | 'unchanged'>) => {
    try {
      counts[await work()]++;
    } catch (error) {
      // Ids are unique across organizations: one another organization holds is refused, never taken over.
      if (isUniqueViolation(error))
        reject(line, 'its id belongs to another organization: ids are unique across Roster');
      else if (error instanceof AppError) reject(line, error.message);
      else throw error;
    }
  };

  const bgs: Line<typeof BillingGroupLine.static>[] = [];
  const gs: Line<typeof GroupLine.static>[] = [];
  for (const { line, value } of await readObjects(file)) {
    if (isBillingGroupLine(value)) bgs.push({ line, value });
    else if (isGroupLine(value)) gs.push({ line, value });
    else {
      const kind =
        typeof value === 'object' && value !== null && 'group_id' in value ? isGroupLine : isBillingGroupLine;
      const first = kind.errors?.[0];
      reject(
        line,
        `not a billing group or group object: ${first ? `${first.instancePath || '/'} ${first.message}` : ''}`,
      );
    }
  }
  const inactive: number[] = [];
  const existing = async (find: () => Promise<unknown>) =>
    find().then(
      (row) => row,
      (error: unknown) => {
        if (error instanceof AppError && error.code === 'NOT_FOUND') return undefined;
        throw error;
      },
    );
  for (const { line, value: bg } of parentsFirst(bgs)) {
    await attempt(line, async () => {
      const row = (await existing(() => billingGroups.getBillingGroup(orgId, String(bg.billing_group_id)))) as
        { name: string; status: string; parent_id: number | null } | undefined;
      if (row === undefined) {
        const parent = bg.parent_id === null ? undefined : String(bg.parent_id);
        const body = { billing_group_name: bg.billing_group_name, status: 'active' as const };
        await billingGroups.createBillingGroup(ctx, parent, body, bg.billing_group_id);
        if (bg.status === 'inactive') inactive.push(bg.billing_group_id);
        return 'imported';
      }
      if (row.parent_id !== bg.parent_id) {
        throw new AppError(
          'CONFLICT',
          `billing group ${bg.billing_group_id} exists under parent ${row.parent_id}, not ${bg.parent_id}: billing groups do not move`,
        );
      }
      if (row.name === bg.billing_group_name && row.status === bg.status) return 'unchanged';
      const update = { billing_group_name: bg.billing_group_name, status: bg.status };
      await billingGroups.updateBillingGroup(ctx, String(bg.billing_group_id), update, undefined);
      return 'updated';
    });
  }
  for (const { line, value: g } of gs) {
    await attempt(line, async () => {
      const row = (await existing(() => groups.getGroup(orgId, String(g.group_id)))) as
        { name: string; status: string; billing_group_id: number } | undefined;
      const body = { group_name: g.group_name, billing_group_id: g.billing_group_id, status: g.status };
      if (row === undefined) {
        await groups.createGroup(ctx, body, g.group_id);
        return 'imported';
      }
      if (row.name === g.group_name && row.status === g.status && row.billing_group_id === g.billing_group_id) {
        return 'unchanged';
      }
      await groups.updateGroup(ctx, String(g.group_id), body, undefined);
      return 'updated';
    });
  }
  for (const id of inactive) await billingGroups.updateBillingGroup(ctx, String(id), { status: 'inactive' }, undefined);
  return counts;
}
