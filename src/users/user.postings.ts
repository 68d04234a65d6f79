/**
 * Posting lists of 2- and 3-code-point grams (docs/performance.md, "The in-memory search index"): for each
 * gram, the ascending slots of the rows whose fold holds it, each row once. Built once in CSR form (one
 * Uint32Array of slots and one of offsets per gram), plus a small growable list per gram for the rows
 * appended since.
 */

/** A Uint32Array that grows by doubling. */
class GrowableU32 {
  data = new Uint32Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Uint32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }
}

/** Adds the distinct 2- and 3-code-point grams of a fold to `into`, each under its column's prefix. */
export function addGrams(fold: string, prefix: string, into: Set<string>): void {
  const points = Array.from(fold);
  for (let i = 0; i + 1 < points.length; i++) {
    const two = points[i]! + points[i + 1]!;
    into.add(prefix + two);
    if (i + 2 < points.length) into.add(prefix + two + points[i + 2]!);
  }
}

/** Rows processed between two pauses of a long step (each pause lets the event loop run). */
const ROWS_PER_STEP = 20_000;

/** Collects each row's grams in slot order, then lays them out in CSR form in steps. */
export class PostingsBuilder {
  private readonly ids = new Map<string, number>();
  private readonly counts: number[] = [];
  private readonly grams = new GrowableU32();
  private readonly rowEnds = new GrowableU32();

  /** Adds the next row (slot = rows added before) with its distinct grams. */
  add(keys: Iterable<string>): void {
    for (const key of keys) {
      let id = this.ids.get(key);
      if (id === undefined) {
        id = this.counts.length;
        this.ids.set(key, id);
        this.counts.push(0);
      }
      this.counts[id]!++;
      this.grams.push(id);
    }
    this.rowEnds.push(this.grams.length);
  }

  /** The posting lists, sorted by slot; `pause` is awaited between steps of ROWS_PER_STEP rows. */
  async finish(pause: () => Promise<void>): Promise<Postings> {
    const offsets = new Uint32Array(this.counts.length + 1);
    for (let id = 0; id < this.counts.length; id++) offsets[id + 1] = offsets[id]! + this.counts[id]!;
    const cursor = offsets.slice(0, this.counts.length);
    const slots = new Uint32Array(this.grams.length);
    const grams = this.grams.data;
    const rowEnds = this.rowEnds.data;
    const rows = this.rowEnds.length;
    for (let from = 0; from < rows; from += ROWS_PER_STEP) {
      const to = Math.min(rows, from + ROWS_PER_STEP);
      for (let row = from, j = from === 0 ? 0 : rowEnds[from - 1]!; row < to; row++)
        for (const end = rowEnds[row]!; j < end; j++) slots[cursor[grams[j]!]!++] = row;
      await pause();
    }
    return new Postings(this.ids, offsets, slots);
  }
}

/** The posting lists of one organization: the built part (CSR) and the lists of rows appended since. */
export class Postings {
  private readonly appended = new Map<string, number[]>();
  private appendedEntries = 0;

  constructor(
    private readonly ids: ReadonlyMap<string, number>,
    private readonly offsets: Uint32Array,
    private readonly slots: Uint32Array,
  ) {}

  /** Adds an appended row's slot (greater than any before) to the lists of its grams. */
  append(keys: Iterable<string>, slot: number): void {
    for (const key of keys) {
      const list = this.appended.get(key);
      if (list) list.push(slot);
      else this.appended.set(key, [slot]);
      this.appendedEntries++;
    }
  }

  /** The ascending slots holding the gram (dead ones included). */
  list(key: string): ArrayLike<number> {
    const id = this.ids.get(key);
    const built = id === undefined ? new Uint32Array(0) : this.slots.subarray(this.offsets[id], this.offsets[id + 1]);
    const more = this.appended.get(key);
    if (!more) return built;
    const all = new Uint32Array(built.length + more.length);
    all.set(built);
    all.set(more, built.length);
    return all;
  }

  /** Bytes held, estimated: the arrays, plus about 64 per distinct gram and 16 per appended entry. */
  get bytes(): number {
    return this.slots.byteLength + this.offsets.byteLength + 64 * this.ids.size + 16 * this.appendedEntries;
  }
}
