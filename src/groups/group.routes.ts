import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { GroupRow } from '../db/tables.js';
import { acceptJsonOnly } from '../http/body-parsers.js';
import { notModifiedResponse as notModified, sendTagged } from '../http/etags.js';
import { createdLocation } from '../http/location.js';
import { ifMatchHeaders } from '../http/preconditions.js';
import { problemResponses } from '../http/responses.js';
import { writeContextOf } from '../http/caller.js';
import { IdParams } from '../shared/typebox.js';
import { GroupCreate, GroupsQuery, GroupUpdate } from './group.schemas.js';
import { groupEtag, groupRowToGroup } from './group.mapper.js';
import type { GroupService } from './group.service.js';

const tags = ['groups'];

const written = (reply: FastifyReply, row: GroupRow) => reply.header('etag', groupEtag(row)).send(groupRowToGroup(row));

/** Groups (advertisers): reads need `read`, writes `admin`. */
export const groupRoutes: FastifyPluginAsyncTypebox<{ service: GroupService }> = async (scope, { service }) => {
  acceptJsonOnly(scope);
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const config = { scope: 'admin' as const };

  app.get(
    '/groups',
    {
      schema: {
        tags,
        operationId: 'listGroups',
        summary: 'List groups',
        querystring: GroupsQuery,
        response: { 200: Type.Ref('GroupList'), ...notModified, ...problemResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const { etag, body } = await service.listGroups(request.caller.orgId, request.query);
      return sendTagged(request, reply, etag, body);
    },
  );

  app.get(
    '/groups/:id',
    {
      schema: {
        tags,
        operationId: 'getGroup',
        summary: 'Retrieve a group',
        params: IdParams,
        response: { 200: Type.Ref('Group'), ...notModified, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const row = await service.getGroup(request.caller.orgId, request.params.id);
      return sendTagged(request, reply, groupEtag(row), groupRowToGroup(row));
    },
  );

  app.post(
    '/groups',
    {
      config,
      schema: {
        tags,
        operationId: 'createGroup',
        summary: 'Create a group on an active leaf billing group',
        body: Type.Ref(GroupCreate),
        response: {
          201: Type.Ref('Group', { description: 'Created; Location names it' }),
          ...problemResponses(400, 401, 403, 413, 415),
        },
      },
    },
    async (request, reply) => {
      const row = await service.createGroup(writeContextOf(request), request.body);
      return written(reply.code(201).header('location', createdLocation(request.url, 'groups', row.id)), row);
    },
  );

  app.put(
    '/groups/:id',
    {
      config,
      schema: {
        tags,
        operationId: 'updateGroup',
        summary: 'Rename a group, move it to another leaf billing group, set its status',
        params: IdParams,
        headers: ifMatchHeaders(),
        body: Type.Ref(GroupUpdate),
        response: {
          200: Type.Ref('Group', { description: 'The group as it now is, with its new ETag' }),
          ...problemResponses(400, 401, 403, 404, 412, 413, 415),
        },
      },
    },
    async (request, reply) =>
      written(
        reply,
        await service.updateGroup(
          writeContextOf(request),
          request.params.id,
          request.body,
          request.headers['if-match'],
        ),
      ),
  );
};
