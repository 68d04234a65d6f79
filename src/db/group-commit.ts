import { sql, type Transaction } from 'kysely';
import { isRetryable } from './db-errors.js';
import { isSqlite } from './dialect.js';
import type { Database, Db } from './tables.js';

type Work<T> = (trx: Transaction<Database>) => Promise<T>;

interface Pending {
  readonly work: Work<unknown>;
  /** The statement the write starts with (text without parameters), or none. */
  readonly opening: string | undefined;
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
 *
 * Round trips: an organization's writes run one after another, so on PostgreSQL every round trip of one is time
 * the next waits. A write's opening statement (the write_version bump) goes out with its savepoint, and with the
 * release of the savepoint before it, as one query (PostgreSQL's simple protocol runs several statements sent
 * together; the opening has no parameters for that reason). The last savepoint is released by the commit. On
 * SQLite, where a statement costs no round trip, each runs on its own.
 */
export class GroupCommit {
  private readonly queues = new Map<number, Pending[]>();
  private readonly running = new Set<number>();
  /** Transactions committed, and the writes they carried, since start (for /metrics). */
  readonly counts = { commits: 0, writes: 0 };

  private readonly fuse: boolean;

  constructor(private readonly db: Db) {
    this.fuse = !isSqlite(db);
  }

  /**
   * Runs `opening` (SQL text without parameters) and then `work` in a transaction shared with the key's other
   * waiting writes; settles after the commit.
   */
  run<T>(key: number, work: Work<T>, opening?: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let queue = this.queues.get(key);
      if (!queue) this.queues.set(key, (queue = []));
      queue.push({ work, opening, resolve: resolve as (value: unknown) => void, reject });
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
        const savepoints = new Savepoints(trx, this.fuse);
        for (const pending of batch) outcomes.push(await savepoints.attempt(pending));
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
        const value = await this.db.transaction().execute(async (trx) => {
          if (pending.opening !== undefined) await sql.raw(pending.opening).execute(trx);
          return pending.work(trx);
        });
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

/** The writes of a shared transaction, each in a savepoint: on failure its changes are undone, the transaction goes on. */
class Savepoints {
  /** Whether the last write's savepoint is still to be released (fused with the next one's opening). */
  private held = false;

  constructor(
    private readonly trx: Transaction<Database>,
    private readonly fuse: boolean,
  ) {}

  async attempt(pending: Pending) {
    for (let n = 1; ; n++) {
      try {
        await this.open(pending.opening);
        const value = await pending.work(this.trx);
        if (this.fuse) this.held = true;
        else await sql`release savepoint roster_write`.execute(this.trx);
        return { ok: true as const, value };
      } catch (error) {
        await sql`rollback to savepoint roster_write`.execute(this.trx);
        await sql`release savepoint roster_write`.execute(this.trx);
        if (n < ATTEMPTS && isRetryable(error)) continue;
        return { ok: false as const, error };
      }
    }
  }

  /** Releases the savepoint left held, opens the next one and runs the write's opening statement. */
  private async open(opening: string | undefined): Promise<void> {
    if (!this.fuse) {
      await sql`savepoint roster_write`.execute(this.trx);
      if (opening !== undefined) await sql.raw(opening).execute(this.trx);
      return;
    }
    const statements = [...(this.held ? ['release savepoint roster_write'] : []), 'savepoint roster_write'];
    if (opening !== undefined) statements.push(opening);
    this.held = false;
    await sql.raw(statements.join('; ')).execute(this.trx);
  }
}

const instances = new WeakMap<Db, GroupCommit>();

/** The group commit of a database handle: one per handle, shared by every service that writes through it. */
export function groupCommit(db: Db): GroupCommit {
  let instance = instances.get(db);
  if (!instance) instances.set(db, (instance = new GroupCommit(db)));
  return instance;
}
