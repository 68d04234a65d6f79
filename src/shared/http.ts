import type { FastifyReply, FastifyRequest } from 'fastify';

function tagsOf(header: string): string[] {
  return header.split(',').map((t) => t.trim()).filter((t) => t !== '');
}

const opaque = (tag: string) => tag.replace(/^W\//, '');

/** RFC 9110 weak comparison for If-None-Match: true when the header names this ETag (or is `*`). */
export function noneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return tagsOf(header).some((t) => t === '*' || opaque(t) === opaque(etag));
}

/** Sends a representation with its ETag, or `304` when the client's If-None-Match already names it. */
export function sendTagged<T>(request: FastifyRequest, reply: FastifyReply, etag: string, body: T): T | FastifyReply {
  reply.header('etag', etag);
  if (noneMatchHits(request.headers['if-none-match'], etag)) return reply.code(304).send();
  return body;
}
