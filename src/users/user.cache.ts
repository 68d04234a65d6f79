import type { AnswerScope } from './user.changes.js';

/**
 * A per-process cache of `GET users` and `GET users/{user}` answers, keyed
 * by organization and request URL (or user reference), each entry stamped with the organization's write_version at
 * the time it was computed. An entry is served while its stamp is not older than
 * the organization's current write_version (read on every request), or when the
 * caller's `revalidate` shows that no write since changed it (the change log,
 * see user.invalidation.ts): a write through any process reaches every process's
 * entries, and totals are never stale. Since the stamp is read before the data,
 * an entry can only hold data at least as new as its stamp.
 *
 * Every entry is charged its key, its body, its ETag and a fixed overhead
 * against the byte budget (a URL may be 8 KiB while its answer is 60 bytes),
 * and least recently used entries go first when the budget is spent.
 */
export interface CachedPage {
  readonly version: number;
  readonly body: string;
  readonly total: number;
  /** The ETag of a cached single user. */
  readonly etag?: string;
  /** What the answer depends on, for revalidation after writes. */
  readonly scope?: AnswerScope;
}

/**
 * What an entry costs beyond its strings: the Map's slot and the entry object with its fields, about 135
 * bytes measured on Node 22 (docs/performance.md), rounded up.
 */
export const ENTRY_OVERHEAD_BYTES = 256;

/** The bytes an entry is charged (strings counted one byte per character, as V8 stores ASCII and Latin-1 text). */
const costOf = (key: string, page: CachedPage) =>
  ENTRY_OVERHEAD_BYTES + key.length + page.body.length + (page.etag?.length ?? 0) + scopeCost(page.scope);

/**
 * What an entry's revalidation scope costs, estimated: a user_id in a Set (its 36-character string and the
 * Set's slot) is about 100 bytes; the filter, the sort and the page's two edge rows about 1 KiB.
 */
function scopeCost(scope: AnswerScope | undefined): number {
  if (scope === undefined) return 0;
  return scope.kind === 'page' ? 1024 + scope.ids.size * 100 : scope.userIds.length * 100;
}

// Keys the doorkeeper remembers (a power of two): 256 KiB of hashes.
const DOORKEEPER_SLOTS = 1 << 16;

/** FNV-1a over the key's UTF-16 units. */
function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h;
}

/**
 * The keys a full cache turned away, as hashes in a table of fixed size (a newer key takes an older one's
 * slot): TinyLFU's doorkeeper, as Caffeine uses it. A full cache admits an answer the second time its key
 * comes, so a stream of queries asked once (a user typing, one tenant's crawler) does not evict the
 * answers asked again (docs/performance.md, "One-off answers").
 */
class Doorkeeper {
  private readonly hashes = new Int32Array(DOORKEEPER_SLOTS);

  /** Whether the key came before (since its slot was last taken); it is remembered either way. */
  cameBefore(key: string): boolean {
    const h = hashOf(key) | 1; // never 0, an empty slot
    const slot = (h ^ (h >>> 16)) & (DOORKEEPER_SLOTS - 1);
    if (this.hashes[slot] === h) return true;
    this.hashes[slot] = h;
    return false;
  }
}

export class PageCache {
  private readonly entries = new Map<string, CachedPage>();
  private bytes = 0;
  private readonly doorkeeper = new Doorkeeper();
  private refusals = 0;

  constructor(
    private readonly budgetBytes: number,
    private readonly maxEntryBytes: number,
  ) {}

  /** Answers the full cache turned away at their key's first coming, since start (for /metrics). */
  get refused(): number {
    return this.refusals;
  }

  /** The bytes charged to the budget now (never more than the budget). */
  get chargedBytes(): number {
    return this.bytes;
  }

  /** The version the entry for `key` was computed at, if there is one (its recency untouched). */
  versionOf(key: string): number | undefined {
    return this.entries.get(key)?.version;
  }

  /**
   * The entry for `key` if it stands at `version`: computed then or later, or older and shown by
   * `revalidate` to stand up to the version it returns (the entry is restamped with it).
   */
  get(key: string, version: number, revalidate?: (hit: CachedPage) => number | undefined): CachedPage | undefined {
    let hit = this.entries.get(key);
    if (!hit) return undefined;
    this.entries.delete(key);
    if (hit.version < version) {
      const stands = revalidate?.(hit);
      if (stands === undefined) {
        this.bytes -= costOf(key, hit);
        return undefined;
      }
      hit = { ...hit, version: stands };
    }
    this.entries.set(key, hit); // most recently used last
    return hit;
  }

  /**
   * Stores an answer (skipped when bigger than an entry may be). While the budget has room every answer is
   * kept; once it has none, an answer whose key the doorkeeper has not met is turned away (and its key noted).
   */
  set(key: string, page: CachedPage): void {
    const cost = costOf(key, page);
    if (this.budgetBytes === 0 || cost > this.maxEntryBytes || cost > this.budgetBytes) return;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= costOf(key, old);
    } else if (this.bytes + cost > this.budgetBytes && !this.doorkeeper.cameBefore(key)) {
      this.refusals++;
      return;
    }
    this.entries.set(key, page);
    this.bytes += cost;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.budgetBytes) break;
      this.entries.delete(k);
      this.bytes -= costOf(k, v);
    }
  }
}
