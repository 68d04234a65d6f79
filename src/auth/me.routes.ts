import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { problemResponses } from '../http/responses.js';
import { NoQuery } from '../shared/typebox.js';
import type { MeService } from './me.service.js';

/** `GET me` with any scope: which organization and scope the calling key has (the console shows or hides its buttons by it). */
export const meRoutes: FastifyPluginAsyncTypebox<{ service: MeService }> = async (app, { service }) => {
  app.get(
    '/me',
    {
      schema: {
        tags: ['keys'],
        operationId: 'getMe',
        summary: "The calling key: its organization's name, prefix, scope and expiry (any scope)",
        querystring: NoQuery,
        response: { 200: Type.Ref('Me'), ...problemResponses(400, 401) },
      },
    },
    async (request) => service.describeCaller(request.caller),
  );
};
