import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { auditRoutes } from './audit/audit.routes.js';
import { AuditEntry, AuditPage } from './audit/audit.schemas.js';
import { createAuditService } from './audit/audit.service.js';
import { createAuthHook } from './auth/auth.hook.js';
import { createKeyService } from './auth/key.service.js';
import { meRoutes } from './auth/me.routes.js';
import { Me } from './auth/me.schemas.js';
import { createMeService } from './auth/me.service.js';
import { billingGroupRoutes } from './billing-groups/billing-group.routes.js';
import {
  BillingGroup,
  BillingGroupCreate,
  BillingGroupList,
  BillingGroupUpdate,
} from './billing-groups/billing-group.schemas.js';
import { createBillingGroupService } from './billing-groups/billing-group.service.js';
import type { Config } from './config.js';
import type { Connection } from './db/connect.js';
import { groupCommit } from './db/group-commit.js';
import { createReads } from './db/reads.js';
import { Problem } from './errors.js';
import { groupRoutes } from './groups/group.routes.js';
import { Group, GroupCreate, GroupList, GroupUpdate } from './groups/group.schemas.js';
import { createGroupService } from './groups/group.service.js';
import { guardApiScope } from './http/api-scope.js';
import { registerCors } from './http/cors.js';
import { drainOnClose } from './http/drain.js';
import { answerFrameworkError, registerErrorHandlers } from './http/error-handler.js';
import { registerOpenApi } from './http/openapi.js';
import { parseQueryString } from './http/query-string.js';
import { echoRequestId, newRequestId } from './http/request-id.js';
import { logRequestTarget } from './http/logger.js';
import { AJV_OPTIONS, registerSchemas } from './http/schemas.js';
import { addSecurityHeaders } from './http/security-headers.js';
import { createStreamGate } from './http/stream-limits.js';
import { limitRequestSize, MAX_PARAM_LENGTH, serverLimits, warnOfTrustedProxies } from './http/server-limits.js';
import { registerMetrics } from './ops/metrics.js';
import { opsRoutes } from './ops/ops.routes.js';
import { limitAfterAuthentication, registerRateLimit } from './ratelimit/ratelimit.plugin.js';
import { answerScimFrameworkError } from './scim/scim.errors.js';
import { scimRoutes } from './scim/scim.routes.js';
import { SCIM_BASE } from './scim/scim.schemas.js';
import { createOrgQueryGate } from './shared/org-query-gate.js';
import { userRoutes } from './users/user.routes.js';
import { User, UserCreate, UserDeactivation, UserPatch, UserReplace, UsersPage } from './users/user.schemas.js';
import { createUserScimService } from './users/user.scim.service.js';
import { createUserService } from './users/user.service.js';
import { CONSOLE_PATH, consoleRoutes } from './web/console.plugin.js';

export interface AppOptions {
  /** Pino options or a logger; tests pass `false`. */
  readonly logger?: FastifyServerOptions['logger'];
  /** Collect process metrics (the server does; tests building many apps do not). */
  readonly processMetrics?: boolean;
}

/** Builds the Roster app on an open database. Never listens: server.ts and tests decide that. */
export async function buildApp(config: Config, conn: Connection, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...serverLimits(config),
    logger: options.logger ?? false,
    bodyLimit: config.bodyLimit,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH, querystringParser: parseQueryString },
    genReqId: newRequestId,
    // The router's errors come before any route: SCIM's paths get SCIM error objects, the rest problem+json.
    frameworkErrors: (error, request, reply) =>
      (request.url.startsWith(SCIM_BASE) ? answerScimFrameworkError : answerFrameworkError)(error, request, reply),
    ajv: AJV_OPTIONS,
  }).withTypeProvider<TypeBoxTypeProvider>();

  registerSchemas(app, [
    Problem,
    User,
    UsersPage,
    AuditEntry,
    AuditPage,
    UserCreate,
    UserReplace,
    UserPatch,
    UserDeactivation,
    BillingGroup,
    BillingGroupList,
    BillingGroupCreate,
    BillingGroupUpdate,
    Group,
    GroupList,
    GroupCreate,
    GroupUpdate,
    Me,
  ]);
  warnOfTrustedProxies(app, config);
  echoRequestId(app);
  logRequestTarget(app);
  addSecurityHeaders(app);
  const handlers = drainOnClose(app);
  limitRequestSize(app);
  await registerCors(app, config);
  registerErrorHandlers(app);
  await registerOpenApi(app);

  const reads = createReads(conn, config.database, config.reads);
  app.addHook('onClose', () => reads.close());
  // One organization's costly reads share one set of slots, whichever API asks (GET users, SCIM).
  const orgQueries = createOrgQueryGate(config.orgQueryConcurrency);
  const users = createUserService(conn.db, {
    cacheBytes: config.cacheBytes,
    reads,
    orgQueries,
    searchIndex: config.searchIndex,
    readNow: conn.readNow,
  });
  app.addHook('onClose', () => users.close());
  const registry = registerMetrics(app, {
    processMetrics: options.processMetrics ?? false,
    cachedBytes: users.cachedBytes,
    answerCacheCounts: users.answerCacheCounts,
    writeCommitCounts: () => groupCommit(conn.db).counts,
    searchIndexProgress: users.searchIndexProgress,
    searchIndexCounts: users.searchIndexCounts,
  });
  await app.register(opsRoutes, { db: conn.db, registry, searchIndexProgress: users.searchIndexProgress });

  await app.register(consoleRoutes, { prefix: CONSOLE_PATH, apiRoot: config.apiRoot });

  const authenticate = createAuthHook(
    createKeyService(conn.db, { readNow: conn.readNow, commitStamp: conn.commitStamp }),
  );
  const limit = await registerRateLimit(app, config, conn);
  await app.register(
    async (api) => {
      guardApiScope(api, { guard: limitAfterAuthentication(authenticate, limit), rateLimited: limit !== null });
      await api.register(userRoutes, { service: users, streams: createStreamGate(config.streams) });
      await api.register(billingGroupRoutes, { service: createBillingGroupService(conn.db) });
      await api.register(groupRoutes, { service: createGroupService(conn.db) });
      await api.register(auditRoutes, { service: createAuditService(conn.db) });
      await api.register(meRoutes, { service: createMeService(conn.db) });
    },
    { prefix: config.apiRoot },
  );
  await app.register(scimRoutes, {
    prefix: SCIM_BASE,
    users: createUserScimService(conn.db, { reads, orgQueries }),
    guard: limitAfterAuthentication(authenticate, limit),
    limit,
  });
  // Registered last, so it runs first of the onClose hooks (after the server's own close): see drainOnClose.
  app.addHook('onClose', () => handlers.settled(config.shutdownGraceMs));
  return app;
}
