import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { Config } from '../config.js';
import { AppError, toProblem, type ErrorCode } from '../errors.js';
import { SECURITY_HEADERS } from './security-headers.js';

/** Longest request target (path and query string) Roster reads, in bytes: longer is 414. */
export const MAX_URL_BYTES = 8 * 1024;
/** Largest sum of header field names and values, in bytes: larger is 431. */
export const MAX_HEADER_BYTES = 16 * 1024;
/**
 * Node's parser limit on the request line and headers together. It sits well
 * above the two limits above so that those answer with a clear problem+json
 * from the app; past it, the parser stops and clientError answers 414 or 431.
 */
export const PARSER_MAX_HEADER_BYTES = 64 * 1024;
/** Longest path segment the router reads (no user, id or name is longer): longer is 414. */
export const MAX_PARAM_LENGTH = 2048;

/** The Fastify/Node server options of the request limits and time-outs (docs/security.md). */
export function serverLimits(config: Config): Partial<FastifyServerOptions> & { http: ServerOptions } {
  return {
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    connectionTimeout: config.idleTimeoutMs,
    http: {
      maxHeaderSize: PARSER_MAX_HEADER_BYTES,
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      // Node checks the two time-outs above this often (its default, 30 s, lets a slow client linger).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(config.headersTimeoutMs / 4))),
    },
    clientErrorHandler,
    // Draining is answered by http/drain.ts, as problem+json (Fastify's own 503 is plain JSON).
    return503OnClosing: false,
    trustProxy: config.trustProxy as FastifyServerOptions['trustProxy'],
  };
}

/**
 * At start, a warning when TRUST_PROXY=true: every X-Forwarded-For hop is then believed, so any client can
 * claim any address (and escape per-address rate limits). A hop count or the proxies' addresses is safe.
 */
export function warnOfTrustedProxies(app: FastifyInstance, config: Config): void {
  if (config.trustProxy !== true) return;
  app.log.warn(
    { trustProxy: true },
    "TRUST_PROXY=true believes every X-Forwarded-For hop: clients can spoof their address (and escape per-address rate limits) unless every request comes through your proxy. Set TRUST_PROXY to the hop count or to the proxies' addresses/CIDRs instead.",
  );
}

/**
 * Node reports only that the request line and headers overflowed, and the last
 * packet read. When that packet ends the request line (`… HTTP/1.1` before its
 * first CRLF), everything before it was the target: 414. Otherwise 431, whose
 * detail names both limits.
 */
function requestLineOverflowed(raw: Buffer | undefined): boolean {
  if (!raw) return false;
  const end = raw.indexOf('\r\n');
  return end !== -1 && / HTTP\/\d\.\d$/.test(raw.subarray(Math.max(0, end - 16), end).toString('latin1'));
}

function clientProblem(error: NodeJS.ErrnoException & { rawPacket?: Buffer }): { code: ErrorCode; detail: string } {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      code: 'REQUEST_TIMEOUT',
      detail: 'The request (its headers or its body) did not arrive in time; send it again without pausing.',
    };
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return requestLineOverflowed(error.rawPacket)
      ? {
          code: 'URI_TOO_LONG',
          detail: `The request target is longer than ${MAX_URL_BYTES} bytes; send fewer or shorter query parameters.`,
        }
      : {
          code: 'HEADERS_TOO_LARGE',
          detail: `The request line and header fields together pass ${PARSER_MAX_HEADER_BYTES} bytes; the target may have at most ${MAX_URL_BYTES} bytes and the header fields ${MAX_HEADER_BYTES} in total.`,
        };
  }
  return { code: 'VALIDATION_FAILED', detail: 'The request is not valid HTTP/1.1.' };
}

/** Node's clientError (before Fastify sees a request): answer problem+json on the socket, then close it. */
function clientErrorHandler(connectionError: Error, socket: Socket): void {
  const error = connectionError as NodeJS.ErrnoException & { rawPacket?: Buffer };
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const { code, detail } = clientProblem(error);
    const problem = toProblem(code, detail);
    const body = JSON.stringify(problem);
    socket.end(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}\r\n` +
        'Content-Type: application/problem+json\r\n' +
        // Every response carries X-Request-Id (docs/contract.md, section 6), even one Node answers before Fastify has a request.
        `X-Request-Id: ${randomUUID()}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        Object.entries(SECURITY_HEADERS)
          .map(([name, value]) => `${name}: ${value}\r\n`)
          .join('') +
        'Connection: close\r\n\r\n' +
        body,
    );
    setTimeout(() => socket.destroy(), 1000).unref();
    return;
  }
  socket.destroy();
}

function headerBytes(request: FastifyRequest): number {
  let total = 0;
  for (const part of request.raw.rawHeaders) total += Buffer.byteLength(part);
  return total;
}

/** onRequest: a request target over MAX_URL_BYTES is 414, header fields over MAX_HEADER_BYTES 431. */
export function limitRequestSize(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const urlBytes = Buffer.byteLength(request.raw.url ?? '');
    if (urlBytes > MAX_URL_BYTES) {
      throw new AppError(
        'URI_TOO_LONG',
        `The request target is ${urlBytes} bytes; at most ${MAX_URL_BYTES} are accepted. Send fewer or shorter query parameters.`,
      );
    }
    const headers = headerBytes(request);
    if (headers > MAX_HEADER_BYTES) {
      throw new AppError(
        'HEADERS_TOO_LARGE',
        `The header fields are ${headers} bytes in total; at most ${MAX_HEADER_BYTES} are accepted. Send fewer or smaller headers.`,
      );
    }
    done();
  });
}
