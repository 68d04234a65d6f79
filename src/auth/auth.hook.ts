import type { FastifyRequest } from 'fastify';
import type { RequestGuard } from '../http/caller.js';
import { AppError } from '../errors.js';
import { nowTimestamp } from '../shared/timestamps.js';
import type { ActiveKeyRow } from './key.repository.js';
import type { KeyService } from './key.service.js';
import { scopeAllows } from './key.rules.js';

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

function unknownKey(): AppError {
  return new AppError(
    'UNAUTHORIZED',
    'The API key is unknown, revoked or expired. Ask an administrator of your organization for a valid key.',
    {
      headers: { 'www-authenticate': `${CHALLENGE}, error="invalid_token"` },
    },
  );
}

/**
 * The onRequest guard of the API root: resolves the key to an organization and
 * scope (request.caller, see http/caller.ts), and enforces the route's scope.
 * It answers without a promise when the key's row came at once (SQLite): a
 * cached answer then needs no turn of the event loop before its handler.
 */
export function createAuthHook(keys: KeyService): RequestGuard {
  const lastTouched = new Map<number, number>();

  /** Admits a request whose key row was found (or refuses it); a promise only when the last-use touch is due. */
  function admit(request: FastifyRequest, row: ActiveKeyRow | undefined, now: string): void | Promise<void> {
    if (!row) throw unknownKey();
    request.caller = {
      orgId: row.org_id,
      keyId: row.id,
      prefix: row.prefix,
      scope: row.scope,
      writeVersion: Number(row.write_version),
    };
    // A route that does not say defaults by method: a read key may only read (GET, HEAD), so anything else needs write.
    const needed = request.routeOptions.config.scope ?? (READ_METHODS.has(request.method) ? 'read' : 'write');
    if (!scopeAllows(row.scope, needed)) {
      throw new AppError('FORBIDDEN', `This call needs a key with the "${needed}" scope; this key has "${row.scope}".`);
    }
    // last_used_at is written at most once a minute per key and process: a read must not cost a write.
    const at = Date.now();
    if ((lastTouched.get(row.id) ?? 0) + TOUCH_INTERVAL_MS >= at) return;
    lastTouched.set(row.id, at);
    // Best effort: a busy database (a long import holding SQLite's write lock) must not fail a read.
    return keys
      .recordKeyUse(row.id, now)
      .catch((error: unknown) => request.log.warn({ err: error }, 'could not record key use'));
  }

  return function authenticate(request: FastifyRequest): void | Promise<void> {
    const key = presentedKey(request);
    if (key === undefined) {
      throw new AppError(
        'UNAUTHORIZED',
        'Send an API key as "Authorization: Bearer <key>" or "x-organization-token: <key>".',
        {
          headers: { 'www-authenticate': CHALLENGE },
        },
      );
    }
    const now = nowTimestamp();
    const found = keys.findActiveKey(key, now);
    return found instanceof Promise ? found.then((row) => admit(request, row, now)) : admit(request, found, now);
  };
}
