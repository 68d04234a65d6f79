import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AppError } from '../errors.js';
import { linkHeader } from '../shared/paging.js';
import { shapeQuery } from '../http/query-string.js';
import { orderedJson, problemResponses } from '../http/responses.js';
import { NoQuery } from '../shared/typebox.js';
import { AuditParams, AuditQuery } from './audit.schemas.js';
import type { AuditService } from './audit.service.js';

const listShape = {
  multi: ['target_id', 'action', 'target_type'],
  integer: ['pagenumber', 'pagesize'],
  saturating: ['pagesize'],
  lower: ['target_type', 'sortorder'],
  single: ['since', 'until'],
} as const;

const READ_ONLY = 'GET, HEAD';

function readOnly(): never {
  throw new AppError(
    'METHOD_NOT_ALLOWED',
    'The audit trail is append-only: its entries cannot be created, changed or deleted through the API. Use GET.',
    {
      headers: { allow: READ_ONLY },
    },
  );
}

/** `GET audit` (paged, filtered) and `GET audit/{audit_id}`, admin scope; every other method is 403 below admin, else 405. */
export const auditRoutes: FastifyPluginAsyncTypebox<{ service: AuditService }> = async (app, { service }) => {
  app.get(
    '/audit',
    {
      ...orderedJson,
      config: { scope: 'admin' },
      preValidation: async (request) => shapeQuery(request.query as Record<string, unknown>, listShape),
      schema: {
        tags: ['audit'],
        operationId: 'listAuditEntries',
        summary: "The organization's audit trail, paged and filtered (admin scope)",
        description:
          'One entry per write (users, lifecycle actions, billing groups, groups, API keys), oldest first. ' +
          'Different parameters combine with AND; a repeated parameter matches any of its values. `since` is inclusive, `until` exclusive.',
        querystring: AuditQuery,
        response: { 200: Type.Ref('AuditPage'), ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const { body, page } = await service.listEntries(request.caller.orgId, request.query);
      return reply.header('link', linkHeader(request.url, page, body.paging.total)).send(body);
    },
  );

  app.get(
    '/audit/:audit_id',
    {
      ...orderedJson,
      config: { scope: 'admin' },
      schema: {
        tags: ['audit'],
        operationId: 'getAuditEntry',
        summary: 'One audit entry (admin scope)',
        params: AuditParams,
        querystring: NoQuery,
        response: { 200: Type.Ref('AuditEntry'), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => service.getEntry(request.caller.orgId, request.params.audit_id),
  );

  for (const [url, what] of [
    ['/audit', 'AuditEntries'],
    ['/audit/:audit_id', 'AuditEntry'],
  ] as const) {
    // One route per method: each OpenAPI operation needs its own operationId.
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const)
      app.route({
        method,
        url,
        // The audit trail is the admins' to read: a key that could not read it learns nothing more (403, not 405).
        config: { scope: 'admin' },
        schema: {
          tags: ['audit'],
          operationId: `${method.toLowerCase()}${what}NotAllowed`,
          summary: 'Not allowed: the audit trail is append-only',
          response: problemResponses(401, 403, 405),
        },
        handler: async () => readOnly(),
      });
  }
};
