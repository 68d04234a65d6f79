/**
 * Posting lists of 2- and 3-code-point grams (docs/performance.md, "The in-memory search index"): for each
 * gram, the ascending slots of the rows whose fold holds it, each row once. Built once in CSR form (one
 * Uint32Array of slots and one of offsets per gram), plus a small growable list per gram for the rows
 * appended since.
 */

/** A Uint32Array that grows by doubling. */
export class GrowableU32 {
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

const SURROGATE = /[\uD800-\uDFFF]/;

/** Calls `visit` with each 2- and 3-code-point gram of `text` (repeats included), in order. */
export function forEachGram(text: string, visit: (gram: string) => void): void {
  if (!SURROGATE.test(text)) {
    for (let i = 0; i + 2 <= text.length; i++) {
      visit(text.slice(i, i + 2));
      if (i + 3 <= text.length) visit(text.slice(i, i + 3));
    }
    return;
  }
  const points = Array.from(text);
  for (let i = 0; i + 2 <= points.length; i++) {
    const two = points[i]! + points[i + 1]!;
    visit(two);
    if (i + 3 <= points.length) visit(two + points[i + 2]!);
  }
}

/** Rows processed between two pauses of a long step (each pause lets the event loop run). */
const ROWS_PER_STEP = 20_000;

/** Collects each row's grams in slot order, then lays them out in CSR form in steps. */
export class PostingsBuilder {
  /** Per column (a row's folds in a fixed order), each gram's id. */
  private readonly ids: Map<string, number>[];
  private readonly counts = new GrowableU32();
  /** The last row counted for each gram id: a row counts once per gram. */
  private readonly lastRow = new GrowableU32();
  private readonly grams = new GrowableU32();
  private readonly rowEnds = new GrowableU32();

  constructor(columns: number) {
    this.ids = Array.from({ length: columns }, () => new Map<string, number>());
  }

  /** Adds the next row (slot = rows added before) by its folds, one per column. */
  add(folds: readonly string[]): void {
    const row = this.rowEnds.length + 1; // lastRow holds row + 1: 0 means none yet
    folds.forEach((fold, column) => {
      const ids = this.ids[column]!;
      forEachGram(fold, (gram) => {
        let id = ids.get(gram);
        if (id === undefined) {
          id = this.counts.length;
          ids.set(gram, id);
          this.counts.push(0);
          this.lastRow.push(0);
        }
        if (this.lastRow.data[id] === row) return;
        this.lastRow.data[id] = row;
        this.counts.data[id]!++;
        this.grams.push(id);
      });
    });
    this.rowEnds.push(this.grams.length);
  }

  /** The posting lists, sorted by slot; `pause` is awaited between steps of ROWS_PER_STEP rows. */
  async finish(pause: () => Promise<void>): Promise<Postings> {
    const counts = this.counts.data;
    const offsets = new Uint32Array(this.counts.length + 1);
    for (let id = 0; id < this.counts.length; id++) offsets[id + 1] = offsets[id]! + counts[id]!;
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
  private readonly appended: Map<string, number[]>[];
  private appendedEntries = 0;

  constructor(
    private readonly ids: readonly ReadonlyMap<string, number>[],
    private readonly offsets: Uint32Array,
    private readonly slots: Uint32Array,
  ) {
    this.appended = ids.map(() => new Map<string, number[]>());
  }

  /** Adds an appended row's slot (greater than any before) to the lists of its folds' grams. */
  append(folds: readonly string[], slot: number): void {
    folds.forEach((fold, column) => {
      const lists = this.appended[column]!;
      forEachGram(fold, (gram) => {
        const list = lists.get(gram);
        if (list?.[list.length - 1] === slot) return;
        if (list) list.push(slot);
        else lists.set(gram, [slot]);
        this.appendedEntries++;
      });
    });
  }

  /** The ascending slots whose fold in `column` holds the gram (dead ones included). */
  list(column: number, gram: string): ArrayLike<number> {
    const id = this.ids[column]!.get(gram);
    const built = id === undefined ? new Uint32Array(0) : this.slots.subarray(this.offsets[id], this.offsets[id + 1]);
    const more = this.appended[column]!.get(gram);
    if (!more) return built;
    const all = new Uint32Array(built.length + more.length);
    all.set(built);
    all.set(more, built.length);
    return all;
  }

  /** Bytes held, estimated: the arrays, plus about 64 per distinct gram and 16 per appended entry. */
  get bytes(): number {
    const grams = this.ids.reduce((n, m) => n + m.size, 0);
    return this.slots.byteLength + this.offsets.byteLength + 64 * grams + 16 * this.appendedEntries;
  }
}
