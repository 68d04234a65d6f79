import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { splitHeaderList } from './header-list.js';

const opaque = (tag: string) => tag.replace(/^W\//, '');

/** RFC 9110 weak comparison for If-None-Match: true when the header names this ETag (or is `*`). */
export function noneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return splitHeaderList(header).some((t) => t === '*' || opaque(t) === opaque(etag));
}

/** Sends a representation with its ETag, or `304` when the client's If-None-Match already names it. */
export function sendTagged<T>(request: FastifyRequest, reply: FastifyReply, etag: string, body: T): T | FastifyReply {
  reply.header('etag', etag);
  if (noneMatchHits(request.headers['if-none-match'], etag)) return reply.code(304).send();
  return body;
}

/** The `304` entry of a tagged GET route's responses. */
export const notModifiedResponse = { 304: Type.Null({ description: 'Not modified (If-None-Match)' }) };

/** The ETag of one of an organization's lists: its write_version changes with every write to its directory. */
export function listEtag(kind: string, writeVersion: number): string {
  return `"${kind}.${writeVersion}"`;
}
