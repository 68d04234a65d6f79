import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { noneMatchHits, notModifiedResponse } from '../http/etags.js';
import { linkHeader } from '../shared/paging.js';
import { shapeQuery } from '../http/query-string.js';
import { orderedJson, problemResponses } from '../http/responses.js';
import { NoQuery } from '../shared/typebox.js';
import { UserParams, UsersQuery } from './user.schemas.js';
import type { UserReader } from './user.service.js';
import { sendUserStream, streamFormatOf, usersListResponse } from './user.stream.js';

const listShape = {
  multi: ['username', 'name', 'status', 'role', 'billing_group', 'group_owner'],
  integer: ['pagenumber', 'pagesize'],
  lower: ['status', 'role', 'sortby', 'sortorder'],
} as const;

/** The seed's read endpoints: `GET users` (all, paged, searched) and `GET users/{user}`. */
export const userReadRoutes: FastifyPluginAsyncTypebox<{ reader: UserReader }> = async (app, { reader }) => {
  app.get(
    '/users',
    {
      ...orderedJson,
      preValidation: async (request) => shapeQuery(request.query as Record<string, unknown>, listShape),
      schema: {
        tags: ['users'],
        summary: 'Retrieve all users, paged; search them',
        description:
          'Substring search on `username` and `name` (Unicode case-insensitive, literal), exact match on the rest. ' +
          'Different parameters combine with AND; a repeated parameter matches any of its values. Parameter names match case-insensitively.',
        querystring: UsersQuery,
        response: { 200: usersListResponse, ...problemResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const stream = streamFormatOf(request.headers.accept);
      if (stream) return sendUserStream(request, reply, reader.streamUsers(request.caller.orgId, request.query), stream);
      const { body, page, total } = await reader.listUsers(request.caller.orgId, request.query, request.url, request.caller.writeVersion);
      return reply.header('link', linkHeader(request.url, page, total)).type('application/json; charset=utf-8').send(body);
    },
  );

  app.get(
    '/users/:user',
    {
      ...orderedJson,
      schema: {
        tags: ['users'],
        summary: 'Retrieve a user by user_id or username',
        params: UserParams,
        querystring: NoQuery,
        response: { 200: Type.Ref('User'), ...notModifiedResponse, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { etag, body } = await reader.getUserAnswer(request.caller.orgId, request.params.user, request.caller.writeVersion);
      reply.header('etag', etag);
      if (noneMatchHits(request.headers['if-none-match'], etag)) return (reply as FastifyReply).code(304).send();
      return reply.type('application/json; charset=utf-8').send(body);
    },
  );
};
