import type { FastifyInstance } from 'fastify';

/** The headers every answer carries, including those Node answers on the raw socket (server-limits.ts). */
export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

/** onRequest: the headers every answer carries (no MIME sniffing, no referrer; HSTS over TLS). */
export function addSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    // HSTS only means something on a response that came over TLS (directly, or per a trusted proxy's X-Forwarded-Proto).
    if (request.protocol === 'https') reply.header('strict-transport-security', 'max-age=31536000');
    done();
  });
}
