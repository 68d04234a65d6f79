import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** The environment Roster reads, validated once at start-up. */
const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  DATABASE_URL: Type.String({ pattern: '^(sqlite:|postgres(ql)?://)', default: 'sqlite:./data/roster.db' }),
  API_ROOT: Type.String({ pattern: '^(/[A-Za-z0-9._~-]+)+$', default: '/api/v1' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  ROSTER_DEMO: Type.Union([Type.Literal('0'), Type.Literal('1')], { default: '1' }),
  BODY_LIMIT: Type.Integer({ minimum: 1024, default: 1_048_576 }),
  PG_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
  // '0' behind a connection pooler that cannot keep named statements (PgBouncer before 1.21): db/pg-prepared.ts.
  PG_PREPARED_WRITES: Type.Union([Type.Literal('0'), Type.Literal('1')], { default: '1' }),
  // Hardening (docs/security.md).
  RATE_LIMIT: Type.Integer({ minimum: 0, default: 1200 }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  CORS_ORIGINS: Type.Optional(Type.String({ minLength: 1 })),
  TRUST_PROXY: Type.Optional(Type.String({ minLength: 1 })),
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 30_000 }),
  HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 10_000 }),
  KEEP_ALIVE_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 5_000 }),
  IDLE_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 60_000 }),
  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 0, default: 10_000 }),
  // Fault tests only (test/copy): `roster copy` stops for good after the first batch of this table.
  ROSTER_COPY_PAUSE_AFTER: Type.Optional(Type.String({ pattern: '^[a-z_]+$' })),
  // The cost budget of a request (docs/security.md, section 18).
  ROSTER_CACHE_BYTES: Type.Integer({ minimum: 0, default: 64 * 1024 * 1024 }),
  ROSTER_STREAMS_PER_KEY: Type.Integer({ minimum: 1, default: 2 }),
  ROSTER_STREAMS_MAX: Type.Integer({ minimum: 1, default: 32 }),
  ROSTER_STREAM_DEADLINE_MS: Type.Integer({ minimum: 100, default: 600_000 }),
  ROSTER_QUERY_TIMEOUT_MS: Type.Integer({ minimum: 10, default: 2000 }),
  ROSTER_READ_WORKERS: Type.Integer({ minimum: 0, maximum: 64, default: 3 }),
  ROSTER_ORG_QUERY_CONCURRENCY: Type.Integer({ minimum: 1, default: 2 }),
  // The in-memory search index (docs/performance.md, "The in-memory search index").
  ROSTER_SEARCH_INDEX: Type.Union([Type.Literal('0'), Type.Literal('1')], { default: '1' }),
  ROSTER_SEARCH_INDEX_MIN_USERS: Type.Integer({ minimum: 0, default: 10_000 }),
  ROSTER_SEARCH_INDEX_MAX_USERS: Type.Integer({ minimum: 0, default: 4_000_000 }),
  ROSTER_SEARCH_INDEX_CHUNK: Type.Integer({ minimum: 1, default: 5_000 }),
});

/** How many streamed answers may run at once, and for how long each (http/stream-limits.ts). */
export interface StreamLimits {
  readonly perKey: number;
  readonly perProcess: number;
  readonly deadlineMs: number;
}

/** How the directory's costly reads (lists, searches, counts, streams) are bounded (db/reads.ts). */
export interface ReadLimits {
  /** The longest one read statement may run, in ms. */
  readonly timeoutMs: number;
  /** SQLite: worker threads running reads off the main thread; 0 runs them on the main connection. */
  readonly workers: number;
}

/** Which organizations this process indexes in memory for substring searches, and how (users/user.search.ts). */
export interface SearchIndexSettings {
  /** Organizations with fewer users are answered by the database alone. */
  readonly minUsers: number;
  /** Users this process indexes at most, over all organizations (a bound on its memory). */
  readonly maxUsers: number;
  /** Rows read per keyset query of a build. */
  readonly chunkRows: number;
}

export type DatabaseTarget =
  | { readonly dialect: 'sqlite'; readonly file: string; readonly url: string }
  | { readonly dialect: 'postgres'; readonly url: string };

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly database: DatabaseTarget;
  readonly apiRoot: string;
  readonly logLevel: Static<typeof EnvSchema>['LOG_LEVEL'];
  readonly demo: boolean;
  readonly bodyLimit: number;
  readonly pgPoolSize: number;
  /** PostgreSQL: run parameterized writes as named prepared statements (db/pg-prepared.ts). */
  readonly pgPreparedWrites: boolean;
  /** Requests per minute per API key (per client address when unauthenticated); 0 turns limiting off. */
  readonly rateLimit: number;
  /** Redis holding the shared rate-limit counters; null: the database holds them. */
  readonly redisUrl: string | null;
  /** Origins allowed by CORS; empty: CORS off. */
  readonly corsOrigins: readonly string[];
  /** Fastify's trustProxy: false, true, a hop count or a list of addresses/CIDRs. */
  readonly trustProxy: boolean | number | string[];
  readonly requestTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly shutdownGraceMs: number;
  /** Fault tests only: the table after whose first batch `roster copy` stops and waits to be killed. */
  readonly copyPauseAfter: string | null;
  /** Bytes of answers (with their keys) each process caches; 0: none. */
  readonly cacheBytes: number;
  /** Streamed answers at once per key and per process, and the longest one may run. */
  readonly streams: StreamLimits;
  /** The time limit of a read and, on SQLite, the read worker threads. */
  readonly reads: ReadLimits;
  /** Uncached list queries one organization may run at once per process (more wait in line). */
  readonly orgQueryConcurrency: number;
  /** The in-memory search index; null: off (ROSTER_SEARCH_INDEX=0). */
  readonly searchIndex: SearchIndexSettings | null;
}

/** The items of a comma list setting, trimmed, empty ones dropped. */
function splitSetting(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** TRUST_PROXY: `true`/`false`, a hop count, or a comma list of addresses/CIDRs of the proxies. */
function parseTrustProxy(value: string | undefined): boolean | number | string[] {
  if (value === undefined || value === 'false' || value === '0') return false;
  if (value === 'true') return true;
  if (/^[0-9]+$/.test(value)) return Number(value);
  return splitSetting(value);
}

export class ConfigError extends Error {}

/** Parses a DATABASE_URL into the dialect and its connection target. */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file === '') throw new ConfigError('DATABASE_URL "sqlite:" needs a file path, e.g. sqlite:./data/roster.db');
    return Object.freeze({ dialect: 'sqlite', file, url });
  }
  if (/^postgres(ql)?:\/\//.test(url)) return Object.freeze({ dialect: 'postgres', url });
  throw new ConfigError(`DATABASE_URL must start with sqlite: or postgres://, got "${url}"`);
}

/** Reads and validates the environment into a frozen Config; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const converted = Value.Default(EnvSchema, Value.Convert(EnvSchema, raw));
  const errors = [...Value.Errors(EnvSchema, converted)];
  if (errors.length > 0) {
    const lines = errors.map((e) => `  ${e.path.slice(1)}=${JSON.stringify(raw[e.path.slice(1)])}: ${e.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const v = converted as Static<typeof EnvSchema>;
  return Object.freeze({
    port: v.PORT,
    host: v.HOST,
    database: parseDatabaseUrl(v.DATABASE_URL),
    apiRoot: v.API_ROOT,
    logLevel: v.LOG_LEVEL,
    demo: v.ROSTER_DEMO === '1',
    bodyLimit: v.BODY_LIMIT,
    pgPoolSize: v.PG_POOL_SIZE,
    pgPreparedWrites: v.PG_PREPARED_WRITES === '1',
    rateLimit: v.RATE_LIMIT,
    redisUrl: v.REDIS_URL ?? null,
    corsOrigins: Object.freeze(splitSetting(v.CORS_ORIGINS ?? '')),
    trustProxy: parseTrustProxy(v.TRUST_PROXY),
    requestTimeoutMs: v.REQUEST_TIMEOUT_MS,
    headersTimeoutMs: Math.min(v.HEADERS_TIMEOUT_MS, v.REQUEST_TIMEOUT_MS),
    keepAliveTimeoutMs: v.KEEP_ALIVE_TIMEOUT_MS,
    idleTimeoutMs: v.IDLE_TIMEOUT_MS,
    shutdownGraceMs: v.SHUTDOWN_GRACE_MS,
    copyPauseAfter: v.ROSTER_COPY_PAUSE_AFTER ?? null,
    cacheBytes: v.ROSTER_CACHE_BYTES,
    streams: Object.freeze({
      perKey: v.ROSTER_STREAMS_PER_KEY,
      perProcess: v.ROSTER_STREAMS_MAX,
      deadlineMs: v.ROSTER_STREAM_DEADLINE_MS,
    }),
    reads: Object.freeze({ timeoutMs: v.ROSTER_QUERY_TIMEOUT_MS, workers: v.ROSTER_READ_WORKERS }),
    orgQueryConcurrency: v.ROSTER_ORG_QUERY_CONCURRENCY,
    searchIndex:
      v.ROSTER_SEARCH_INDEX === '1'
        ? Object.freeze({
            minUsers: v.ROSTER_SEARCH_INDEX_MIN_USERS,
            maxUsers: v.ROSTER_SEARCH_INDEX_MAX_USERS,
            chunkRows: v.ROSTER_SEARCH_INDEX_CHUNK,
          })
        : null,
  });
}
