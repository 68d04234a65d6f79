import type { FastifyInstance, onRequestHookHandler, onSendHookHandler, preValidationHookHandler } from 'fastify';
import { invalidFields } from '../errors.js';
import type { RequestGuard } from './caller.js';
import { quoteValue } from '../shared/text.js';
import { splitHeaderList } from './header-list.js';
import { problemResponses } from './responses.js';

/** Every route under the API root needs a key: the OpenAPI document says so on each. */
const API_SECURITY: Array<Record<string, string[]>> = [{ bearer: [] }, { organizationToken: [] }];

// Hooks here take `done` rather than returning a promise: they run on every API request, and a promise
// per hook costs more than the hook's own work (docs/performance.md, "Cached paths").

/** onRequest under the API root: the data is personal, so no shared cache may keep it (clients may, and revalidate). */
const forbidSharedCaches: onRequestHookHandler = (_request, reply, done) => {
  reply.header('cache-control', 'private, no-cache');
  done();
};

const KEY_HEADERS = ['authorization', 'x-organization-token'];
const VARY_BY_KEY = KEY_HEADERS.join(', ');

/** onSend under the API root: answers vary with the key that asked, added to whatever Vary a route set (e.g. accept). */
const varyByKey: onSendHookHandler = (_request, reply, payload, done) => {
  const vary = reply.getHeader('vary');
  if (vary === undefined) {
    reply.header('vary', VARY_BY_KEY);
  } else {
    const names = splitHeaderList(String(vary));
    for (const name of KEY_HEADERS) if (!names.some((n) => n.toLowerCase() === name)) names.push(name);
    reply.header('vary', names.join(', '));
  }
  done(null, payload);
};

/** The guard as an onRequest hook: `done` at once when the guard answered without a promise. */
function guardHook(guard: RequestGuard): onRequestHookHandler {
  return (request, reply, done) => {
    const waiting = guard(request, reply);
    if (waiting === undefined) done();
    else waiting.then(() => done(), done);
  };
}

/** preValidation under the API root: no NUL in path parameters. */
const refuseNul: preValidationHookHandler = (request, _reply, done) => {
  refuseNulParams(request.params);
  done();
};

/** onRoute under the API root: every operation documents the answers the guards may give (413 only with a body). */
function documentGuardAnswers(rateLimited: boolean) {
  return (route: { method: string | string[]; schema?: Record<string, unknown> }): void => {
    const schema = (route.schema ??= {});
    if (schema.hide) return;
    const response = { ...((schema.response as Record<string, unknown> | undefined) ?? {}) };
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const statuses = [
      414,
      431,
      ...(rateLimited ? [429] : []),
      503,
      ...(methods.some((m) => m !== 'GET' && m !== 'HEAD') ? [413] : []),
    ];
    for (const [status, entry] of Object.entries(problemResponses(...statuses)))
      if (!(status in response)) response[status] = entry;
    schema.response = response;
  };
}

/** Refuses a path parameter holding NUL: no user, id or name can, and PostgreSQL would fail on it (a 400, never a 500). */
function refuseNulParams(params: unknown): void {
  if (typeof params !== 'object' || params === null) return;
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === 'string' && value.includes('\u0000')) {
      throw invalidFields(
        [{ parameter: name, message: `must not contain the NUL character (U+0000) (got ${quoteValue(value)})` }],
        'VALIDATION_FAILED',
        'Path',
      );
    }
  }
}

interface ApiScopeOptions {
  /** The onRequest hook that authenticates the key (and counts the request against its rate limit). */
  readonly guard: RequestGuard;
  /** Whether the guard may answer 429 (rate limiting is on). */
  readonly rateLimited: boolean;
}

/**
 * The hooks of the API root, in order: no shared caching, Vary by key, the key
 * guard, the guards' answers and the key requirement in every operation's
 * OpenAPI entry, no NUL in path parameters. Register on the API root's plugin.
 */
export function guardApiScope(api: FastifyInstance, { guard, rateLimited }: ApiScopeOptions): void {
  api.addHook('onRequest', forbidSharedCaches);
  api.addHook('onSend', varyByKey);
  api.addHook('onRequest', guardHook(guard));
  api.addHook('onRoute', documentGuardAnswers(rateLimited));
  api.addHook('preValidation', refuseNul);
  api.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, security: API_SECURITY };
  });
}
