import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { writeContextOf } from '../http/caller.js';
import { orderedJson } from '../http/responses.js';
import { rolesAreFixed, type ScimGroupService } from './scim.groups.js';
import { baseOf, scimAnswer as ok, scimErrors as errors } from './scim.responses.js';
import {
  ScimGroup,
  ScimIdParams,
  ScimListQuery,
  ScimListResponse,
  ScimPatchOp,
  ScimProjectionQuery,
} from './scim.schemas.js';

/** /Groups: the roles and their members; PATCH changes membership; POST, PUT and DELETE are refused. */
export const scimGroupRoutes: FastifyPluginAsyncTypebox<{ service: ScimGroupService }> = async (
  api,
  { service: groups },
) => {
  const tags = ['scim'];
  const groupAnswer = ok(ScimGroup, 'The group (a role) and its members');
  api.get(
    '/Groups',
    {
      ...orderedJson,
      schema: {
        tags,
        operationId: 'scimListGroups',
        summary: "SCIM: Roster's roles as groups",
        querystring: ScimListQuery,
        response: { 200: ok(ScimListResponse, 'A ListResponse of groups'), ...errors(400, 401, 403) },
      },
    },
    async (request) => groups.listGroups(request.caller.orgId, request.query, baseOf(request)),
  );
  api.get(
    '/Groups/:id',
    {
      ...orderedJson,
      schema: {
        tags,
        operationId: 'scimGetGroup',
        summary: 'SCIM: one role as a group',
        params: ScimIdParams,
        querystring: ScimProjectionQuery,
        response: { 200: groupAnswer, ...errors(401, 403, 404) },
      },
    },
    async (request) => groups.getGroup(request.caller.orgId, request.params.id, request.query, baseOf(request)),
  );
  api.patch(
    '/Groups/:id',
    {
      ...orderedJson,
      schema: {
        tags,
        operationId: 'scimPatchGroup',
        summary: 'SCIM: grant or remove a role (members)',
        description: '204, or 200 with the group when `attributes` or `excludedAttributes` asks for it',
        params: ScimIdParams,
        querystring: ScimProjectionQuery,
        body: ScimPatchOp,
        response: { 200: groupAnswer, 204: { description: 'Changed' }, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const group = await groups.patchGroup(
        writeContextOf(request),
        request.params.id,
        request.body,
        request.query,
        baseOf(request),
      );
      return group ? reply.send(group) : reply.code(204).send();
    },
  );
  const fixed = { tags, summary: 'SCIM: refused, the groups are fixed roles', response: errors(401, 403) };
  api.post('/Groups', { schema: { ...fixed, operationId: 'scimCreateGroup' } }, async () =>
    Promise.reject(rolesAreFixed()),
  );
  api.put('/Groups/:id', { schema: { ...fixed, operationId: 'scimReplaceGroup', params: ScimIdParams } }, async () =>
    Promise.reject(rolesAreFixed()),
  );
  api.delete('/Groups/:id', { schema: { ...fixed, operationId: 'scimDeleteGroup', params: ScimIdParams } }, async () =>
    Promise.reject(rolesAreFixed()),
  );
};
