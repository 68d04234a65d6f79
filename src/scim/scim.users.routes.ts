import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { writeContextOf } from '../http/caller.js';
import { clientGoneSignal } from '../http/client-gone.js';
import { orderedJson } from '../http/responses.js';
import { searchToQuery } from './scim.lists.js';
import { baseOf, scimAnswer as ok, scimErrors as errors, sendWithEtag as written } from './scim.responses.js';
import {
  ScimIdParams,
  ScimListQuery,
  ScimListResponse,
  ScimPatchOp,
  ScimProjectionQuery,
  ScimSearchRequest,
  ScimUser,
  type ScimBody,
} from './scim.schemas.js';
import type { ScimUserService } from './scim.service.js';

/** /Users: list, search, read with the read scope; create, replace, patch and delete with write. */
export const scimUserRoutes: FastifyPluginAsyncTypebox<{ service: ScimUserService }> = async (
  api,
  { service: users },
) => {
  const tags = ['scim'];
  const ifMatch = Type.Object({
    'if-match': Type.Optional(Type.String({ description: 'meta.version of your last read; 412 if it changed' })),
  });
  const userAnswer = ok(ScimUser, 'The user; the ETag header holds meta.version');

  api.get(
    '/Users',
    {
      ...orderedJson,
      schema: {
        tags,
        operationId: 'scimListUsers',
        summary: 'SCIM: list and filter users',
        querystring: ScimListQuery,
        response: { 200: ok(ScimListResponse, 'A ListResponse of users'), ...errors(400, 401, 403) },
      },
    },
    async (request, reply) =>
      users.listUsers(request.caller.orgId, request.query, baseOf(request), clientGoneSignal(reply)),
  );
  api.post(
    '/Users/.search',
    {
      ...orderedJson,
      config: { scope: 'read' },
      schema: {
        tags,
        operationId: 'scimSearchUsers',
        summary: 'SCIM: search users (a read)',
        body: ScimSearchRequest,
        response: { 200: ok(ScimListResponse, 'A ListResponse of users'), ...errors(400, 401, 403) },
      },
    },
    async (request, reply) =>
      users.listUsers(request.caller.orgId, searchToQuery(request.body), baseOf(request), clientGoneSignal(reply)),
  );
  api.get(
    '/Users/:id',
    {
      ...orderedJson,
      schema: {
        tags,
        operationId: 'scimGetUser',
        summary: 'SCIM: one user',
        params: ScimIdParams,
        querystring: ScimProjectionQuery,
        response: { 200: userAnswer, ...errors(401, 403, 404) },
      },
    },
    async (request, reply) =>
      written(reply, await users.getUser(request.caller.orgId, request.params.id, request.query, baseOf(request))),
  );
  api.post(
    '/Users',
    {
      ...orderedJson,
      schema: {
        tags,
        operationId: 'scimCreateUser',
        summary: 'SCIM: create a user',
        body: ScimUser,
        response: { 201: userAnswer, ...errors(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const answer = await users.createUser(writeContextOf(request), request.body, baseOf(request));
      return written(reply.code(201).header('location', answer.location), answer);
    },
  );
  api.put(
    '/Users/:id',
    {
      ...orderedJson,
      schema: {
        tags,
        operationId: 'scimReplaceUser',
        summary: 'SCIM: replace a user',
        params: ScimIdParams,
        headers: ifMatch,
        body: ScimUser,
        response: { 200: userAnswer, ...errors(400, 401, 403, 404, 409, 412) },
      },
    },
    async (request, reply) =>
      written(
        reply,
        await users.replaceUser(
          writeContextOf(request),
          request.params.id,
          request.body as ScimBody,
          request.headers['if-match'],
          baseOf(request),
        ),
      ),
  );
  api.patch(
    '/Users/:id',
    {
      ...orderedJson,
      schema: {
        tags,
        operationId: 'scimPatchUser',
        summary: 'SCIM: patch a user (PatchOp)',
        params: ScimIdParams,
        headers: ifMatch,
        body: ScimPatchOp,
        response: { 200: userAnswer, ...errors(400, 401, 403, 404, 409, 412) },
      },
    },
    async (request, reply) =>
      written(
        reply,
        await users.patchUser(
          writeContextOf(request),
          request.params.id,
          request.body as ScimBody,
          request.headers['if-match'],
          baseOf(request),
        ),
      ),
  );
  api.delete(
    '/Users/:id',
    {
      schema: {
        tags,
        operationId: 'scimDeleteUser',
        summary: 'SCIM: delete a user (deactivated and renamed in the API)',
        params: ScimIdParams,
        headers: ifMatch,
        response: { 204: { description: 'Deleted' }, ...errors(401, 403, 404, 412) },
      },
    },
    async (request, reply) => {
      await users.deleteUser(writeContextOf(request), request.params.id, request.headers['if-match']);
      return reply.code(204).send();
    },
  );
};
