import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { BillingGroupRow } from '../db/tables.js';
import { acceptJsonOnly } from '../http/body-parsers.js';
import { notModifiedResponse as notModified, sendTagged } from '../http/etags.js';
import { createdLocation } from '../http/location.js';
import { ifMatchHeaders } from '../http/preconditions.js';
import { problemResponses } from '../http/responses.js';
import { writeContextOf } from '../http/caller.js';
import { IdParams, NoQuery } from '../shared/typebox.js';
import { BillingGroupCreate, BillingGroupUpdate, ParentParams } from './billing-group.schemas.js';
import { billingGroupEtag, billingGroupRowToBillingGroup } from './billing-group.mapper.js';
import type { BillingGroupService } from './billing-group.service.js';

const tags = ['billing groups'];

const written = (reply: FastifyReply, row: BillingGroupRow) =>
  reply.header('etag', billingGroupEtag(row)).send(billingGroupRowToBillingGroup(row));

/** Billing groups: reads need `read`, writes `admin`. */
export const billingGroupRoutes: FastifyPluginAsyncTypebox<{ service: BillingGroupService }> = async (
  scope,
  { service },
) => {
  acceptJsonOnly(scope);
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const config = { scope: 'admin' as const };

  app.get(
    '/billinggroups',
    {
      schema: {
        tags,
        operationId: 'listBillingGroups',
        summary: 'List billing groups',
        querystring: NoQuery,
        response: { 200: Type.Ref('BillingGroupList'), ...notModified, ...problemResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const { etag, body } = await service.listBillingGroups(request.caller.orgId);
      return sendTagged(request, reply, etag, body);
    },
  );

  app.get(
    '/billinggroups/:id',
    {
      schema: {
        tags,
        operationId: 'getBillingGroup',
        summary: 'Retrieve a billing group',
        params: IdParams,
        response: { 200: Type.Ref('BillingGroup'), ...notModified, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const row = await service.getBillingGroup(request.caller.orgId, request.params.id);
      return sendTagged(request, reply, billingGroupEtag(row), billingGroupRowToBillingGroup(row));
    },
  );

  app.post(
    '/billinggroups',
    {
      config,
      schema: {
        tags,
        operationId: 'createBillingGroup',
        summary: 'Create a root billing group',
        body: Type.Ref(BillingGroupCreate),
        response: {
          201: Type.Ref('BillingGroup', { description: 'Created; Location names it' }),
          ...problemResponses(400, 401, 403, 413, 415),
        },
      },
    },
    async (request, reply) =>
      created(request.url, reply, await service.createBillingGroup(writeContextOf(request), undefined, request.body)),
  );

  app.post(
    '/billinggroups/:id',
    {
      config,
      schema: {
        tags,
        operationId: 'createChildBillingGroup',
        summary: 'Create a child billing group (at most 3 levels)',
        description:
          'A 4th level is 400. The parent must be active and hold no groups (groups hang only on leaves): else 409.',
        params: ParentParams,
        body: Type.Ref(BillingGroupCreate),
        response: {
          201: Type.Ref('BillingGroup', { description: 'Created; Location names it' }),
          ...problemResponses(400, 401, 403, 404, 409, 413, 415),
        },
      },
    },
    async (request, reply) =>
      created(
        request.url,
        reply,
        await service.createBillingGroup(writeContextOf(request), request.params.id, request.body),
      ),
  );

  app.put(
    '/billinggroups/:id',
    {
      config,
      schema: {
        tags,
        operationId: 'updateBillingGroup',
        summary: 'Rename a billing group and/or set its status',
        params: IdParams,
        headers: ifMatchHeaders(),
        body: Type.Ref(BillingGroupUpdate),
        response: {
          200: Type.Ref('BillingGroup', { description: 'The billing group as it now is, with its new ETag' }),
          ...problemResponses(400, 401, 403, 404, 412, 413, 415),
        },
      },
    },
    async (request, reply) =>
      written(
        reply,
        await service.updateBillingGroup(
          writeContextOf(request),
          request.params.id,
          request.body,
          request.headers['if-match'],
        ),
      ),
  );
};

function created(url: string, reply: FastifyReply, row: BillingGroupRow) {
  return written(reply.code(201).header('location', createdLocation(url, 'billinggroups', row.id)), row);
}
