import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { UserRow } from '../db/tables.js';
import { acceptEmptyJson, acceptJsonOnly, acceptMergePatch } from '../http/body-parsers.js';
import { createdLocation } from '../http/location.js';
import { ifMatchHeaders } from '../http/preconditions.js';
import { orderedJson, problemResponses } from '../http/responses.js';
import { writeContextOf } from '../http/caller.js';
import { userEtag, userRowToUser } from './user.repository.js';
import { UserParams } from './user.schemas.js';
import { UserCreate, UserDeactivation, UserPatch, UserReplace } from './user.write.schemas.js';
import type { UserWriter } from './user.write.service.js';

const IfMatchHeaders = ifMatchHeaders('the ETag of your last read (or `*`): the write is refused with 412 if the user changed since');

const NoBody = Type.Object({}, { additionalProperties: false, description: 'no body (or an empty object)' });

const written = (reply: FastifyReply, row: UserRow) => reply.header('etag', userEtag(row)).send(userRowToUser(row));

/** A missing optional body is an empty object. */
const emptyBodyIsObject = async (request: FastifyRequest) => {
  if (request.body === undefined || request.body === null) request.body = {};
};

const user = { 200: Type.Ref('User', { description: 'The user as it now is; the ETag header holds its new ETag' }) };

/** The user writes of §3: create, replace, merge-patch, activate and deactivate. All need the `write` scope. */
export const userWriteRoutes: FastifyPluginAsyncTypebox<{ writer: UserWriter }> = async (app, { writer }) => {
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
          summary: 'Create a user (status awaiting_approval)',
          body: Type.Ref(UserCreate),
          response: { 201: Type.Ref('User', { description: 'Created: the new user; Location names it, ETag tags it' }), ...problemResponses(400, 401, 403, 409, 413, 415) },
        },
      },
      async (request, reply) => {
        const row = await writer.createUser(writeContextOf(request), request.body);
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
          summary: 'Replace a user (renaming allowed when the new username is free)',
          description: 'The same body and rules as POST. Absent optional fields are reset. Fields copied from a GET (user_id, status, dates) may be sent unchanged.',
          params: UserParams,
          headers: IfMatchHeaders,
          body: Type.Ref(UserReplace),
          response: { ...user, ...problemResponses(400, 401, 403, 404, 409, 412, 413, 415) },
        },
      },
      async (request, reply) => written(reply, await writer.replaceUser(writeContextOf(request), request.params.user, request.body, request.headers['if-match'])),
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
          summary: 'Change some fields of a user (JSON Merge Patch, RFC 7396)',
          description: 'Send `application/merge-patch+json` (or `application/json`). Members present replace; `null` resets an optional field; arrays replace.',
          consumes: ['application/merge-patch+json', 'application/json'],
          params: UserParams,
          headers: IfMatchHeaders,
          body: Type.Ref(UserPatch),
          response: { ...user, ...problemResponses(400, 401, 403, 404, 409, 412, 413, 415) },
        },
      },
      async (request, reply) => written(reply, await writer.patchUser(writeContextOf(request), request.params.user, request.body, request.headers['if-match'])),
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
          summary: 'Activate a user (deactivation_date goes away)',
          params: UserParams,
          headers: IfMatchHeaders,
          body: NoBody,
          response: { ...user, ...problemResponses(400, 401, 403, 404, 412, 415) },
        },
      },
      async (request, reply) => written(reply, await writer.activateUser(writeContextOf(request), request.params.user, request.headers['if-match'])),
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
          written(reply, await writer.deactivateUser(writeContextOf(request), request.params.user, request.body, request.headers['if-match'])),
      });
    }
  });
};
