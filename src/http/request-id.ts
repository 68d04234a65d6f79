import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Fastify's genReqId: the server's own id of every request, a new UUID. A client's X-Request-Id never
 * replaces it: the id in the log, in a 5xx's detail and in the audit trail is one the server made, so no
 * client can make two requests share an id or pass its own value off as the server's.
 */
export function newRequestId(): string {
  return randomUUID();
}

/** The client's X-Request-Id when it is a plain token of at most 128 characters; anything else is dropped. */
export function clientRequestIdOf(req: IncomingMessage): string | undefined {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && CLIENT_REQUEST_ID.test(given) ? given : undefined;
}

/**
 * The request id headers of an answer: the server's id as X-Request-Id (docs/contract.md, section 6), and a
 * client's own plain X-Request-Id back as X-Client-Request-Id, so the client can match the two.
 */
export function requestIdHeaders(request: FastifyRequest): Record<string, string> {
  const client = clientRequestIdOf(request.raw);
  return client === undefined
    ? { 'x-request-id': request.id }
    : { 'x-request-id': request.id, 'x-client-request-id': client };
}

/** onRequest: every answer carries its request id headers. Register first. */
export function echoRequestId(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    const client = clientRequestIdOf(request.raw);
    if (client !== undefined) reply.header('x-client-request-id', client);
    done();
  });
}
