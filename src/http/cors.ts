import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';

/** CORS for the origins CORS_ORIGINS lists; off without it. */
export async function registerCors(app: FastifyInstance, config: Config): Promise<void> {
  if (config.corsOrigins.length === 0) return;
  await app.register(cors, {
    origin: config.corsOrigins.includes('*') ? '*' : [...config.corsOrigins],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: [
      'authorization',
      'x-organization-token',
      'content-type',
      'if-match',
      'if-none-match',
      'x-request-id',
    ],
    exposedHeaders: [
      'etag',
      'location',
      'link',
      'ratelimit',
      'ratelimit-policy',
      'retry-after',
      'x-request-id',
      'x-client-request-id',
    ],
    // Keys travel in headers, never cookies.
    credentials: false,
    maxAge: 600,
  });
}
