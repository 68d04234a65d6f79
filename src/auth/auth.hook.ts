import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../db/tables.js';
import { AppError } from '../errors.js';
import { nowTimestamp } from '../shared/timestamps.js';
import { hashApiKey, scopeAllows, type Scope } from './api-key.js';
import { findActiveKeyByHash, touchKey } from './key.repository.js';

/** Who is calling: set on every authenticated request by the hook below. */
export interface Caller {
  readonly orgId: number;
  readonly keyId: number;
  readonly prefix: string;
  readonly scope: Scope;
  /** The organization's write_version when the request arrived (read with the key: no extra round trip). */
  readonly writeVersion: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
  }
  interface FastifyContextConfig {
    /** The scope a route needs; GET and HEAD default to `read`, every other method to `write`. */
    scope?: Scope;
  }
}

const CHALLENGE = 'Bearer realm="roster"';
const READ_METHODS = new Set(['GET', 'HEAD']);
const TOUCH_INTERVAL_MS = 60_000;

function presentedKey(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  const token = request.headers['x-organization-token'];
  return typeof token === 'string' && token.trim() !== '' ? token.trim() : undefined;
}

/** The onRequest hook of the API root: resolves the key to an organization and scope, and enforces the route's scope. */
export function createAuthHook(db: Db) {
  const lastTouched = new Map<number, number>();
  return async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const key = presentedKey(request);
    if (key === undefined) {
      throw new AppError('UNAUTHORIZED', 'Send an API key as "Authorization: Bearer <key>" or "x-organization-token: <key>".', {
        headers: { 'www-authenticate': CHALLENGE },
      });
    }
    const now = nowTimestamp();
    const row = await findActiveKeyByHash(db, hashApiKey(key), now);
    if (!row) {
      throw new AppError('UNAUTHORIZED', 'The API key is unknown, revoked or expired. Ask an administrator of your organization for a valid key.', {
        headers: { 'www-authenticate': `${CHALLENGE}, error="invalid_token"` },
      });
    }
    request.caller = { orgId: row.org_id, keyId: row.id, prefix: row.prefix, scope: row.scope, writeVersion: Number(row.write_version) };
    // A route that does not say defaults by method: a read key may only read (GET, HEAD), so anything else needs write.
    const needed = request.routeOptions.config.scope ?? (READ_METHODS.has(request.method) ? 'read' : 'write');
    if (!scopeAllows(row.scope, needed)) {
      throw new AppError('FORBIDDEN', `This call needs a key with the "${needed}" scope; this key has "${row.scope}".`);
    }
    // last_used_at is written at most once a minute per key and process: a read must not cost a write.
    const at = Date.now();
    if ((lastTouched.get(row.id) ?? 0) + TOUCH_INTERVAL_MS < at) {
      lastTouched.set(row.id, at);
      // Best effort: a busy database (a long import holding SQLite's write lock) must not fail a read.
      await touchKey(db, row.id, now).catch((error: unknown) => request.log.warn({ err: error }, 'could not record key use'));
    }
  };
}
