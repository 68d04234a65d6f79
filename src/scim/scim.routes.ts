import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { notFound } from '../errors.js';
import { guardApiScope } from '../http/api-scope.js';
import { acceptJsonOnly } from '../http/body-parsers.js';
import { writeContextOf } from '../http/caller.js';
import { orderedJson } from '../http/responses.js';
import type { RateLimiter } from '../ratelimit/ratelimit.plugin.js';
import type { UserScimService } from '../users/user.scim.service.js';
import { resourceTypeDocuments, schemaDocuments, serviceProviderConfig } from './scim.discovery.js';
import { registerScimErrors } from './scim.errors.js';
import { createScimGroupService, rolesAreFixed } from './scim.groups.js';
import {
  SCIM_MEDIA_TYPE,
  ScimError,
  ScimGroup,
  ScimIdParams,
  ScimListQuery,
  ScimListResponse,
  ScimPatchOp,
  ScimProjectionQuery,
  ScimSearchRequest,
  ScimUser,
  type ScimBody,
} from './scim.schemas.js';
import { listResponse, searchToQuery } from './scim.lists.js';
import { createScimUserService } from './scim.service.js';

interface ScimOptions {
  readonly users: UserScimService;
  /** The API root's key guard (authentication, then the rate limit). */
  readonly guard: onRequestAsyncHookHandler;
  /** The rate limiter, for discovery (counted per client address); null when limiting is off. */
  readonly limit: RateLimiter | null;
}

const errorBody = { description: 'A SCIM error object', content: { [SCIM_MEDIA_TYPE]: { schema: ScimError } } };
/** The SCIM error answers of a route in the OpenAPI document (every error is a SCIM error object under /scim/v2). */
const errors = (...statuses: number[]) =>
  Object.fromEntries([...statuses, 413, 414, 429, 431, 503].map((s) => [s, errorBody]));
const ok = (schema: TSchema, description: string) => ({ description, content: { [SCIM_MEDIA_TYPE]: { schema } } });

/** The absolute URL of /scim/v2 for this request (meta.location, Location). */
const baseOf = (request: FastifyRequest) => `${request.protocol}://${request.host}/scim/v2`;

const written = (reply: FastifyReply, answer: { resource: unknown; etag: string }) =>
  reply.header('etag', answer.etag).send(answer.resource);

/** Discovery (RFC 7644 §4): served without a key, counted against the client address's rate limit. */
function discoveryRoutes(app: FastifyInstance, limit: RateLimiter | null): void {
  if (limit) app.addHook('onRequest', limit);
  const schema = (summary: string) => ({
    tags: ['scim'],
    summary,
    response: { 200: ok(Type.Object({}, { additionalProperties: true }), summary) },
  });
  app.get('/ServiceProviderConfig', { ...orderedJson, schema: schema('SCIM: what Roster supports') }, async (request) =>
    serviceProviderConfig(baseOf(request)),
  );
  app.get('/ResourceTypes', { ...orderedJson, schema: schema('SCIM: the resource types') }, async (request) => {
    const types = resourceTypeDocuments(baseOf(request));
    return listResponse(types, types.length, 1);
  });
  app.get<{ Params: { id: string } }>(
    '/ResourceTypes/:id',
    { ...orderedJson, schema: schema('SCIM: one resource type') },
    async (request) => {
      const found = resourceTypeDocuments(baseOf(request)).find(
        (t) => t.id.toLowerCase() === request.params.id.toLowerCase(),
      );
      if (!found) throw notFound(`Resource type "${request.params.id}"`);
      return found;
    },
  );
  app.get(
    '/Schemas',
    { ...orderedJson, schema: schema('SCIM: the schemas, with every attribute') },
    async (request) => {
      const schemas = schemaDocuments(baseOf(request));
      return listResponse(schemas, schemas.length, 1);
    },
  );
  app.get<{ Params: { id: string } }>(
    '/Schemas/:id',
    { ...orderedJson, schema: schema('SCIM: one schema') },
    async (request) => {
      const found = schemaDocuments(baseOf(request)).find(
        (s) => s.id.toLowerCase() === request.params.id.toLowerCase(),
      );
      if (!found) throw notFound(`Schema "${request.params.id}"`);
      return found;
    },
  );
}

/**
 * SCIM 2.0 (RFC 7643, 7644) at /scim/v2: Users and Groups over the users
 * service, with discovery; its own media type and error objects (docs/scim.md).
 */
export const scimRoutes: FastifyPluginAsyncTypebox<ScimOptions> = async (app, { users: userScim, guard, limit }) => {
  const users = createScimUserService(userScim);
  const groups = createScimGroupService(userScim);
  registerScimErrors(app);
  acceptJsonOnly(app);
  app.addContentTypeParser(SCIM_MEDIA_TYPE, { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.type(`${SCIM_MEDIA_TYPE}; charset=utf-8`);
    return payload;
  });

  await app.register(async (open) => discoveryRoutes(open, limit));

  await app.register(async (instance) => {
    const api = instance.withTypeProvider<TypeBoxTypeProvider>();
    guardApiScope(api, { guard, rateLimited: limit !== null });
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
          summary: 'SCIM: list and filter users',
          querystring: ScimListQuery,
          response: { 200: ok(ScimListResponse, 'A ListResponse of users'), ...errors(400, 401, 403) },
        },
      },
      async (request) => users.listUsers(request.caller.orgId, request.query, baseOf(request)),
    );
    api.post(
      '/Users/.search',
      {
        ...orderedJson,
        config: { scope: 'read' },
        schema: {
          tags,
          summary: 'SCIM: search users (a read)',
          body: ScimSearchRequest,
          response: { 200: ok(ScimListResponse, 'A ListResponse of users'), ...errors(400, 401, 403) },
        },
      },
      async (request) => users.listUsers(request.caller.orgId, searchToQuery(request.body), baseOf(request)),
    );
    api.get(
      '/Users/:id',
      {
        ...orderedJson,
        schema: {
          tags,
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

    const groupAnswer = ok(ScimGroup, 'The group (a role) and its members');
    api.get(
      '/Groups',
      {
        ...orderedJson,
        schema: {
          tags,
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
          summary: 'SCIM: grant or remove a role (members)',
          params: ScimIdParams,
          body: ScimPatchOp,
          response: { 200: groupAnswer, ...errors(400, 401, 403, 404) },
        },
      },
      async (request) =>
        groups.patchGroup(writeContextOf(request), request.params.id, request.body as ScimBody, baseOf(request)),
    );
    const fixed = { tags, summary: 'SCIM: refused, the groups are fixed roles', response: errors(401, 403) };
    api.post('/Groups', { schema: fixed }, async () => Promise.reject(rolesAreFixed()));
    api.put('/Groups/:id', { schema: { ...fixed, params: ScimIdParams } }, async () => Promise.reject(rolesAreFixed()));
    api.delete('/Groups/:id', { schema: { ...fixed, params: ScimIdParams } }, async () =>
      Promise.reject(rolesAreFixed()),
    );
  });
};
