import { filter as matcher, parse } from 'scim2-parse-filter';
import { AppError, notFound } from '../errors.js';
import type { WriteContext } from '../shared/actor.js';
import { isUuid } from '../shared/text.js';
import { splitList } from '../users/user.mapper.js';
import type { UserScimService, UserWriter } from '../users/user.scim.service.js';
import { ROLES, type Role } from '../users/user.schemas.js';
import { projectResource } from './scim.attributes.js';
import { scimBadRequest } from './scim.errors.js';
import { member, type ScimResource } from './scim.mapper.js';
import { readOperations, type PatchOperation } from './scim.patch.js';
import { URN, type ScimBody, type ScimListQuery, type ScimProjectionQuery } from './scim.schemas.js';
import { listResponse, listWindow } from './scim.lists.js';

// Roster's eight roles as fixed SCIM Groups: id and displayName are the role; members are its holders.
// Membership changes are role grants and removals, each a user write through the users service.

/** 403 for POST, PUT and DELETE on Groups: the groups are Roster's roles. */
export const rolesAreFixed = (): AppError =>
  new AppError(
    'FORBIDDEN',
    `Groups are Roster's fixed roles (${ROLES.join(', ')}): they cannot be created, replaced or deleted. Change their members with PATCH /Groups/{role}.`,
  );

/**
 * The most members one group answer lists. A role may be held by most of a million-user organization (an answer
 * of a hundred megabytes); past this the answer is 400 tooMany, and the members are read as Users instead.
 */
export const MAX_LISTED_MEMBERS = 10_000;

const findRole = (id: string): Role | undefined => ROLES.find((r) => r === id.toLowerCase());

/** Whether an answer needs the members (they cost a query per group). */
function wantsMembers(query: ScimProjectionQuery): boolean {
  const listed = (value: string | undefined) => (value ?? '').split(',').map((s) => s.trim().toLowerCase());
  if (query.attributes !== undefined && query.attributes.trim() !== '')
    return listed(query.attributes).some((a) => a.startsWith('members') || a.includes(':members'));
  return !listed(query.excludedattributes).some((a) => a === 'members' || a.endsWith(':members'));
}

/** The member ids a PATCH value names: `[{ value }]` (Okta, Entra) or a single `{ value }`. */
function memberIds(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return list.map((item) => {
    const id = member(item, 'value');
    if (typeof id !== 'string' || id === '')
      throw scimBadRequest(
        'invalidValue',
        `A member must be an object with the user's id as "value"; got ${JSON.stringify(item)}.`,
      );
    return id.toLowerCase();
  });
}

/** Applies one group operation to the membership being built. */
function applyMembership(
  role: Role,
  operation: PatchOperation,
  path: string | undefined,
  value: unknown,
  members: Set<string>,
): void {
  if (path === undefined) {
    if (operation.op === 'remove')
      throw scimBadRequest('noTarget', 'A remove operation needs a "path" naming what to remove.');
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw scimBadRequest(
        'invalidValue',
        `An ${operation.op} without a "path" needs an object "value" of attributes.`,
      );
    for (const [name, inner] of Object.entries(value)) applyMembership(role, operation, name, inner, members);
    return;
  }
  const lower = path.toLowerCase().replace(`${URN.group.toLowerCase()}:`, '');
  if (lower === 'id' || lower === 'displayname') {
    if (operation.op === 'remove' || typeof value !== 'string' || value.toLowerCase() !== role)
      throw scimBadRequest(
        'mutability',
        `Attribute "${path}" of group "${role}" is fixed (groups are Roster's roles); send ${JSON.stringify(role)} or leave it out.`,
      );
    return;
  }
  if (lower === 'schemas' || lower === 'meta' || lower === 'externalid') return;
  if (lower === 'members') {
    if (operation.op === 'replace') members.clear();
    if (operation.op === 'remove') {
      if (value === undefined || value === null) members.clear();
      // A remove with a value list removes only those members (what Entra ID and Okta mean).
      for (const id of memberIds(value)) members.delete(id);
      return;
    }
    for (const id of memberIds(value)) members.add(id);
    return;
  }
  if (lower.startsWith('members[') && operation.op === 'remove') {
    const close = path.lastIndexOf(']');
    let test: (m: Record<string, unknown>) => boolean;
    try {
      test = matcher(parse(path.slice(path.indexOf('[') + 1, close)));
    } catch {
      throw scimBadRequest('invalidPath', `The path ${JSON.stringify(path)} is not members[value eq "<user id>"].`);
    }
    for (const id of [...members]) if (test({ value: id })) members.delete(id);
    return;
  }
  throw scimBadRequest(
    'invalidPath',
    `The path ${JSON.stringify(path)} names nothing a group can change; use "members" or members[value eq "<user id>"].`,
  );
}

/** Grants and removes the role so that exactly `wanted` hold it; an unknown member is a 400 before anything changes. */
async function setMembership(w: UserWriter, role: Role, wanted: Set<string>): Promise<void> {
  const current = new Set(await w.holders(role));
  const added = [...wanted].filter((id) => !current.has(id));
  // Ids are UUIDs: anything else names no user (and is never sent to the database, which may refuse it).
  const rows = await Promise.all(added.map(async (id) => [id, isUuid(id) ? await w.find(id) : undefined] as const));
  const unknown = rows.filter(([, row]) => !row).map(([id]) => id);
  if (unknown.length > 0)
    throw scimBadRequest(
      'invalidValue',
      `Attribute "members" names ${unknown.map((id) => JSON.stringify(id)).join(', ')}, which ${unknown.length === 1 ? 'is' : 'are'} not a user of this organization; nothing was changed.`,
    );
  for (const [, row] of rows) await w.setRoles(row!, [...(splitList(row!.roles) as Role[]), role]);
  for (const id of current) {
    if (wanted.has(id)) continue;
    const row = await w.find(id);
    if (row)
      await w.setRoles(
        row,
        (splitList(row.roles) as Role[]).filter((r) => r !== role),
      );
  }
}

/** SCIM Groups: the roles, their holders, and membership PATCH. */
export function createScimGroupService(users: UserScimService) {
  async function resource(orgId: number, role: Role, base: string, withMembers: boolean): Promise<ScimResource> {
    const members = withMembers ? await users.findRoleHolders(orgId, role, MAX_LISTED_MEMBERS) : [];
    if (members.length > MAX_LISTED_MEMBERS)
      throw scimBadRequest(
        'tooMany',
        `The group "${role}" has more than ${MAX_LISTED_MEMBERS} members, more than one answer lists: ask with excludedAttributes=members, and page through its members with GET /Users?filter=roles.value eq "${role}".`,
      );
    return {
      schemas: [URN.group],
      id: role,
      displayName: role,
      ...(withMembers
        ? {
            members: members.map((m) => ({
              value: m.user_id,
              display: m.username,
              type: 'User',
              $ref: `${base}/Users/${m.user_id}`,
            })),
          }
        : {}),
      meta: { resourceType: 'Group', location: `${base}/Groups/${role}` },
    };
  }

  return {
    /** GET /Groups: the roles, filtered by id or displayName (e.g. Okta's and Entra's displayName eq "…"). */
    async listGroups(orgId: number, query: ScimListQuery, base: string): Promise<ScimResource> {
      let roles: Role[] = [...ROLES];
      if (query.filter !== undefined && query.filter.trim() !== '') {
        let test: (r: Record<string, unknown>) => boolean;
        try {
          test = matcher(parse(query.filter));
        } catch (error) {
          throw scimBadRequest(
            'invalidFilter',
            `The filter ${JSON.stringify(query.filter)} is not valid SCIM filter syntax (${(error as Error).message}).`,
          );
        }
        roles = roles.filter((role) => test({ id: role, displayName: role }));
      }
      const { start, count } = listWindow(query.startindex, query.count);
      const page = roles.slice(start - 1, start - 1 + count);
      const withMembers = wantsMembers(query);
      const resources = await Promise.all(
        page.map(async (role) =>
          projectResource(await resource(orgId, role, base, withMembers), query.attributes, query.excludedattributes),
        ),
      );
      return listResponse(resources, roles.length, start);
    },

    /** GET /Groups/{id}. */
    async getGroup(orgId: number, id: string, query: ScimProjectionQuery, base: string): Promise<ScimResource> {
      const role = findRole(id);
      if (!role) throw notFound(`Group "${id}"`);
      return projectResource(
        await resource(orgId, role, base, wantsMembers(query)),
        query.attributes,
        query.excludedattributes,
      );
    },

    /**
     * PATCH /Groups/{id}: membership as role grants and removals, one transaction. The answer is the
     * group only when the request asks for attributes (RFC 7644 §3.5.2 allows 204): a role's members
     * may be most of the organization, and Entra ID and Okta do not read them back.
     */
    async patchGroup(
      ctx: WriteContext,
      id: string,
      body: ScimBody,
      query: ScimProjectionQuery,
      base: string,
    ): Promise<ScimResource | null> {
      const role = findRole(id);
      if (!role) throw notFound(`Group "${id}"`);
      const operations = readOperations(body);
      await users.inTransaction(ctx, async (w) => {
        const members = new Set(await w.holders(role));
        for (const operation of operations) applyMembership(role, operation, operation.path, operation.value, members);
        await setMembership(w, role, members);
      });
      if (query.attributes === undefined && query.excludedattributes === undefined) return null;
      return projectResource(
        await resource(ctx.orgId, role, base, wantsMembers(query)),
        query.attributes,
        query.excludedattributes,
      );
    },
  };
}

export type ScimGroupService = ReturnType<typeof createScimGroupService>;
