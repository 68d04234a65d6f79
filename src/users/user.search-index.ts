import type { UserRow } from '../db/tables.js';
import {
  CHANGED_USER_COLUMNS,
  compareInOrder,
  matchesAttributes,
  type ChangedUser,
  type UserChange,
} from './user.changes.js';
import { MAX_NEEDLE, sortedColumn, userSortKey, type UserFilter, type UserSort } from './user.list.repository.js';
import { userRowToJson } from './user.mapper.js';
import { forEachGram, GrowableU32, PostingsBuilder, type Postings } from './user.postings.js';

/**
 * One organization's in-memory search index (docs/performance.md, "The in-memory search index"): a slot
 * per row version holding the columns `GET users` filters and sorts on, an alive bitmap, and posting lists
 * of the folds' 2- and 3-code-point grams. Built slots are in (username_fold, user_id) order; a changed
 * row's slot dies and a new one is appended. Answers equal user.list.repository.ts's SQL: each filter
 * list is OR, lists AND, literal substrings, the order of user.changes.ts's compareInOrder.
 */

// The index keeps what a logged change carries: every column `GET users` filters or sorts on.
const COLUMNS = CHANGED_USER_COLUMNS;

/** The columns the index keeps of a row (a full row carries more). */
function indexedColumns(row: ChangedUser): ChangedUser {
  const user: Partial<Record<(typeof COLUMNS)[number], unknown>> = {};
  for (const column of COLUMNS) user[column] = row[column];
  return user as ChangedUser;
}

/** True when two rows agree on every column the index keeps (so the index places both alike). */
export const sameIndexedColumns = (a: ChangedUser, b: ChangedUser): boolean => COLUMNS.every((c) => a[c] === b[c]);

/** The folds with posting lists, by column number. */
const FOLDS = ['username_fold', 'name_fold'] as const;
type Fold = (typeof FOLDS)[number];
const foldsOf = (user: ChangedUser): string[] => FOLDS.map((fold) => user[fold]);

// Changed slots (appended and dead) past which a rebuild pays: a quarter of the built ones, at least this.
const REBUILD_MIN_CHANGES = 1000;

/** Reads an organization's rows in (username_fold, user_id) order into a new index. */
export class SearchIndexBuilder {
  private readonly users: ChangedUser[] = [];
  /** Each slot's primary key (users.id): a page's rows are read by it. */
  private readonly rowIds = new GrowableU32();
  private readonly slotOf = new Map<string, number>();
  private readonly dead: number[] = [];
  private readonly postings = new PostingsBuilder(FOLDS.length);
  private readonly answers = new PackedAnswersBuilder();
  private textBytes = 0;

  /** Adds the next row; a row met again (changed while the scan ran) kills its earlier slot. */
  add(row: UserRow): void {
    const user = indexedColumns(row);
    this.answers.add(userRowToJson(row));
    const earlier = this.slotOf.get(user.user_id);
    if (earlier !== undefined) this.dead.push(earlier);
    this.slotOf.set(user.user_id, this.users.length);
    this.users.push(user);
    this.rowIds.push(row.id);
    this.postings.add(foldsOf(user));
    for (const column of COLUMNS) this.textBytes += String(user[column]).length;
  }

  get rows(): number {
    return this.users.length;
  }

  /** The index of the rows added, reflecting write_version `high`. */
  async finish(high: number, pause: () => Promise<void>): Promise<OrgSearchIndex> {
    const postings = await this.postings.finish(pause);
    const slots = new BuiltSlots(this.users);
    const bytesPerUser = 200 + (2 * this.textBytes) / Math.max(1, this.users.length);
    const rowIds = this.rowIds.data.slice(0, this.rowIds.length);
    const answers = this.answers.finish();
    return new OrgSearchIndex(slots, rowIds, this.slotOf, this.dead, postings, answers, high, bytesPerUser);
  }
}

/**
 * What the index answers for a page: the exact total and, unless the page lies past the bound, its rows
 * with each one's answer (userRowToJson) where the index holds it as it is now, and otherwise its primary
 * key (users.id) to read it by, or 0 for a row appended since the build (its id unknown).
 */
export type IndexPage =
  | { readonly total: number; readonly users?: undefined }
  | {
      readonly total: number;
      readonly users: readonly ChangedUser[];
      readonly answers: readonly (string | undefined)[];
      readonly rowIds: readonly number[];
    };

export class OrgSearchIndex {
  private alive: Uint8Array;
  private dead: number;
  private readonly built: number;
  /** The slots appended since the build (slot `built + i`), as objects: they are few (see worthRebuilding). */
  private readonly appended: ChangedUser[] = [];

  constructor(
    /** The built slots, in columns. */
    private readonly slots: BuiltSlots,
    /** The built slots' primary keys (appended slots come from the change log, which does not carry them). */
    private readonly rowIds: Uint32Array,
    private readonly slotOf: Map<string, number>,
    deadSlots: readonly number[],
    private readonly postings: Postings,
    /** The built slots' answers as the build read them; a logged change of a slot's row drops its answer. */
    private readonly answers: PackedAnswers,
    /** The write_version the index reflects: every change up to it is applied. */
    public high: number,
    private readonly bytesPerUser: number,
  ) {
    this.built = slots.length;
    this.alive = new Uint8Array(Math.max(1024, Math.ceil(slots.length * 1.25))).fill(1, 0, slots.length);
    for (const slot of deadSlots) this.alive[slot] = 0;
    this.dead = deadSlots.length;
  }

  /** Rows the index holds (alive slots). */
  get rows(): number {
    return this.slotCount - this.dead;
  }

  /** Slots built and appended, dead ones included. */
  private get slotCount(): number {
    return this.built + this.appended.length;
  }

  /** A slot's columns: a built slot's are made from its columns when asked for. */
  private user(slot: number): ChangedUser {
    return slot < this.built ? this.slots.user(slot) : this.appended[slot - this.built]!;
  }

  /** Bytes held, estimated: the built slots' columns, the appended slots, the arrays, posting lists and answers. */
  get bytes(): number {
    const arrays = this.rowIds.byteLength + this.alive.byteLength;
    const appended = this.appended.length * this.bytesPerUser;
    return this.slots.bytes + appended + arrays + this.postings.bytes + this.answers.bytes;
  }

  /** True when enough slots changed since the build that a fresh build would answer faster. */
  get worthRebuilding(): boolean {
    return this.appended.length + this.dead > Math.max(REBUILD_MIN_CHANGES, this.built / 4);
  }

  /** Applies one logged change (idempotent per user_id); false for a marker, which the index cannot apply. */
  apply(change: UserChange): boolean {
    const { before, after } = change;
    if (before === null && after === null) return false;
    if (before !== null && before.user_id !== after?.user_id) this.kill(before.user_id);
    if (after === null) return true;
    const slot = this.slotOf.get(after.user_id);
    // Columns the index does not keep may have changed (a phone): the row stays, its answer goes.
    if (slot !== undefined && sameIndexedColumns(this.user(slot), after)) {
      this.answers.drop(slot);
      return true;
    }
    this.kill(after.user_id);
    this.append(indexedColumns(after));
    return true;
  }

  /** The total and page of a query with a substring filter; undefined when the database must answer. */
  page(filter: UserFilter, sort: UserSort, offset: number, limit: number, bound: number): IndexPage | undefined {
    const slots = this.matches(filter);
    if (slots === undefined) return undefined;
    const wanted = offset + limit;
    if (wanted > bound) return { total: slots.length };
    let candidates: ArrayLike<number> = slots;
    if (sort.field === 'username') {
      // Built slots are in username order already: only the wanted end of them competes with appended ones.
      const split = lowerBound(slots, this.built);
      const ends = sort.order === 'asc' ? [0, Math.min(wanted, split)] : [Math.max(0, split - wanted), split];
      candidates = [...slots.subarray(ends[0], ends[1]), ...slots.subarray(split)];
    }
    // Built slots give their sort key and user_id from their columns: no object per candidate.
    const keys = this.slots.strings(sortedColumn(sort.field));
    const userIds = this.slots.strings('user_id');
    const positions = Array.from(candidates, (slot) => {
      if (slot < this.built) return { key: keys.get(slot), userId: userIds.get(slot)!, slot };
      const user = this.user(slot);
      return { key: userSortKey(user, sort.field), userId: user.user_id, slot };
    });
    const page = smallest(positions, wanted, (a, b) => compareInOrder(a, b, sort.order)).slice(offset);
    return {
      total: slots.length,
      users: page.map((p) => this.user(p.slot)),
      answers: page.map((p) => this.answers.get(p.slot)),
      rowIds: page.map((p) => (p.slot < this.built ? this.rowIds[p.slot]! : 0)),
    };
  }

  /** The ascending alive slots matching the filter, or undefined when it has no substring list or holds NUL. */
  private matches(filter: UserFilter): Uint32Array | undefined {
    let slots: Uint32Array | undefined;
    for (const [fold, needles] of [
      ['username_fold', filter.usernames],
      ['name_fold', filter.names],
    ] as const) {
      if (needles.length === 0) continue;
      if (needles.some((n) => n.includes('\u0000'))) return undefined;
      const found = union(needles.map((n) => this.matchNeedle(fold, n)));
      slots = slots === undefined ? found : intersect(slots, found);
    }
    const attributes = [filter.statuses, filter.roles, filter.billingGroups, filter.groupOwners].some(
      (l) => l.length > 0,
    );
    return attributes ? slots?.filter((slot) => matchesAttributes(this.user(slot), filter)) : slots;
  }

  /**
   * The alive slots whose fold holds the needle: 2–3 code points are one gram's list; longer needles
   * intersect their trigrams' lists (smallest first) and check the fold; 0–1 code points scan every slot.
   */
  private matchNeedle(fold: Fold, needle: string): Uint32Array {
    // The repository's rule: no stored fold is longer than MAX_NEEDLE, so a longer needle matches nothing.
    if (needle.length > MAX_NEEDLE) return new Uint32Array(0);
    const points = Array.from(needle);
    const column = FOLDS.indexOf(fold);
    const text = this.slots.strings(fold);
    const holds = (slot: number) =>
      slot < this.built ? text.holds(slot, needle) : this.appended[slot - this.built]![fold].includes(needle);
    if (points.length <= 1) {
      const found: number[] = [];
      for (let slot = 0; slot < this.slotCount; slot++) if (this.alive[slot] === 1 && holds(slot)) found.push(slot);
      return Uint32Array.from(found);
    }
    if (points.length <= 3) return this.aliveOf(this.postings.list(column, needle));
    const lists: ArrayLike<number>[] = [];
    forEachGram(needle, (gram) => {
      if (Array.from(gram).length === 3) lists.push(this.postings.list(column, gram));
    });
    lists.sort((a, b) => a.length - b.length);
    let found = this.aliveOf(lists[0]!);
    for (let i = 1; i < lists.length && found.length > 0; i++) found = intersect(found, lists[i]!);
    // Every trigram of the needle is in these folds, not always in its order: check each (built slots in the
    // packed text, whose memory they read in order; appended ones in their row).
    const checked = new Uint32Array(found.length);
    let n = 0;
    for (const slot of found) if (holds(slot)) checked[n++] = slot;
    return checked.subarray(0, n);
  }

  /** The alive slots of an ascending list: the list itself while no slot has died (nothing copied). */
  private aliveOf(list: ArrayLike<number>): Uint32Array {
    if (this.dead === 0 && list instanceof Uint32Array) return list;
    const alive = this.alive;
    const found = new Uint32Array(list.length);
    let n = 0;
    for (let i = 0; i < list.length; i++) if (alive[list[i]!] === 1) found[n++] = list[i]!;
    return found.subarray(0, n);
  }

  private kill(userId: string): void {
    const slot = this.slotOf.get(userId);
    if (slot === undefined) return;
    this.alive[slot] = 0;
    this.answers.drop(slot);
    this.slotOf.delete(userId);
    this.dead++;
  }

  private append(user: ChangedUser): void {
    const slot = this.slotCount;
    if (slot === this.alive.length) {
      const bigger = new Uint8Array(slot * 2);
      bigger.set(this.alive);
      this.alive = bigger;
    }
    this.appended.push(user);
    this.alive[slot] = 1;
    this.slotOf.set(user.user_id, slot);
    this.postings.append(foldsOf(user), slot);
  }
}

/**
 * One column of the built slots, end to end in one string, with each slot's start (and a flag where its value
 * is null). A fold is checked there without reaching a row (a check per candidate read one object and one
 * string, each somewhere in the heap: about 5x slower at 1M users), and the garbage collector marks one string
 * and a few arrays where a string per slot cost it a million visits (docs/performance.md).
 */
class PackedStrings {
  private readonly text: string;
  private readonly starts: Uint32Array;
  private readonly nulls: Uint8Array | undefined;

  constructor(values: readonly (string | null)[]) {
    this.starts = new Uint32Array(values.length + 1);
    let nulls: Uint8Array | undefined;
    let at = 0;
    values.forEach((value, slot) => {
      this.starts[slot] = at;
      if (value === null) (nulls ??= new Uint8Array(values.length))[slot] = 1;
      else at += value.length;
    });
    this.starts[values.length] = at;
    this.nulls = nulls;
    // join writes null as '': a null slot's start is its next slot's.
    this.text = values.join('');
  }

  get bytes(): number {
    return 2 * this.text.length + this.starts.byteLength + (this.nulls?.byteLength ?? 0);
  }

  get(slot: number): string | null {
    return this.nulls?.[slot] === 1 ? null : this.text.slice(this.starts[slot], this.starts[slot + 1]);
  }

  /** Whether the value of `slot` holds `needle` (UTF-16 units, as String.prototype.includes compares). */
  holds(slot: number, needle: string): boolean {
    const text = this.text;
    const length = needle.length;
    if (length === 0) return true;
    const first = needle.charCodeAt(0);
    const last = this.starts[slot + 1]! - length;
    outer: for (let at = this.starts[slot]!; at <= last; at++) {
      if (text.charCodeAt(at) !== first) continue;
      for (let i = 1; i < length; i++) if (text.charCodeAt(at + i) !== needle.charCodeAt(i)) continue outer;
      return true;
    }
    return false;
  }
}

type Column = (typeof COLUMNS)[number];
/** The one column that holds a number (a bit per role); every other holds a string or null. */
const NUMBER_COLUMN = 'roles_mask' satisfies Column;
type StringColumn = Exclude<Column, typeof NUMBER_COLUMN>;

/**
 * The built slots in columns rather than an object per slot: at 1M users the objects and their strings were
 * about eight million objects for every full collection to mark, and 217 MB of live heap (docs/performance.md,
 * "The index's slots in columns"). A slot's object is made when a page or a check asks for it.
 */
class BuiltSlots {
  readonly length: number;
  /** By COLUMNS' index: each string column, packed (none at NUMBER_COLUMN's). */
  private readonly packed: (PackedStrings | undefined)[];
  private readonly rolesMasks: Float64Array;

  constructor(users: readonly ChangedUser[]) {
    this.length = users.length;
    this.rolesMasks = Float64Array.from(users, (user) => user[NUMBER_COLUMN]);
    this.packed = COLUMNS.map((column) =>
      column === NUMBER_COLUMN ? undefined : new PackedStrings(users.map((user) => user[column])),
    );
  }

  get bytes(): number {
    return this.packed.reduce((bytes, strings) => bytes + (strings?.bytes ?? 0), this.rolesMasks.byteLength);
  }

  strings(column: StringColumn): PackedStrings {
    return this.packed[COLUMNS.indexOf(column)]!;
  }

  user(slot: number): ChangedUser {
    const user: Partial<Record<Column, unknown>> = {};
    COLUMNS.forEach((column, i) => {
      user[column] = column === NUMBER_COLUMN ? this.rolesMasks[slot] : this.packed[i]!.get(slot);
    });
    return user as ChangedUser;
  }
}

// Bytes of each buffer the build's answers are written into.
const ANSWER_CHUNK_BYTES = 16 << 20;

/** Collects the built slots' answers as UTF-8, end to end in buffers outside the JavaScript heap. */
class PackedAnswersBuilder {
  private readonly chunks: Buffer[] = [];
  private readonly chunkOf = new GrowableU32();
  private readonly starts = new GrowableU32();
  private readonly ends = new GrowableU32();
  private chunk = Buffer.alloc(0);
  private at = 0;

  add(answer: string): void {
    // A UTF-16 unit takes at most 3 bytes of UTF-8.
    if (this.chunk.length - this.at < 3 * answer.length) {
      this.chunk = Buffer.allocUnsafeSlow(Math.max(ANSWER_CHUNK_BYTES, 3 * answer.length));
      this.chunks.push(this.chunk);
      this.at = 0;
    }
    this.chunkOf.push(this.chunks.length - 1);
    this.starts.push(this.at);
    this.at += this.chunk.write(answer, this.at);
    this.ends.push(this.at);
  }

  finish(): PackedAnswers {
    const slots = this.starts.length;
    return new PackedAnswers(
      this.chunks,
      this.chunkOf.data.slice(0, slots),
      this.starts.data.slice(0, slots),
      this.ends.data.slice(0, slots),
    );
  }
}

/**
 * The built slots' answers, as the build's scan read their rows (docs/performance.md, "Cold searches: the
 * rows' answers in memory"). A slot's answer stands until the log brings a change of its row, which drops
 * it: the page then reads that row from the database. A cold page of built slots reads no row at all.
 */
class PackedAnswers {
  private readonly current: Uint8Array;

  constructor(
    private readonly chunks: readonly Buffer[],
    private readonly chunkOf: Uint32Array,
    private readonly starts: Uint32Array,
    private readonly ends: Uint32Array,
  ) {
    this.current = new Uint8Array(starts.length).fill(1);
  }

  get bytes(): number {
    const chunks = this.chunks.reduce((n, chunk) => n + chunk.length, 0);
    return chunks + this.chunkOf.byteLength + this.starts.byteLength + this.ends.byteLength + this.current.length;
  }

  /** The slot's answer, if the index holds it as it stands now. */
  get(slot: number): string | undefined {
    if (this.current[slot] !== 1) return undefined;
    return this.chunks[this.chunkOf[slot]!]!.toString('utf8', this.starts[slot], this.ends[slot]);
  }

  drop(slot: number): void {
    if (slot < this.current.length) this.current[slot] = 0;
  }
}

/** The first index of an ascending list whose value is `value` or more. */
function lowerBound(list: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The values of ascending `a` also in ascending `b` (binary searches when `a` is much shorter). */
function intersect(a: Uint32Array, b: ArrayLike<number>): Uint32Array {
  if (a.length * 16 < b.length) return a.filter((x) => b[lowerBound(b, x)] === x);
  const found = new Uint32Array(Math.min(a.length, b.length));
  let n = 0;
  for (let i = 0, j = 0; i < a.length && j < b.length;) {
    if (a[i]! < b[j]!) i++;
    else if (a[i]! > b[j]!) j++;
    else {
      found[n++] = a[i]!;
      i++;
      j++;
    }
  }
  return found.subarray(0, n);
}

/** The ascending distinct values of ascending lists. */
function union(lists: readonly Uint32Array[]): Uint32Array {
  if (lists.length === 1) return lists[0]!;
  const all = new Uint32Array(lists.reduce((n, list) => n + list.length, 0));
  let at = 0;
  for (const list of lists) {
    all.set(list, at);
    at += list.length;
  }
  all.sort();
  return all.filter((x, i) => i === 0 || x !== all[i - 1]);
}

/** The `k` first items in `compare`'s order, in that order (a bounded max-heap when there are many). */
function smallest<T>(items: T[], k: number, compare: (a: T, b: T) => number): T[] {
  if (k === 0) return [];
  if (items.length <= 4 * k) return items.sort(compare).slice(0, k);
  const heap: T[] = [];
  const worse = (i: number, j: number) => compare(heap[i]!, heap[j]!) > 0;
  const swap = (i: number, j: number) => ([heap[i], heap[j]] = [heap[j]!, heap[i]!]);
  for (const item of items) {
    if (heap.length === k) {
      if (compare(item, heap[0]!) >= 0) continue;
      heap[0] = item;
    } else {
      heap.push(item);
      for (let i = heap.length - 1; i > 0 && worse(i, (i - 1) >> 1); i = (i - 1) >> 1) swap(i, (i - 1) >> 1);
      continue;
    }
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let top = i;
      if (l < heap.length && worse(l, top)) top = l;
      if (r < heap.length && worse(r, top)) top = r;
      if (top === i) break;
      swap(i, top);
      i = top;
    }
  }
  return heap.sort(compare);
}
