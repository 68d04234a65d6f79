import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { auditRoutes } from './audit/audit.routes.js';
import { AuditEntry, AuditPage } from './audit/audit.schemas.js';
import { createAuditReader } from './audit/audit.service.js';
import { createAuthHook } from './auth/auth.hook.js';
import type { Config } from './config.js';
import type { Connection } from './db/connect.js';
import { isUnavailable } from './db/db-errors.js';
import { AppError, Problem, toProblem, type ErrorCode } from './errors.js';
import { apiResponseHeaders, documentGuardAnswers, registerHttpGuards, serverLimits, varyByKey } from './http/guards.js';
import { registerMetrics } from './ops/metrics.js';
import { opsRoutes } from './ops/ops.routes.js';
import { limitAfterAuthentication, registerRateLimit } from './ratelimit/ratelimit.plugin.js';
import { assertNoNulParams, parseQueryString, QueryValueError } from './shared/query.js';
import { validationProblem } from './shared/validation-errors.js';
import { userReadRoutes } from './users/user.routes.js';
import { User, UsersPage } from './users/user.schemas.js';
import { createUserReader } from './users/user.service.js';
import { userWriteRoutes } from './users/user.write.routes.js';
import { UserCreate, UserDeactivation, UserPatch, UserReplace } from './users/user.write.schemas.js';
import { createUserWriter } from './users/user.write.service.js';
import { billingGroupRoutes } from './billing-groups/billing-group.routes.js';
import { BillingGroup, BillingGroupCreate, BillingGroupList, BillingGroupUpdate } from './billing-groups/billing-group.schemas.js';
import { createBillingGroupService } from './billing-groups/billing-group.service.js';
import { groupRoutes } from './groups/group.routes.js';
import { Group, GroupCreate, GroupList, GroupUpdate } from './groups/group.schemas.js';
import { createGroupService } from './groups/group.service.js';

export interface AppOptions {
  /** Pino options or a logger; tests pass `false`. */
  readonly logger?: FastifyServerOptions['logger'];
  /** Collect process metrics (the server does; tests building many apps do not). */
  readonly processMetrics?: boolean;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Never logged: keys travel in these headers. */
export const REDACTED_PATHS = ['req.headers.authorization', 'req.headers["x-organization-token"]', 'headers.authorization', 'headers["x-organization-token"]'];

/** The pino options of the server (and of the tests that check what it logs). */
export function loggerOptions(level: string, stream?: { write(line: string): void }) {
  return { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, ...(stream ? { stream } : {}) };
}

/** Every route under the API root needs a key: the OpenAPI document says so on each. */
const API_SECURITY: Array<Record<string, string[]>> = [{ bearer: [] }, { organizationToken: [] }];

/** Errors the router raises before any hook runs (bad percent-encoding, an over-long path segment). */
function frameworkProblem(error: FastifyError): AppError {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return new AppError('URI_TOO_LONG', 'A path segment is longer than 2048 characters; no user, id or name is that long.');
  }
  if (error.code === 'FST_ERR_BAD_URL') {
    return new AppError('VALIDATION_FAILED', 'The URL path is not valid percent-encoded UTF-8; encode each path segment (encodeURIComponent).');
  }
  return new AppError('INTERNAL', 'Something went wrong on our side.');
}

/** Fastify's own 4xx codes → the catalog. */
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
};

function toAppError(error: FastifyError & { validationContext?: string }): AppError | undefined {
  if (error instanceof AppError) return error;
  if (error instanceof QueryValueError) return new AppError('VALIDATION_FAILED', error.message, { errors: [{ parameter: error.parameter, message: error.reason }] });
  if (error.validation) return validationProblem(error.validation, error.validationContext ?? 'body');
  const mapped = error.code ? fastifyCodes[error.code] : undefined;
  if (mapped === 'MALFORMED_JSON') return new AppError(mapped, `The body is not valid JSON: ${error.message.replace(/^Body is not valid JSON but content-type is set to 'application\/json'/, 'empty body')}. Send one JSON object.`);
  if (mapped === 'BODY_TOO_LARGE') return new AppError(mapped, 'The body is larger than this server accepts; send a smaller body (split a bulk load into several requests).');
  if (mapped === 'UNSUPPORTED_MEDIA_TYPE') return new AppError(mapped, 'Send the body as application/json (or application/merge-patch+json for PATCH).');
  if (mapped) return new AppError(mapped, error.message);
  if (error instanceof SyntaxError && error.statusCode === 400) return new AppError('MALFORMED_JSON', `The body is not valid JSON: ${error.message}. Send one JSON object.`);
  if (isUnavailable(error)) return new AppError('SERVICE_UNAVAILABLE', 'The database is unavailable right now; retry shortly.', { headers: { 'retry-after': '1' } });
  return undefined;
}

/** Builds the Roster app on an open database. Never listens: server.ts and tests decide that. */
export async function buildApp(config: Config, conn: Connection, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...serverLimits(config),
    logger: options.logger ?? false,
    bodyLimit: config.bodyLimit,
    routerOptions: { maxParamLength: 2048, querystringParser: parseQueryString },
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const problem = frameworkProblem(error);
      reply.header('x-request-id', request.id).code(problem.status).type('application/problem+json').send(toProblem(problem.code, problem.message));
    },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true, verbose: true, useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addSchema(Problem);
  app.addSchema(User);
  app.addSchema(UsersPage);
  app.addSchema(AuditEntry);
  app.addSchema(AuditPage);
  for (const schema of [UserCreate, UserReplace, UserPatch, UserDeactivation, BillingGroup, BillingGroupList, BillingGroupCreate, BillingGroupUpdate, Group, GroupList, GroupCreate, GroupUpdate]) {
    app.addSchema(schema);
  }

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  await registerHttpGuards(app, config);

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const known = toAppError(error);
    if (!known && (error.statusCode ?? 500) < 500) {
      // Any other 4xx Fastify raises keeps its status with a plain message (never internals).
      const status = error.statusCode ?? 400;
      return reply.code(status).type('application/problem+json').send({ ...toProblem('VALIDATION_FAILED', error.message), status, title: 'Bad request' });
    }
    const appError = known ?? new AppError('INTERNAL', `Something went wrong on our side. Quote request id ${request.id} when reporting it.`);
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
      .send(toProblem('NOT_FOUND', `There is no ${request.method} ${request.url.split('?')[0]}; see /docs for the API reference.`)),
  );

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Roster', version: '1.0.0', description: 'The user directory of a call-tracking and call-analytics platform.' },
      servers: [{ url: '/' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, organizationToken: { type: 'apiKey', in: 'header', name: 'x-organization-token' } } },
      tags: [{ name: 'users' }, { name: 'billing groups' }, { name: 'groups' }, { name: 'audit' }, { name: 'operations' }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const registry = registerMetrics(app, { processMetrics: options.processMetrics ?? false });
  await app.register(opsRoutes, { db: conn.db, registry });

  const reader = createUserReader(conn.db);
  const authenticate = createAuthHook(conn.db);
  const limit = await registerRateLimit(app, config, conn);
  await app.register(
    async (api) => {
      api.addHook('onRequest', apiResponseHeaders);
      api.addHook('onSend', varyByKey);
      api.addHook('onRequest', limitAfterAuthentication(authenticate, limit));
      api.addHook('onRoute', documentGuardAnswers(limit !== null));
      // No backend stores NUL (PostgreSQL refuses it in text): a 400 naming the parameter, never a 500.
      api.addHook('preValidation', async (request) => assertNoNulParams(request.params));
      api.addHook('onRoute', (route) => {
        route.schema = { ...route.schema, security: API_SECURITY };
      });
      await api.register(userReadRoutes, { reader });
      await api.register(userWriteRoutes, { writer: createUserWriter(conn.db) });
      await api.register(billingGroupRoutes, { service: createBillingGroupService(conn.db) });
      await api.register(groupRoutes, { service: createGroupService(conn.db) });
      await api.register(auditRoutes, { reader: createAuditReader(conn.db) });
    },
    { prefix: config.apiRoot },
  );
  return app;
}
