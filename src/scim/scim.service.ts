import type { UserRow } from '../db/tables.js';
import { notFound } from '../errors.js';
import type { WriteContext } from '../shared/actor.js';
import { userEtag } from '../users/user.mapper.js';
import type { UserScimService } from '../users/user.scim.service.js';
import { projectResource } from './scim.attributes.js';
import { parseUserFilter, parseUserSort } from './scim.filter.js';
import { resourceToUser, userRowToResource, type ScimResource } from './scim.mapper.js';
import { applyPatch, readOperations, USER_TARGETS } from './scim.patch.js';
import { listResponse, listWindow } from './scim.lists.js';
import { type ScimBody, type ScimListQuery, type ScimProjectionQuery } from './scim.schemas.js';

type IfMatchHeader = string | string[] | undefined;

/** A written user as answered: the resource, its ETag and Location. */
export interface WrittenUser {
  readonly resource: ScimResource;
  readonly etag: string;
  readonly location: string;
}

/** SCIM Users over the users service: every write through its rules, transaction and audit trail. */
export function createScimUserService(users: UserScimService) {
  const answer = (row: UserRow, base: string): WrittenUser => ({
    resource: userRowToResource(row, base),
    etag: userEtag(row),
    location: `${base}/Users/${row.user_id}`,
  });

  return {
    /** GET /Users/{id}: the resource with its ETag; 404 for an unknown, deleted or other organization's id. */
    async getUser(orgId: number, id: string, query: ScimProjectionQuery, base: string) {
      const row = await users.findUser(orgId, id);
      if (!row) throw notFound(`User "${id}"`);
      const { resource, etag } = answer(row, base);
      return { etag, resource: projectResource(resource, query.attributes, query.excludedattributes) };
    },

    /** GET /Users and POST /Users/.search: a filtered, sorted page. */
    async listUsers(orgId: number, query: ScimListQuery, base: string, signal?: AbortSignal): Promise<ScimResource> {
      const condition =
        query.filter !== undefined && query.filter.trim() !== '' ? parseUserFilter(query.filter) : undefined;
      const sort = parseUserSort(query.sortby, query.sortorder);
      const { start, count } = listWindow(query.startindex, query.count);
      const { rows, total } = await users.listUsers(orgId, condition, sort, start - 1, count, signal);
      const resources = rows.map((row) =>
        projectResource(userRowToResource(row, base), query.attributes, query.excludedattributes),
      );
      return listResponse(resources, total, start);
    },

    /** POST /Users. */
    async createUser(ctx: WriteContext, body: ScimBody, base: string): Promise<WrittenUser> {
      const user = resourceToUser(body, undefined, 'create');
      return answer(await users.inTransaction(ctx, (w) => w.create(user)), base);
    },

    /** PUT /Users/{id}: what the client manages is replaced; roles and the extension are kept when omitted. */
    async replaceUser(ctx: WriteContext, id: string, body: ScimBody, ifMatch: IfMatchHeader, base: string) {
      const row = await users.inTransaction(ctx, async (w) => {
        const before = await w.require(id, ifMatch);
        return w.update(before, resourceToUser(body, before, 'replace'), 'user.replace');
      });
      return answer(row, base);
    },

    /** PATCH /Users/{id}: the operations applied to the stored resource, then stored as one write. */
    async patchUser(ctx: WriteContext, id: string, body: ScimBody, ifMatch: IfMatchHeader, base: string) {
      const operations = readOperations(body);
      const row = await users.inTransaction(ctx, async (w) => {
        const before = await w.require(id, ifMatch);
        const patched = applyPatch(userRowToResource(before, base), operations, USER_TARGETS);
        return w.update(before, resourceToUser(patched, before, 'patch'), 'user.patch');
      });
      return answer(row, base);
    },

    /** DELETE /Users/{id}: gone for SCIM; deactivated and renamed in the API (docs/scim.md). */
    async deleteUser(ctx: WriteContext, id: string, ifMatch: IfMatchHeader): Promise<void> {
      await users.inTransaction(ctx, async (w) => w.remove(await w.require(id, ifMatch)));
    },
  };
}

export type ScimUserService = ReturnType<typeof createScimUserService>;
