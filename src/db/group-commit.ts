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
 * run together as one transaction and share one commit (one fsync). They run first as a plain transaction: the
 * opening statement (the write_version bump) once for all of them, then each write, no savepoints. When one of
 * them fails, that transaction is rolled back and the batch runs again with each write in its own savepoint
 * after its own opening: the failing write is rolled back to its savepoint and fails alone; the others commit.
 * Every write is acknowledged (its
 * promise settles) only after the commit that holds it is durable, so a write acknowledged survives kill -9
 * exactly as before, and a read after it, through any process, sees it.
 *
 * Writes of different keys never share a transaction: on PostgreSQL each transaction locks its organization's
 * row first, and one holding two organizations' rows could deadlock with another process's. On SQLite the
 * connection runs one transaction at a time anyway; each key's batch takes its turn.
 *
 * Round trips: an organization's writes run one after another, so on PostgreSQL every round trip of one is time
 * the next waits, and under load each waits for the event loop's turn too: the plain transaction takes one per
 * write (a PATCH's update with its audit entry), the savepoint path two. There, a write's opening statement (the write_version bump) goes out with its savepoint, and with the
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
    if (await this.commitTogether(batch)) return;
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

/** A write run again after a retryable failure, up to ATTEMPTS runs in all. */
async function runAgain(trx: Transaction<Database>, work: Work<unknown>): Promise<unknown> {
  for (let n = 2; ; n++) {
    try {
      return await work(trx);
    } catch (error) {
      if (n < ATTEMPTS && isRetryable(error)) continue;
      throw error;
    }
  }
}

/**
 * Statements that writes run together can send as one: `runAll` runs the items of several writes, in the
 * batch's order, and returns each one's result (a PATCH's update with its audit entry: users.repository.ts).
 */
export interface Combinable<I, R> {
  runAll(trx: Transaction<Database>, items: readonly I[]): Promise<readonly R[]>;
}

interface Parked {
  readonly kind: Combinable<unknown, unknown>;
  readonly item: unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** The combinable writes of one transaction: `onPark` is set while one of them may still park its statement. */
interface Parking {
  readonly parked: Parked[];
  onPark: (() => void) | undefined;
}

const parkings = new WeakMap<Transaction<Database>, Parking>();

/**
 * Inside a batch of combinable writes run together: parks `item` until every write of the batch has run up to
 * its own (or finished), then runs them all by `kind.runAll` and settles with this one's result. Undefined
 * anywhere else (a write alone, the savepoint path, a write's statements after its parked one): the caller
 * runs its statement itself.
 */
export function combined<I, R>(trx: Transaction<Database>, kind: Combinable<I, R>, item: I): Promise<R> | undefined {
  const parking = parkings.get(trx);
  const onPark = parking?.onPark;
  if (!parking || !onPark) return undefined;
  parking.onPark = undefined;
  return new Promise<R>((resolve, reject) => {
    parking.parked.push({
      kind,
      item,
      resolve: (value) => resolve(value as R),
      reject,
    });
    onPark();
  });
}

/**
 * The combinable writes of a batch: each runs until it parks its main statement (`combined`) or ends; the
 * parked statements then go as one per kind, and each parked write resumes in turn, in the batch's order, and
 * runs the rest of its work alone. On PostgreSQL that is one round trip for the batch's updates instead of one
 * each. Nothing a write decides depends on another's parked statement (`combinable`), so the outcome, when
 * every write succeeds, is the one the writes would have had one after another; when one fails, the caller
 * rolls everything back and runs the batch again in savepoints.
 */
async function runCombined(trx: Transaction<Database>, batch: readonly Pending[]): Promise<unknown[]> {
  const parking: Parking = { parked: [], onPark: undefined };
  parkings.set(trx, parking);
  const values: unknown[] = new Array(batch.length);
  const resumed: Array<{ readonly index: number; readonly done: Promise<unknown>; readonly parked: Parked }> = [];
  try {
    for (const [index, pending] of batch.entries()) {
      const parkedNow = new Promise<true>((resolve) => (parking.onPark = () => resolve(true)));
      const done = pending.work(trx);
      // A parked write's promise is awaited only after the flush; a failure before that is handled below.
      done.catch(() => undefined);
      const parked = await Promise.race([done.then(() => false as const), parkedNow]);
      parking.onPark = undefined;
      if (parked) resumed.push({ index, done, parked: parking.parked[parking.parked.length - 1]! });
      else values[index] = await done;
    }
    const results = new Map<Parked, unknown>();
    for (const kind of new Set(parking.parked.map((p) => p.kind))) {
      const items = parking.parked.filter((p) => p.kind === kind);
      const rows = await kind.runAll(
        trx,
        items.map((p) => p.item),
      );
      items.forEach((p, i) => results.set(p, rows[i]));
    }
    while (resumed.length > 0) {
      const { index, done, parked } = resumed.shift()!;
      const result = results.get(parked);
      parked.resolve(result);
      try {
        values[index] = await done;
      } catch (error) {
        // A write whose statement stored nothing wrote nothing at all (`combinable`): one that failed retryably
        // (its user changed since it read it, by a write of this batch or before) runs again here, alone.
        if (result !== undefined || !isRetryable(error)) throw error;
        values[index] = await runAgain(trx, batch[index]!.work);
      }
    }
    return values;
  } catch (error) {
    // The writes still parked end with the batch's failure; their own promises are already handled.
    for (const { parked } of resumed) parked.reject(error);
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
