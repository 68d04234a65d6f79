import { sql, type Transaction } from 'kysely';
import { isRetryable } from './db-errors.js';
import { isSqlite } from './dialect.js';
import type { Database, Db } from './tables.js';

type Work<T> = (trx: Transaction<Database>) => Promise<T>;

interface Pending {
  readonly work: Work<unknown>;
  /** The statement the write starts with (text without parameters), or none. */
  readonly opening: string | undefined;
  /** Whether the write may send its main statement combined with the batch's others (`combined`). */
  readonly combinable: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** Writes one commit may carry: a bound on how long the first of them waits for the last. */
const BATCH_MAX = 64;
/** Attempts of one write that PostgreSQL aborts as a serialization failure or deadlock. */
const ATTEMPTS = 3;

/**
 * Group commit: the writes of one key (an organization) that are waiting while its previous commit is under way
 * run together as one transaction and share one commit (one fsync). On PostgreSQL they run first as a plain
 * transaction: the opening statement (the write_version bump) once for all of them, then each write, no
 * savepoints. When one of them fails, that transaction is rolled back and the batch runs again as SQLite runs
 * every batch: each write in its own savepoint after its own opening; the failing write is rolled back to its
 * savepoint and fails alone; the others commit. Every write is acknowledged (its promise settles) only after
 * the commit that holds it is durable, so a write acknowledged survives kill -9 exactly as before, and a read
 * after it, through any process, sees it.
 *
 * Writes of different keys never share a transaction: on PostgreSQL each transaction locks its organization's
 * row first, and one holding two organizations' rows could deadlock with another process's. On SQLite the
 * connection runs one transaction at a time anyway; each key's batch takes its turn.
 *
 * Round trips: an organization's writes run one after another, so on PostgreSQL every round trip of one is time
 * the next waits, and under load each waits for a core and the event loop's turn too. The plain transaction
 * sends its combinable writes' statements a round at a time (runCombined); the savepoint path takes two round
 * trips a PATCH. There, a write's opening statement (the write_version bump) goes out with its savepoint, and
 * with the release of the savepoint before it, as one query (PostgreSQL's simple protocol runs several
 * statements sent together; the opening has no parameters for that reason). The last savepoint is released by the commit. On
 * SQLite, where a statement costs no round trip, each runs on its own.
 */
export class GroupCommit {
  private readonly queues = new Map<number, Pending[]>();
  private readonly running = new Set<number>();
  /**
   * Transactions committed, the writes they carried, and the batches run again in savepoints after one of
   * their writes failed, since start (for /metrics).
   */
  readonly counts = { commits: 0, writes: 0, reruns: 0 };

  private readonly fuse: boolean;

  constructor(private readonly db: Db) {
    this.fuse = !isSqlite(db);
  }

  /**
   * Runs `opening` (SQL text without parameters) and then `work` in a transaction shared with the key's other
   * waiting writes; settles after the commit. A `combinable` write is one whose outcome depends on no other
   * write of the batch but through its own rows' versions and the database's constraints, and that writes
   * nothing before its main statement (a PATCH of one user): that statement may wait for the others' and go
   * with them as one (`combined`).
   */
  run<T>(key: number, work: Work<T>, opening?: string, combinable = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let queue = this.queues.get(key);
      if (!queue) this.queues.set(key, (queue = []));
      queue.push({ work, opening, combinable, resolve: resolve as (value: unknown) => void, reject });
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
    // SQLite runs each write in its savepoint at once: a statement costs it no round trip, and its change-log
    // triggers look for a version's marker row by scanning (docs/writes.md), which one version per batch made
    // slower than the savepoints it saved.
    if (this.fuse) {
      if (await this.commitTogether(batch)) return;
      this.counts.reruns++;
    }
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

  /**
   * The batch as one plain transaction: each distinct opening once, then every write, no savepoint. True when it
   * settled the writes: all committed, or the commit itself failed (then every write is rejected, none run
   * again: the outcome of a commit that fails is unknown to the caller, as on the savepoint path). False when a
   * write failed: the transaction was rolled back, nothing of the batch is stored, and the caller runs it again
   * with a savepoint per write.
   */
  private async commitTogether(batch: Pending[]): Promise<boolean> {
    let values: unknown[] | undefined;
    try {
      await this.db.transaction().execute(async (trx) => {
        for (const opening of new Set(batch.map((p) => p.opening))) {
          if (opening !== undefined) await sql.raw(opening).execute(trx);
        }
        values = batch.every((p) => p.combinable) ? await runCombined(trx, batch) : await runInTurn(trx, batch);
      });
    } catch (error) {
      if (values === undefined) return false;
      for (const pending of batch) pending.reject(error);
      return true;
    }
    this.counts.commits++;
    this.counts.writes += batch.length;
    batch.forEach((pending, i) => pending.resolve(values![i]));
    return true;
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

/** The writes one after another, in the batch's order. */
async function runInTurn(trx: Transaction<Database>, batch: readonly Pending[]): Promise<unknown[]> {
  const values: unknown[] = [];
  for (const pending of batch) values.push(await pending.work(trx));
  return values;
}

/**
 * Statements that writes run together can send as one: `runAll` runs the items of several writes, in the
 * batch's order, and returns each one's result (a PATCH's update with its audit entry: users.repository.ts).
 */
export interface Combinable<I, R> {
  /** Whether the statement writes: a result other than undefined then means it stored a row. */
  readonly writes: boolean;
  runAll(trx: Transaction<Database>, items: readonly I[]): Promise<readonly R[]>;
}

interface Parked {
  readonly kind: Combinable<unknown, unknown>;
  readonly item: unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** The combinable writes of one transaction: `onPark` is set while the write running may still park a statement. */
interface Parking {
  onPark: ((parked: Parked) => void) | undefined;
}

const parkings = new WeakMap<Transaction<Database>, Parking>();

/**
 * Inside a batch of combinable writes run together: parks `item` until every write of the batch has run up to
 * a statement of its own (or finished), then runs the round's items by `kind.runAll` and settles with this
 * one's result (runCombined). Undefined anywhere else (a write alone, a batch with other writes, the
 * savepoint path): the caller runs its statement itself.
 */
export function combined<I, R>(trx: Transaction<Database>, kind: Combinable<I, R>, item: I): Promise<R> | undefined {
  const parking = parkings.get(trx);
  const onPark = parking?.onPark;
  if (!parking || !onPark) return undefined;
  parking.onPark = undefined;
  return new Promise<R>((resolve, reject) => onPark({ kind, item, resolve: (value) => resolve(value as R), reject }));
}

/** Where one write of a combined batch stands. */
interface Turn {
  readonly index: number;
  /** Runs begun (a write whose parked update stored nothing may run again). */
  runs: number;
  done: Promise<unknown> | undefined;
  parked: Parked | undefined;
  result: unknown;
  /** Whether a writing statement of it stored a row: it can no longer run again. */
  wrote: boolean;
}

/**
 * The combinable writes of a batch, in rounds: each write runs until it parks a statement (`combined`) or
 * ends; the parked statements then go as one per kind (the writing kinds first, so that a read parked in the
 * same round sees their rows), and the next round resumes each parked write in the batch's order with its
 * result. On PostgreSQL that is a round trip a round for all of the batch's updates instead of one each. A
 * write whose parked update stored nothing (its user changed since it read it, by a write of this batch or
 * before) wrote nothing at all (`combinable`): if it then fails retryably, it runs again in the next round,
 * reading its user inside. Nothing a write decides depends on another's parked statement, so the outcome,
 * when every write succeeds, is one the writes could have had one after another; when one fails, the caller
 * rolls everything back and runs the batch again in savepoints.
 */
async function runCombined(trx: Transaction<Database>, batch: readonly Pending[]): Promise<unknown[]> {
  const parking: Parking = { onPark: undefined };
  parkings.set(trx, parking);
  const values: unknown[] = new Array(batch.length);
  const turns: Turn[] = batch.map((_, index) => ({
    index,
    runs: 0,
    done: undefined,
    parked: undefined,
    result: undefined,
    wrote: false,
  }));
  let active = turns;
  try {
    while (active.length > 0) {
      const next: Turn[] = [];
      for (const turn of active) {
        const parkedNow = new Promise<Parked>((resolve) => (parking.onPark = resolve));
        const resumed = turn.parked;
        turn.parked = undefined;
        if (resumed) resumed.resolve(turn.result);
        else {
          turn.runs++;
          turn.done = batch[turn.index]!.work(trx);
          // Awaited below or, once parked, in a later round; a failure meanwhile is handled there.
          turn.done.catch(() => undefined);
        }
        const done = turn.done!;
        try {
          const parked = await Promise.race([done.then(() => undefined), parkedNow]);
          if (parked) {
            turn.parked = parked;
            next.push(turn);
          } else values[turn.index] = await done;
        } catch (error) {
          // Another write of the batch may have changed its user first: each round settles at least one of them.
          if (turn.wrote || !isRetryable(error) || turn.runs >= ATTEMPTS + batch.length) throw error;
          next.push(turn);
        } finally {
          parking.onPark = undefined;
        }
      }
      const waiting = next.filter((t) => t.parked !== undefined);
      const kinds = [...new Set(waiting.map((t) => t.parked!.kind))].sort(
        (a, b) => Number(b.writes) - Number(a.writes),
      );
      for (const kind of kinds) {
        const group = waiting.filter((t) => t.parked!.kind === kind);
        const results = await kind.runAll(
          trx,
          group.map((t) => t.parked!.item),
        );
        group.forEach((t, i) => {
          t.result = results[i];
          if (kind.writes && results[i] !== undefined) t.wrote = true;
        });
      }
      active = next;
    }
    return values;
  } catch (error) {
    // The writes still parked end with the batch's failure; their own promises are already handled.
    for (const turn of turns) turn.parked?.reject(error);
    throw error;
  } finally {
    parkings.delete(trx);
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
