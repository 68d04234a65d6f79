import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';

/** Seconds a client is told to wait before retrying while this process drains. */
const DRAIN_RETRY_AFTER = '2';

/** Route handlers still running, which the app's close waits for (see drainOnClose). */
export interface RunningHandlers {
  /** Settles once no handler runs, or after `maxMs` whatever runs. Register it as the app's last onClose hook. */
  settled(maxMs: number): Promise<void>;
}

/**
 * Once the app starts closing, new requests on open connections get 503 with
 * Retry-After, and every answer closes its connection, so the process can exit
 * without waiting out keep-alive. Register after the security headers (a 503 carries them),
 * before any route.
 *
 * The server's close waits for open connections only: a handler whose client hung up goes on (a PATCH
 * waiting for its group commit), and closing the database under it failed it with a 500 in the log. Every
 * route's handler is therefore counted while it runs, and the returned `settled` lets the app's close wait
 * for them before its other onClose hooks close the reads and the database.
 */
export function drainOnClose(app: FastifyInstance): RunningHandlers {
  let running = 0;
  let idle: (() => void) | undefined;
  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function (this: FastifyInstance, request, reply) {
      const result: unknown = handler.call(this, request, reply);
      if (!(result instanceof Promise)) return result;
      running++;
      return result.finally(() => {
        if (--running === 0) idle?.();
      });
    };
  });
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
  return {
    settled: (maxMs) =>
      running === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, maxMs);
            idle = () => {
              clearTimeout(timer);
              resolve();
            };
          }),
  };
}
