import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { RequestGuard } from '../http/caller.js';
import { notFound } from '../errors.js';
import { guardApiScope } from '../http/api-scope.js';
import { acceptJsonOnly, parseAsJson } from '../http/body-parsers.js';
import { orderedJson } from '../http/responses.js';
import type { RateLimiter } from '../ratelimit/ratelimit.plugin.js';
import type { UserScimService } from '../users/user.scim.service.js';
import { resourceTypeDocuments, schemaDocuments, serviceProviderConfig } from './scim.discovery.js';
import { registerScimErrors } from './scim.errors.js';
import { createScimGroupService } from './scim.groups.js';
import { scimGroupRoutes } from './scim.groups.routes.js';
import { listResponse } from './scim.lists.js';
import { baseOf, scimAnswer } from './scim.responses.js';
import { SCIM_MEDIA_TYPE } from './scim.schemas.js';
import { createScimUserService } from './scim.service.js';
import { scimUserRoutes } from './scim.users.routes.js';

interface ScimOptions {
  readonly users: UserScimService;
  /** The API root's key guard (authentication, then the rate limit). */
  readonly guard: RequestGuard;
  /** The rate limiter, for discovery (counted per client address); null when limiting is off. */
  readonly limit: RateLimiter | null;
}

/** Discovery (RFC 7644 §4): served without a key, counted against the client address's rate limit. */
function discoveryRoutes(app: FastifyInstance, limit: RateLimiter | null): void {
  if (limit) app.addHook('onRequest', limit);
  // Discovery needs no key: `security: []` says so in the OpenAPI document.
  const schema = (operationId: string, summary: string) => ({
    tags: ['scim'],
    operationId,
    summary,
    security: [],
    response: { 200: scimAnswer(Type.Object({}, { additionalProperties: true }), summary) },
  });
  app.get(
    '/ServiceProviderConfig',
    { ...orderedJson, schema: schema('scimGetServiceProviderConfig', 'SCIM: what Roster supports') },
    async (request) => serviceProviderConfig(baseOf(request)),
  );
  app.get(
    '/ResourceTypes',
    { ...orderedJson, schema: schema('scimListResourceTypes', 'SCIM: the resource types') },
    async (request) => {
      const types = resourceTypeDocuments(baseOf(request));
      return listResponse(types, types.length, 1);
    },
  );
  app.get<{ Params: { id: string } }>(
    '/ResourceTypes/:id',
    { ...orderedJson, schema: schema('scimGetResourceType', 'SCIM: one resource type') },
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
    { ...orderedJson, schema: schema('scimListSchemas', 'SCIM: the schemas, with every attribute') },
    async (request) => {
      const schemas = schemaDocuments(baseOf(request));
      return listResponse(schemas, schemas.length, 1);
    },
  );
  app.get<{ Params: { id: string } }>(
    '/Schemas/:id',
    { ...orderedJson, schema: schema('scimGetSchema', 'SCIM: one schema') },
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
  registerScimErrors(app);
  acceptJsonOnly(app);
  parseAsJson(app, SCIM_MEDIA_TYPE);
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.type(`${SCIM_MEDIA_TYPE}; charset=utf-8`);
    return payload;
  });

  await app.register(async (open) => discoveryRoutes(open, limit));

  await app.register(async (instance) => {
    const api = instance.withTypeProvider<TypeBoxTypeProvider>();
    guardApiScope(api, { guard, rateLimited: limit !== null });
    await api.register(scimUserRoutes, { service: createScimUserService(userScim) });
    await api.register(scimGroupRoutes, { service: createScimGroupService(userScim) });
  });
};
