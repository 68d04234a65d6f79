import { sql, type Transaction } from 'kysely';
import { isRetryable } from './db-errors.js';
import type { Database, Db } from './tables.js';

type Work<T> = (trx: Transaction<Database>) => Promise<T>;

interface Pending {
  readonly work: Work<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** Writes one commit may carry: a bound on how long the first of them waits for the last. */
const BATCH_MAX = 64;
/** Attempts of one write that PostgreSQL aborts as a serialization failure or deadlock. */
const ATTEMPTS = 3;

/**
 * Group commit: the writes of one key (an organization) that are waiting while its previous commit is under way
 * run together as one transaction, each in its own savepoint, and share one commit (one fsync). A write that
 * fails is rolled back to its savepoint and fails alone; the others commit. Every write is acknowledged (its
 * promise settles) only after the commit that holds it is durable, so a write acknowledged survives kill -9
 * exactly as before, and a read after it, through any process, sees it.
 *
 * Writes of different keys never share a transaction: on PostgreSQL each transaction locks its organization's
 * row first, and one holding two organizations' rows could deadlock with another process's. On SQLite the
 * connection runs one transaction at a time anyway; each key's batch takes its turn.
 */
export class GroupCommit {
  private readonly queues = new Map<number, Pending[]>();
  private readonly running = new Set<number>();
  /** Transactions committed, and the writes they carried, since start (for /metrics). */
  readonly counts = { commits: 0, writes: 0 };

  constructor(private readonly db: Db) {}

  /** Runs `work` in a transaction shared with the key's other waiting writes; settles after the commit. */
  run<T>(key: number, work: Work<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let queue = this.queues.get(key);
      if (!queue) this.queues.set(key, (queue = []));
      queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      // The writes that arrive during this turn of the event loop join the first batch.
      if (!this.running.has(key)) {
        this.running.add(key);
        setImmediate(() => void this.drain(key));
      }
    });
  }

  /** Commits the key's waiting writes, a batch at a time, until none wait. */
  private async drain(key: number): Promise<void> {
    for (;;) {
      const queue = this.queues.get(key);
      if (!queue || queue.length === 0) {
        this.queues.delete(key);
        this.running.delete(key);
        return;
      }
      await this.commit(queue.splice(0, BATCH_MAX));
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    if (batch.length === 1) return this.commitOne(batch[0]!);
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      await this.db.transaction().execute(async (trx) => {
        for (const pending of batch) outcomes.push(await attempt(trx, pending.work));
      });
    } catch (error) {
      // The commit itself failed (or the connection went): no write of the batch is durable.
      for (const pending of batch) pending.reject(error);
      return;
    }
    this.counts.commits++;
    this.counts.writes += outcomes.filter((o) => o.ok).length;
    batch.forEach((pending, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(outcome.error);
    });
  }

  /** A write alone: its own transaction, no savepoint; a serialization failure or deadlock runs it again. */
  private async commitOne(pending: Pending): Promise<void> {
    for (let n = 1; ; n++) {
      try {
        const value = await this.db.transaction().execute(pending.work);
        this.counts.commits++;
        this.counts.writes++;
        return pending.resolve(value);
      } catch (error) {
        if (n < ATTEMPTS && isRetryable(error)) continue;
        return pending.reject(error);
      }
    }
  }
}

/** Runs one write in a savepoint: on failure its changes are undone, the transaction goes on. */
async function attempt(trx: Transaction<Database>, work: Work<unknown>) {
  for (let n = 1; ; n++) {
    await sql`savepoint roster_write`.execute(trx);
    try {
      const value = await work(trx);
      await sql`release savepoint roster_write`.execute(trx);
      return { ok: true as const, value };
    } catch (error) {
      await sql`rollback to savepoint roster_write`.execute(trx);
      await sql`release savepoint roster_write`.execute(trx);
      if (n < ATTEMPTS && isRetryable(error)) continue;
      return { ok: false as const, error };
    }
  }
}

const instances = new WeakMap<Db, GroupCommit>();

/** The group commit of a database handle: one per handle, shared by every service that writes through it. */
export function groupCommit(db: Db): GroupCommit {
  let instance = instances.get(db);
  if (!instance) instances.set(db, (instance = new GroupCommit(db)));
  return instance;
}
