import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { sql } from 'kysely';
import type { Registry } from 'prom-client';
import type { Db } from '../db/tables.js';
import { AppError } from '../errors.js';
import { problemResponses } from '../http/responses.js';

const Status = Type.Object({ status: Type.String() });

/** These answer without a key: the OpenAPI document says so on each (an empty security requirement). */
const open = { tags: ['operations'], security: [] };

/** Operations endpoints, outside the API root and without a key. */
export const opsRoutes: FastifyPluginAsyncTypebox<{ db: Db; registry: Registry }> = async (app, { db, registry }) => {
  app.get(
    '/healthz',
    { schema: { ...open, operationId: 'getHealth', summary: 'The process is up', response: { 200: Status } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        ...open,
        operationId: 'getReadiness',
        summary: 'The database is reachable',
        response: { 200: Status, ...problemResponses(503) },
      },
    },
    async () => {
      try {
        await sql`select 1`.execute(db);
      } catch {
        throw new AppError('SERVICE_UNAVAILABLE', 'The database is not reachable; retry shortly.', {
          headers: { 'retry-after': '1' },
        });
      }
      return { status: 'ready' };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        ...open,
        operationId: 'getMetrics',
        summary: 'Prometheus metrics',
        produces: ['text/plain'],
        response: {
          200: {
            description: 'Prometheus text exposition format',
            content: { 'text/plain': { schema: Type.String() } },
          },
        },
      },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
};
