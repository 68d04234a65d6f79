import { Worker } from 'node:worker_threads';
import {
  Kysely,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
} from 'kysely';
import type { Database } from './tables.js';

/** A read that ran past its time limit (or whose client went away): see db-errors.ts isQueryTimeout. */
export class QueryTimeoutError extends Error {
  readonly code = 'ROSTER_QUERY_TIMEOUT';
  constructor(readonly limitMs: number) {
    super(`the query ran longer than ${limitMs} ms`);
  }
}

interface Pending {
  readonly id: number;
  readonly sql: string;
  readonly parameters: readonly unknown[];
  resolve(rows: unknown[]): void;
  reject(error: unknown): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job: Pending | null;
  timer: NodeJS.Timeout | null;
}

/**
 * Stops a worker and resolves when it has exited. It is ref'd meanwhile: an idle worker is unref'd, and an
 * otherwise idle process would end (a test runner give up) with its exit still pending.
 */
async function stopWorker(worker: Worker): Promise<void> {
  worker.ref();
  await worker.terminate();
}

type WorkerMessage = { ready: true } | { id: number; rows?: unknown[]; error?: { message: string; code?: string } };

// The worker's file sits beside this one: .js when built; .ts when run from source (tests, through tsx),
// where the worker registers tsx's loader first (a worker does not inherit the main thread's loader hooks).
const fromSource = import.meta.url.endsWith('.ts');
const workerUrl = new URL(`./read-worker${fromSource ? '.ts' : '.js'}`, import.meta.url);

function startWorker(file: string): Worker {
  if (!fromSource) return new Worker(workerUrl, { workerData: { file } });
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(workerUrl.href)}); })`;
  return new Worker(boot, { eval: true, workerData: { file } });
}

/**
 * A pool of worker threads, each with its own read-only SQLite connection
 * (WAL: readers never wait for the writer, and see every committed write).
 * better-sqlite3 runs a statement synchronously on its thread, so a costly
 * read on the main connection would stall every request of every tenant; here
 * it stalls one worker. A statement past `timeoutMs` fails at once with
 * QueryTimeoutError and its worker is terminated and replaced: SQLite cannot be
 * interrupted from outside its thread (better-sqlite3 exposes no
 * sqlite3_interrupt), so the old thread ends when its statement does, its
 * answer unread (docs/performance.md).
 */
export function createReadPool(file: string, size: number, timeoutMs: number) {
  const queue: Pending[] = [];
  const slots: Slot[] = [];
  let nextId = 1;
  let closed = false;

  function spawn(): Slot {
    const slot: Slot = { worker: startWorker(file), ready: false, job: null, timer: null };
    slot.worker.on('message', (message: WorkerMessage) => {
      if ('ready' in message) {
        slot.ready = true;
        // A pool being closed keeps its workers ref'd until they have exited (stopWorker).
        if (closed) return;
        slot.worker.unref();
        dispatch();
        return;
      }
      const job = slot.job;
      if (!job || job.id !== message.id) return;
      finish(slot);
      if (message.error) job.reject(Object.assign(new Error(message.error.message), { code: message.error.code }));
      else job.resolve(message.rows ?? []);
    });
    slot.worker.on('error', (error) => {
      const job = slot.job;
      if (!slot.ready) {
        // It could not open the database: fail what waits rather than hang, and try again in a second.
        slot.worker.unref();
        if (!slots.some((s) => s.ready)) for (const waiting of queue.splice(0)) waiting.reject(error);
        setTimeout(() => replace(slot), 1000).unref();
        return;
      }
      replace(slot);
      job?.reject(error);
    });
    return slot;
  }

  function finish(slot: Slot): void {
    if (!closed) slot.worker.unref();
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.job = null;
    dispatch();
  }

  /** Terminates a slot's worker (busy past its limit, or broken) and puts a fresh one in its place. */
  function replace(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    void slot.worker.terminate();
    const i = slots.indexOf(slot);
    if (i >= 0 && !closed) slots[i] = spawn();
    dispatch();
  }

  function dispatch(): void {
    for (const slot of slots) {
      if (queue.length === 0) return;
      if (slot.job || !slot.ready) continue;
      const job = queue.shift()!;
      slot.job = job;
      // A worker keeps the process alive while it is starting or holds a job, never while idle.
      slot.worker.ref();
      slot.timer = setTimeout(() => {
        replace(slot);
        job.reject(new QueryTimeoutError(timeoutMs));
      }, timeoutMs);
      slot.worker.postMessage({ id: job.id, sql: job.sql, parameters: job.parameters });
    }
  }

  for (let i = 0; i < size; i++) slots.push(spawn());

  return {
    /** Runs one statement on a free worker (queued until one is free); its rows. */
    run(sql: string, parameters: readonly unknown[]): Promise<unknown[]> {
      if (closed) return Promise.reject(new Error('the read pool is closed'));
      return new Promise((resolve, reject) => {
        queue.push({ id: nextId++, sql, parameters, resolve, reject });
        dispatch();
      });
    },
    async close(): Promise<void> {
      closed = true;
      for (const job of queue.splice(0)) job.reject(new Error('the read pool is closed'));
      await Promise.all(slots.map((s) => stopWorker(s.worker)));
    },
  };
}

type ReadPool = ReturnType<typeof createReadPool>;

/** A Kysely instance whose every query runs on the pool (reads only: no transactions). */
export function kyselyOverReadPool(pool: ReadPool): Kysely<Database> {
  const connection: DatabaseConnection = {
    async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
      return { rows: (await pool.run(query.sql, query.parameters)) as R[] };
    },
    // eslint-disable-next-line require-yield
    async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
      throw new Error('the read pool does not stream');
    },
  };
  const driver: Driver = {
    init: async () => {},
    acquireConnection: async () => connection,
    beginTransaction: async () => {
      throw new Error('the read pool runs no transactions');
    },
    commitTransaction: async () => {},
    rollbackTransaction: async () => {},
    releaseConnection: async () => {},
    destroy: () => pool.close(),
  };
  return new Kysely<Database>({
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => driver,
      createIntrospector: (db) => new SqliteIntrospector(db),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
  });
}
