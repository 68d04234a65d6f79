import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/** The OpenAPI 3.1 document, generated from the route schemas, at /openapi.json; the interactive reference at /docs. */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Roster',
        version: '1.0.0',
        description: 'The user directory of a call-tracking and call-analytics platform.',
      },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          organizationToken: { type: 'apiKey', in: 'header', name: 'x-organization-token' },
        },
      },
      tags: [
        { name: 'users' },
        { name: 'billing groups' },
        { name: 'groups' },
        { name: 'audit' },
        { name: 'operations' },
        { name: 'scim', description: 'SCIM 2.0 provisioning at /scim/v2 (docs/scim.md)' },
      ],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
