import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { UserRow } from '../db/tables.js';
import { acceptEmptyJson, acceptJsonOnly, acceptMergePatch } from '../http/body-parsers.js';
import { writeContextOf } from '../http/caller.js';
import { clientGoneSignal } from '../http/client-gone.js';
import { noneMatchHits, notModifiedResponse } from '../http/etags.js';
import { createdLocation } from '../http/location.js';
import { ifMatchHeaders } from '../http/preconditions.js';
import { shapeQuery } from '../http/query-string.js';
import type { StreamGate } from '../http/stream-limits.js';
import { orderedJson, problemResponses } from '../http/responses.js';
import { linkHeader } from '../shared/paging.js';
import { NoQuery } from '../shared/typebox.js';
import {
  formatUserStream,
  STREAM_MEDIA_TYPES,
  streamFormatOf,
  USER_CSV_COLUMNS,
  type StreamFormat,
} from './user.formats.js';
import { userEtag, userRowToUser } from './user.mapper.js';
import {
  NEEDLES_TOTAL,
  UserCreate,
  UserDeactivation,
  UserParams,
  UserPatch,
  UserReplace,
  UsersQuery,
} from './user.schemas.js';
import type { UserService } from './user.service.js';

const listShape = {
  multi: ['username', 'name', 'status', 'role', 'billing_group', 'group_owner'],
  integer: ['pagenumber', 'pagesize'],
  saturating: ['pagesize'],
  lower: ['status', 'role', 'sortby', 'sortorder'],
  budget: { names: ['username', 'name'], max: NEEDLES_TOTAL },
} as const;

/** The `200` of `GET users` in the OpenAPI document: the JSON page, or the whole list streamed as NDJSON or CSV. */
const usersListResponse = {
  description:
    'A page of users (JSON), or with `Accept: application/x-ndjson` or `text/csv` every matching user, unpaged, streamed',
  content: {
    'application/json': { schema: Type.Ref('UsersPage') },
    [STREAM_MEDIA_TYPES.ndjson]: {
      schema: Type.String({
        description: 'one user object per line (LF), in the sort order; paging parameters are ignored',
      }),
    },
    [STREAM_MEDIA_TYPES.csv]: {
      schema: Type.String({
        description: `a header row then one user per row (RFC 4180, LF): columns ${USER_CSV_COLUMNS.join(', ')}; lists are \`;\`-separated, null and absent values empty`,
      }),
    },
  },
};

/** Answers `GET users` as a stream of every matching user (no paging) when the Accept header asks for one. */
function sendUserStream(
  request: FastifyRequest,
  reply: FastifyReply,
  body: Readable,
  format: StreamFormat,
): FastifyReply {
  body.on('error', (error) => request.log.warn({ err: error }, 'user stream ended early'));
  return reply.header('vary', 'accept').type(`${STREAM_MEDIA_TYPES[format]}; charset=utf-8`).send(body);
}

/** Sends `GET users/{user}`'s answer with its ETag, or `304` when the client's If-None-Match names it. */
function sendUserAnswer(
  request: FastifyRequest,
  reply: FastifyReply,
  { etag, body }: { etag: string; body: string },
): FastifyReply {
  reply.header('etag', etag);
  if (noneMatchHits(request.headers['if-none-match'], etag)) return reply.code(304).send();
  return reply.type('application/json; charset=utf-8').send(body);
}

const IfMatchHeaders = ifMatchHeaders(
  'the ETag of your last read (or `*`): the write is refused with 412 if the user changed since',
);

const NoBody = Type.Object({}, { additionalProperties: false, description: 'no body (or an empty object)' });

const written = (reply: FastifyReply, row: UserRow) => reply.header('etag', userEtag(row)).send(userRowToUser(row));

/** A missing optional body is an empty object. */
const emptyBodyIsObject = async (request: FastifyRequest) => {
  if (request.body === undefined || request.body === null) request.body = {};
};

const user = { 200: Type.Ref('User', { description: 'The user as it now is; the ETag header holds its new ETag' }) };

/**
 * The users API (docs/contract.md, sections 2 and 3): `GET users` (paged, searched, or streamed) and
 * `GET users/{user}` with the `read` scope; create, replace, merge-patch, activate and deactivate with `write`.
 */
export const userRoutes: FastifyPluginAsyncTypebox<{ service: UserService; streams: StreamGate }> = async (
  app,
  { service, streams },
) => {
  app.get(
    '/users',
    {
      ...orderedJson,
      preValidation: async (request) => shapeQuery(request.query as Record<string, unknown>, listShape),
      schema: {
        tags: ['users'],
        operationId: 'listUsers',
        summary: 'Retrieve all users, paged; search them',
        description:
          'Substring search on `username` and `name` (Unicode case-insensitive, literal), exact match on the rest. ' +
          'Different parameters combine with AND; a repeated parameter matches any of its values. Parameter names match case-insensitively.',
        querystring: UsersQuery,
        response: { 200: usersListResponse, ...problemResponses(400, 401, 403, 429, 503) },
      },
    },
    async (request, reply) => {
      const stream = streamFormatOf(request.headers.accept);
      if (stream) {
        const rows = service.streamUsers(request.caller.orgId, request.query, clientGoneSignal(reply));
        return sendUserStream(
          request,
          reply,
          // A CSV from the API is opened in spreadsheets: formulas are always neutralized (docs/security.md).
          streams.guard(request.caller.keyId, formatUserStream(rows, stream, { neutralizeFormulas: true }), reply.raw),
          stream,
        );
      }
      const answer = await service.listUsers(
        request.caller.orgId,
        request.query,
        request.url,
        request.caller.writeVersion,
        clientGoneSignal(reply),
      );
      const { page, total } = answer;
      // A page too big to cache streams from the database as the client reads: it counts as a stream.
      const body =
        typeof answer.body === 'string' ? answer.body : streams.guard(request.caller.keyId, answer.body, reply.raw);
      return reply
        .header('link', linkHeader(request.url, page, total))
        .type('application/json; charset=utf-8')
        .send(body);
    },
  );

  app.get(
    '/users/:user',
    {
      ...orderedJson,
      schema: {
        tags: ['users'],
        operationId: 'getUser',
        summary: 'Retrieve a user by user_id or username',
        params: UserParams,
        querystring: NoQuery,
        response: { 200: Type.Ref('User'), ...notModifiedResponse, ...problemResponses(400, 401, 403, 404) },
      },
    },
    (request, reply) => {
      const answer = service.getUserAnswer(request.caller.orgId, request.params.user, request.caller.writeVersion);
      // A cached answer comes without a promise, and is sent in this same turn (nothing returned: it is sent).
      if (answer instanceof Promise) return answer.then((found) => sendUserAnswer(request, reply, found));
      sendUserAnswer(request, reply, answer);
      return undefined;
    },
  );

  const config = { scope: 'write' as const };

  await app.register(async (scope) => {
    acceptJsonOnly(scope);
    const json = scope.withTypeProvider<TypeBoxTypeProvider>();
    json.post(
      '/users',
      {
        ...orderedJson,
        config,
        schema: {
          tags: ['users'],
          operationId: 'createUser',
          summary: 'Create a user (status awaiting_approval)',
          body: Type.Ref(UserCreate),
          response: {
            201: Type.Ref('User', { description: 'Created: the new user; Location names it, ETag tags it' }),
            ...problemResponses(400, 401, 403, 409, 413, 415),
          },
        },
      },
      async (request, reply) => {
        const row = await service.createUser(writeContextOf(request), request.body);
        return written(reply.code(201).header('location', createdLocation(request.url, 'users', row.user_id)), row);
      },
    );

    json.put(
      '/users/:user',
      {
        ...orderedJson,
        config,
        schema: {
          tags: ['users'],
          operationId: 'replaceUser',
          summary: 'Replace a user (renaming allowed when the new username is free)',
          description:
            'The same body and rules as POST. Absent optional fields are reset. Fields copied from a GET (user_id, status, dates) may be sent unchanged.',
          params: UserParams,
          headers: IfMatchHeaders,
          body: Type.Ref(UserReplace),
          response: { ...user, ...problemResponses(400, 401, 403, 404, 409, 412, 413, 415) },
        },
      },
      async (request, reply) =>
        written(
          reply,
          await service.replaceUser(
            writeContextOf(request),
            request.params.user,
            request.body,
            request.headers['if-match'],
          ),
        ),
    );
  });

  await app.register(async (scope) => {
    acceptMergePatch(scope);
    const patch = scope.withTypeProvider<TypeBoxTypeProvider>();
    patch.patch(
      '/users/:user',
      {
        ...orderedJson,
        config,
        schema: {
          tags: ['users'],
          operationId: 'updateUser',
          summary: 'Change some fields of a user (JSON Merge Patch, RFC 7396)',
          description:
            'Send `application/merge-patch+json` (or `application/json`). Members present replace; `null` resets an optional field; arrays replace.',
          consumes: ['application/merge-patch+json', 'application/json'],
          params: UserParams,
          headers: IfMatchHeaders,
          body: Type.Ref(UserPatch),
          response: { ...user, ...problemResponses(400, 401, 403, 404, 409, 412, 413, 415) },
        },
      },
      async (request, reply) =>
        written(
          reply,
          await service.patchUser(
            writeContextOf(request),
            request.params.user,
            request.body,
            request.headers['if-match'],
          ),
        ),
    );
  });

  await app.register(async (scope) => {
    acceptEmptyJson(scope);
    const life = scope.withTypeProvider<TypeBoxTypeProvider>();
    life.put(
      '/users/:user/activate',
      {
        ...orderedJson,
        config,
        preValidation: emptyBodyIsObject,
        schema: {
          tags: ['users'],
          operationId: 'activateUser',
          summary: 'Activate a user (deactivation_date goes away)',
          params: UserParams,
          headers: IfMatchHeaders,
          body: NoBody,
          response: { ...user, ...problemResponses(400, 401, 403, 404, 412, 415) },
        },
      },
      async (request, reply) =>
        written(
          reply,
          await service.activateUser(writeContextOf(request), request.params.user, request.headers['if-match']),
        ),
    );

    for (const method of ['PUT', 'DELETE'] as const) {
      life.route({
        method,
        url: '/users/:user/deactivate',
        ...orderedJson,
        config,
        preValidation: emptyBodyIsObject,
        schema: {
          tags: ['users'],
          operationId: method === 'PUT' ? 'deactivateUser' : 'deactivateUserByDelete',
          summary: method === 'PUT' ? 'Deactivate a user, reassigning their groups and reports' : 'Deactivate a user',
          description:
            'Status becomes deactivated and deactivation_date is set. The groups the user owns move to `reassign_groups_to_user` in the same transaction; ' +
            '`reassign_reports_to_user` and `delete_scheduled_reports` are recorded for the reporting side. Deactivating a deactivated user keeps its deactivation_date.',
          params: UserParams,
          headers: IfMatchHeaders,
          body: Type.Ref(UserDeactivation),
          response: { ...user, ...problemResponses(400, 401, 403, 404, 412, 413, 415) },
        },
        handler: async (request, reply) =>
          written(
            reply,
            await service.deactivateUser(
              writeContextOf(request),
              request.params.user,
              request.body,
              request.headers['if-match'],
            ),
          ),
      });
    }
  });
};
