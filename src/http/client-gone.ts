import type { FastifyReply } from 'fastify';

/** A signal that aborts when the client goes away before its answer is complete (its socket closed). */
export function clientGoneSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}
