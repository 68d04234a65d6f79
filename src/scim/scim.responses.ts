import type { TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ScimError, SCIM_MEDIA_TYPE } from './scim.schemas.js';

// What every SCIM route shares: its OpenAPI answers, the base URL of its links, the written-resource reply.

const errorBody = { description: 'A SCIM error object', content: { [SCIM_MEDIA_TYPE]: { schema: ScimError } } };

/** The SCIM error answers of a route in the OpenAPI document (every error under /scim/v2 is a SCIM error object). */
export const scimErrors = (...statuses: number[]) =>
  Object.fromEntries([...statuses, 413, 414, 429, 431, 503].map((s) => [s, errorBody]));

/** A successful answer in the OpenAPI document. */
export const scimAnswer = (schema: TSchema, description: string) => ({
  description,
  content: { [SCIM_MEDIA_TYPE]: { schema } },
});

/** The absolute URL of /scim/v2 for this request (meta.location, Location). */
export const baseOf = (request: FastifyRequest) => `${request.protocol}://${request.host}/scim/v2`;

/** A written or read resource with its ETag. */
export const sendWithEtag = (reply: FastifyReply, answer: { resource: unknown; etag: string }) =>
  reply.header('etag', answer.etag).send(answer.resource);
