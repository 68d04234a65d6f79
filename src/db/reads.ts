import { sql } from 'kysely';
import type { DatabaseTarget, ReadLimits } from '../config.js';
import type { Connection } from './connect.js';
import { isQueryCancelled } from './db-errors.js';
import { createReadPool, kyselyOverReadPool, QueryTimeoutError } from './read-pool.js';
import type { Db } from './tables.js';

/** Runs costly reads within the limits; `signal` aborts when the client goes away. */
export interface Reads {
  read<T>(work: (db: Db) => Promise<T>, signal?: AbortSignal): Promise<T>;
  close(): Promise<void>;
}

/** Reads straight on the connection, unbounded (the CLI, and tests of the repositories). */
export const unboundedReads = (db: Db): Reads => ({ read: (work) => work(db), close: async () => {} });

/**
 * SQLite: reads run on a pool of worker threads with their own read-only
 * connections, each statement cut at the time limit (db/read-pool.ts).
 * PostgreSQL: each read is one transaction whose `statement_timeout` is the
 * limit (set_config(…, true): it ends with the transaction, writes keep none);
 * when the client goes away, its running statement is cancelled with
 * pg_cancel_backend on the connection's pid, awaited before the connection goes
 * back to the pool so that the cancel can never reach another request's query.
 */
export function createReads(conn: Connection, target: DatabaseTarget, limits: ReadLimits): Reads {
  if (target.dialect === 'sqlite') {
    if (limits.workers === 0 || target.file === ':memory:') return unboundedReads(conn.db);
    const pool = createReadPool(target.file, limits.workers, limits.timeoutMs);
    const pooled = kyselyOverReadPool(pool);
    // The pool is closed directly: Kysely's destroy skips a driver that never ran a query.
    return { read: (work) => work(pooled), close: () => pool.close() };
  }
  const db = conn.db;
  return {
    read: (work, signal) =>
      db.transaction().execute(async (trx) => {
        const { rows } = await sql<{
          pid: number;
        }>`select set_config('statement_timeout', ${String(limits.timeoutMs)}, true), pg_backend_pid() as pid`.execute(
          trx,
        );
        const pid = rows[0]!.pid;
        let cancelling: Promise<unknown> | undefined;
        const cancel = () => {
          cancelling = sql`select pg_cancel_backend(${pid})`.execute(db).catch(() => {});
        };
        if (signal?.aborted) throw new QueryTimeoutError(limits.timeoutMs);
        signal?.addEventListener('abort', cancel, { once: true });
        try {
          return await work(trx);
        } catch (error) {
          if (isQueryCancelled(error)) throw new QueryTimeoutError(limits.timeoutMs);
          throw error;
        } finally {
          signal?.removeEventListener('abort', cancel);
          await cancelling;
        }
      }),
    close: async () => {},
  };
}
