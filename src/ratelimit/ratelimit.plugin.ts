import rateLimit, { normalizeIP, type RateLimitPluginOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import type { Caller, RequestGuard } from '../http/caller.js';
import type { Config } from '../config.js';
import type { Connection } from '../db/connect.js';
import { AppError } from '../errors.js';
import { createDatabaseStore } from './ratelimit.store.js';

/** Counts a request against its budget, sets the RateLimit headers, and throws 429 when the budget is spent. */
export type RateLimiter = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

const WINDOW_MS = 60_000;
/** Redis keys: `roster:ratelimit:key:<key prefix>` and `roster:ratelimit:addr:<address>`. */
const NAMESPACE = 'roster:ratelimit:';

const callerOf = (request: FastifyRequest): Caller | undefined => (request as { caller?: Caller }).caller;

/** The budget a request counts against: its API key once authenticated, else its client address (IPv6 by /64). */
function bucketOf(request: FastifyRequest): string {
  const caller = callerOf(request);
  return caller ? `key:${caller.prefix}` : `addr:${normalizeIP(request.ip)}`;
}

/** Where the counters live: Redis when REDIS_URL is set (failing open if it is down), else the database. */
async function storeOptions(
  app: FastifyInstance,
  config: Config,
  conn: Connection,
): Promise<Partial<RateLimitPluginOptions>> {
  if (config.redisUrl) {
    const redis = new Redis(config.redisUrl, {
      lazyConnect: true,
      // Never queue or wait: a request must not hang because Redis does.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      commandTimeout: 1000,
    });
    let healthy = true;
    redis.on('error', (error: Error) => {
      if (healthy)
        app.log.warn({ err: error }, 'rate limit store (Redis) unavailable: requests are not limited until it is back');
      healthy = false;
    });
    redis.on('ready', () => {
      healthy = true;
    });
    await redis.connect().catch(() => {});
    app.addHook('onClose', async () => {
      redis.disconnect();
    });
    return { redis, nameSpace: NAMESPACE, skipOnError: true };
  }
  const store = createDatabaseStore(config.database, conn);
  app.addHook('onClose', () => store.close());
  // A database error here is the same outage the request would meet anyway: it becomes a 503.
  return { store: store.Store, skipOnError: false };
}

/** Registers @fastify/rate-limit (not on every route: the API root calls the limiter after authentication); null when RATE_LIMIT=0. */
export async function registerRateLimit(
  app: FastifyInstance,
  config: Config,
  conn: Connection,
): Promise<RateLimiter | null> {
  if (config.rateLimit === 0) return null;
  await app.register(rateLimit, {
    global: false,
    max: config.rateLimit,
    timeWindow: WINDOW_MS,
    keyGenerator: bucketOf,
    ...(await storeOptions(app, config, conn)),
  });
  const count = app.createRateLimit();
  return async function limit(request, reply) {
    const state = await count(request);
    if (state.isAllowed) return;
    const policy = callerOf(request) ? 'per-key' : 'per-address';
    const seconds = Math.max(1, state.ttlInSeconds);
    // draft-ietf-httpapi-ratelimit-headers: the policy (quota q per window w seconds) and what is left of it.
    reply.header('ratelimit-policy', `"${policy}";q=${state.max};w=${WINDOW_MS / 1000}`);
    reply.header('ratelimit', `"${policy}";r=${state.remaining};t=${seconds}`);
    if (state.isExceeded) {
      const who = policy === 'per-key' ? 'This API key' : 'This client address (unauthenticated)';
      throw new AppError(
        'RATE_LIMITED',
        `${who} is over its budget of ${state.max} requests per minute; retry after ${seconds} second(s).`,
        {
          headers: { 'retry-after': String(seconds) },
        },
      );
    }
  };
}

/**
 * Wraps the authentication hook so that every API request is counted once:
 * against its key when the key is valid (also when its scope is too small),
 * against its client address when it is not. A spent budget answers 429 first.
 */
export function limitAfterAuthentication(authenticate: RequestGuard, limit: RateLimiter | null): RequestGuard {
  if (!limit) return authenticate;
  return async (request, reply) => {
    try {
      await authenticate(request, reply);
    } catch (error) {
      await limit(request, reply);
      throw error;
    }
    await limit(request, reply);
  };
}
