import type { TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';

/** How every route validates: no type coercion, nothing removed, every error at once, defaults filled in. */
export const AJV_OPTIONS: FastifyServerOptions['ajv'] = {
  customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true, verbose: true, useDefaults: true },
};

/**
 * Registers the shapes routes refer to by `$id` (Type.Ref). The OpenAPI
 * document lists them in this order, so add new ones at the end.
 */
export function registerSchemas(app: FastifyInstance, schemas: readonly TSchema[]): void {
  for (const schema of schemas) app.addSchema(schema);
}
