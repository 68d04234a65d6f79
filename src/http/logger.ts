import type { FastifyInstance, FastifyRequest } from 'fastify';
import { clientRequestIdOf } from './request-id.js';

/** Never logged: keys travel in these headers. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-organization-token"]',
  'headers.authorization',
  'headers["x-organization-token"]',
];

/** Anything shaped like a Roster key (`rst_` and base64url, src/auth/key.rules.ts), whatever field holds it. */
const KEY_SHAPED = /rst_[A-Za-z0-9_-]+/g;
const REDACTED = '[redacted]';

/** The text with every key-shaped run replaced; the last guard on each log line (pino's streamWrite hook). */
function redactKeys(text: string): string {
  return text.replace(KEY_SHAPED, `rst_${REDACTED}`);
}

/** `?name=a&pagesize=3` → `?name=[redacted]&pagesize=[redacted]`: which parameters were sent, never what. */
function redactQueryValues(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      return equals === -1 ? pair : `${pair.slice(0, equals)}=${REDACTED}`;
    })
    .join('&');
}

/**
 * The request line as logged at info: the route pattern (`/api/v1/users/:user`, so no username or id from
 * the path) and the query string's names without their values (search values hold e-mail addresses).
 */
function loggedTarget(request: FastifyRequest): string {
  const raw = request.raw.url ?? '';
  const question = raw.indexOf('?');
  const route = request.routeOptions.url ?? '(no route)';
  return question === -1 ? route : `${route}?${redactQueryValues(raw.slice(question + 1))}`;
}

/** The pino options of the server (and of the tests that check what it logs). */
export function loggerOptions(level: string, stream?: { write(line: string): void }) {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: REDACTED },
    serializers: {
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: loggedTarget(request),
        host: request.host,
        remoteAddress: request.ip,
        // Beside reqId (the server's own id): the client's X-Request-Id, when it sent a plain one.
        clientRequestId: clientRequestIdOf(request.raw),
      }),
    },
    hooks: { streamWrite: redactKeys },
    ...(stream ? { stream } : {}),
  };
}

/** onRequest: the whole request target (keys still redacted) at debug level only, for tracing one client. */
export function logRequestTarget(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    request.log.debug({ target: request.raw.url }, 'request target');
    done();
  });
}
