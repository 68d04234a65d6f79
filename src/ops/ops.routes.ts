import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { sql } from 'kysely';
import type { Registry } from 'prom-client';
import type { Db } from '../db/tables.js';
import type { SearchIndexProgress } from '../users/user.search.js';
import { AppError } from '../errors.js';
import { problemResponses } from '../http/responses.js';

const Status = Type.Object({ status: Type.String() });

/** /readyz: the process serves correct answers while its search indexes build; their progress, in totals only. */
const Readiness = Type.Object({
  status: Type.String(),
  search_index: Type.Object(
    {
      state: Type.Union([Type.Literal('off'), Type.Literal('building'), Type.Literal('ready')]),
      organizations_ready: Type.Integer({ minimum: 0 }),
      organizations_building: Type.Integer({ minimum: 0 }),
      rows_indexed: Type.Integer({ minimum: 0 }),
      rows_total: Type.Integer({ minimum: 0 }),
    },
    { description: 'The in-memory search indexes of this process (docs/performance.md)' },
  ),
});

/** These answer without a key: the OpenAPI document says so on each (an empty security requirement). */
const open = { tags: ['operations'], security: [] };

/** Operations endpoints, outside the API root and without a key. */
export const opsRoutes: FastifyPluginAsyncTypebox<{
  db: Db;
  registry: Registry;
  searchIndexProgress: () => SearchIndexProgress;
}> = async (app, { db, registry, searchIndexProgress }) => {
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
        response: { 200: Readiness, ...problemResponses(503) },
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
      const { bytes: _bytes, ...search_index } = searchIndexProgress();
      return { status: 'ready', search_index };
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
