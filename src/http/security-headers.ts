import type { FastifyInstance } from 'fastify';

/** onRequest: the headers every answer carries (no MIME sniffing, no referrer; HSTS over TLS). */
export function addSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    // HSTS only means something on a response that came over TLS (directly, or per a trusted proxy's X-Forwarded-Proto).
    if (request.protocol === 'https') reply.header('strict-transport-security', 'max-age=31536000');
  });
}
