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
        license: { name: 'UNLICENSED' },
      },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          organizationToken: { type: 'apiKey', in: 'header', name: 'x-organization-token' },
        },
      },
      tags: [
        {
          name: 'users',
          description: 'The directory: list, search, read, create, change, activate and deactivate users',
        },
        { name: 'billing groups', description: 'The billing group hierarchy (up to three levels)' },
        { name: 'groups', description: 'Groups (advertisers), each on a leaf billing group' },
        { name: 'audit', description: 'The append-only audit trail of every write' },
        { name: 'keys', description: 'The calling API key' },
        { name: 'operations', description: 'Liveness, readiness and metrics, without a key' },
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
