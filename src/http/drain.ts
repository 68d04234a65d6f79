import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';

/** Seconds a client is told to wait before retrying while this process drains. */
const DRAIN_RETRY_AFTER = '2';

/**
 * Once the app starts closing, new requests on open connections get 503 with
 * Retry-After, and every answer closes its connection, so the process can exit
 * without waiting out keep-alive. Register after the security headers (a 503 carries them).
 */
export function drainOnClose(app: FastifyInstance): void {
  let draining = false;
  app.addHook('preClose', async () => {
    draining = true;
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onRequest', (_request, reply, done) => {
    if (draining) {
      reply.header('connection', 'close');
      throw new AppError(
        'SERVICE_UNAVAILABLE',
        'This server is shutting down; retry shortly (another instance will answer).',
        {
          headers: { 'retry-after': DRAIN_RETRY_AFTER },
        },
      );
    }
    done();
  });
}
