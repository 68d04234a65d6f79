import type { FastifyInstance } from 'fastify';

/**
 * Content types of the write routes, set per plugin (Fastify encapsulates
 * parsers). Only JSON is accepted: `text/plain`, which Fastify parses by
 * default, is removed so that any other type is a 415.
 */
export function acceptJsonOnly(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain');
}

/** PATCH bodies: RFC 7396 `application/merge-patch+json`, and `application/json` as many clients send. */
export function acceptMergePatch(app: FastifyInstance): void {
  acceptJsonOnly(app);
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
}

/**
 * Lifecycle calls take no body or an optional one; many clients still send
 * `Content-Type: application/json` with an empty body, which is read as no body.
 */
export function acceptEmptyJson(app: FastifyInstance): void {
  acceptJsonOnly(app);
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (typeof body === 'string' && body.trim() === '') {
      done(null, undefined);
      return;
    }
    parse(request, String(body), done);
  });
}
