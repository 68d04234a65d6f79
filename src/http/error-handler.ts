import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isQueryTimeout, isUnavailable } from '../db/db-errors.js';
import { AppError, toProblem, type ErrorCode } from '../errors.js';
import { requestIdHeaders } from './request-id.js';
import { MAX_PARAM_LENGTH } from './server-limits.js';
import { validationProblem } from './validation-errors.js';

/** Errors the router raises before any hook runs (bad percent-encoding, an over-long path segment). */
export function frameworkProblem(error: FastifyError): AppError {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return new AppError(
      'URI_TOO_LONG',
      `A path segment is longer than ${MAX_PARAM_LENGTH} characters; no user, id or name is that long.`,
    );
  }
  if (error.code === 'FST_ERR_BAD_URL') {
    return new AppError(
      'VALIDATION_FAILED',
      'The URL path is not valid percent-encoded UTF-8; encode each path segment (encodeURIComponent).',
    );
  }
  return new AppError('INTERNAL', 'Something went wrong on our side.');
}

/** Fastify's frameworkErrors option: the router's own errors, answered as problem+json. */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const problem = frameworkProblem(error);
  reply
    .headers(requestIdHeaders(request))
    .code(problem.status)
    .type('application/problem+json')
    .send(toProblem(problem.code, problem.message));
}

/** Fastify's own 4xx codes → the catalog. */
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
};

/** The AppError an error stands for, when Roster knows it (SCIM renders the same errors in its own form). */
export function toAppError(error: FastifyError & { validationContext?: string }): AppError | undefined {
  if (error instanceof AppError) return error;
  if (error.validation) return validationProblem(error.validation, error.validationContext ?? 'body');
  const mapped = error.code ? fastifyCodes[error.code] : undefined;
  // Every route with a body parses it with body-parsers.ts, whose 400 says what is wrong and where; this is
  // Fastify's own parser, should a route be left to it.
  if (mapped === 'MALFORMED_JSON')
    return new AppError(mapped, 'The body is empty or not valid JSON. Send one JSON object.');
  if (mapped === 'BODY_TOO_LARGE')
    return new AppError(
      mapped,
      'The body is larger than this server accepts; send a smaller body (split a bulk load into several requests).',
    );
  if (mapped === 'UNSUPPORTED_MEDIA_TYPE')
    return new AppError(mapped, 'Send the body as application/json (or application/merge-patch+json for PATCH).');
  if (mapped) return new AppError(mapped, error.message);
  if (error instanceof SyntaxError && error.statusCode === 400)
    return new AppError('MALFORMED_JSON', `The body is not valid JSON: ${error.message}. Send one JSON object.`);
  if (isQueryTimeout(error))
    return new AppError(
      'QUERY_TOO_COSTLY',
      'The query ran longer than this server allows one read to run, and was stopped. Narrow it: use longer or fewer ' +
        'search values (username, name), add a status, role, billing_group or group_owner filter, or ask for a smaller page.',
      { headers: { 'retry-after': '5' } },
    );
  if (isUnavailable(error))
    return new AppError('SERVICE_UNAVAILABLE', 'The database is unavailable right now; retry shortly.', {
      headers: { 'retry-after': '1' },
    });
  return undefined;
}

/**
 * The one error handler: every error becomes problem+json from the catalog
 * (errors.ts); a 5xx is logged and its internals never sent. Unknown routes
 * get a 404 in the same form.
 */
export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const known = toAppError(error);
    if (!known && (error.statusCode ?? 500) < 500) {
      // Any other 4xx Fastify raises keeps its status with a plain message (never internals).
      const status = error.statusCode ?? 400;
      return reply
        .code(status)
        .type('application/problem+json')
        .send({ ...toProblem('VALIDATION_FAILED', error.message), status, title: 'Bad request' });
    }
    const appError =
      known ??
      new AppError('INTERNAL', `Something went wrong on our side. Quote request id ${request.id} when reporting it.`);
    if (appError.status >= 500) request.log.error({ err: error }, 'request failed');
    return reply
      .code(appError.status)
      .headers(appError.headers)
      .type('application/problem+json')
      .send(toProblem(appError.code, appError.message, appError.errors));
  });

  app.setNotFoundHandler(async (request, reply) =>
    reply
      .code(404)
      .type('application/problem+json')
      .send(
        toProblem(
          'NOT_FOUND',
          `There is no ${request.method} ${request.url.split('?')[0]}; see /docs for the API reference.`,
        ),
      ),
  );
}
