import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { DatabaseTarget } from '../config.js';
import type { Connection } from '../db/connect.js';

/** The table of migration 006 (kept out of the directory's schema: only this file touches it). */
type RateLimitTables = {
  rate_limits: { bucket: string; hits: number; reset_at: number };
};
type RateLimitDb = Kysely<RateLimitTables>;

/** Hits in the current window and the milliseconds left in it. */
export interface BucketState {
  readonly current: number;
  readonly ttl: number;
}

/**
 * Counts one hit in a fixed window, atomically in one statement: a row whose
 * window has ended starts over at 1. Every process sharing the database sees
 * the same counts (PostgreSQL's ON CONFLICT locks the row; SQLite has one writer).
 */
async function hitBucket(db: RateLimitDb, bucket: string, windowMs: number, now: number): Promise<BucketState> {
  const resetAt = now + windowMs;
  const row = await db
    .insertInto('rate_limits')
    .values({ bucket, hits: 1, reset_at: resetAt })
    .onConflict((oc) =>
      oc.column('bucket').doUpdateSet({
        hits: sql<number>`case when rate_limits.reset_at <= ${now} then 1 else rate_limits.hits + 1 end`,
        reset_at: sql<number>`case when rate_limits.reset_at <= ${now} then ${resetAt} else rate_limits.reset_at end`,
      }),
    )
    .returning(['hits', 'reset_at'])
    .executeTakeFirstOrThrow();
  return { current: Number(row.hits), ttl: Math.max(0, Number(row.reset_at) - now) };
}

/** Deletes the rows of windows that ended before `now`. */
async function pruneBuckets(db: RateLimitDb, now: number): Promise<void> {
  await db.deleteFrom('rate_limits').where('reset_at', '<', now).execute();
}

const PRUNE_EVERY = 1000;

/**
 * A @fastify/rate-limit store over the database. On PostgreSQL it is the
 * rate_limits table of migration 006. On SQLite the counters live in a file of
 * their own beside the database (`<file>-ratelimit`, same table): SQLite has one
 * writer per file, and a counter must never wait behind a long directory write
 * (a strict import holds the write lock for its whole file), nor cost an fsync
 * (synchronous=NORMAL there; the directory keeps FULL).
 */
export function createDatabaseStore(
  target: DatabaseTarget,
  conn: Connection,
): { Store: FastifyRateLimitStoreCtor; close(): Promise<void> } {
  let db: RateLimitDb;
  let own: Kysely<RateLimitTables> | undefined;
  if (target.dialect === 'sqlite' && target.file !== ':memory:') {
    const sqlite = new SQLite(`${target.file}-ratelimit`);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 10000');
    // The same table as migration 006; this file holds nothing else, so it is created here.
    sqlite.exec(
      'create table if not exists rate_limits (bucket text primary key, hits integer not null, reset_at bigint not null)',
    );
    sqlite.exec('create index if not exists rate_limits_reset_idx on rate_limits (reset_at)');
    own = new Kysely<RateLimitTables>({ dialect: new SqliteDialect({ database: sqlite }) });
    db = own;
  } else {
    db = conn.db.withTables<RateLimitTables>() as unknown as RateLimitDb;
  }
  let hits = 0;
  class DatabaseStore implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: BucketState) => void, timeWindow: number): void {
      const now = Date.now();
      if (++hits % PRUNE_EVERY === 0) pruneBuckets(db, now).catch(() => {});
      hitBucket(db, key, timeWindow, now).then(
        (state) => callback(null, state),
        (error: Error) => callback(error),
      );
    }
    child(): FastifyRateLimitStore {
      return this;
    }
  }
  return { Store: DatabaseStore, close: async () => own?.destroy() };
}
