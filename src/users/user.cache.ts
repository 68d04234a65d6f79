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
 * Least recently used entries go first when the byte budget is spent.
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

export class PageCache {
  private readonly entries = new Map<string, CachedPage>();
  private bytes = 0;

  constructor(
    private readonly budgetBytes: number,
    private readonly maxEntryBytes: number,
  ) {}

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
        this.bytes -= hit.body.length;
        return undefined;
      }
      hit = { ...hit, version: stands };
    }
    this.entries.set(key, hit); // most recently used last
    return hit;
  }

  /** Stores an answer (skipped when bigger than an entry may be). */
  set(key: string, page: CachedPage): void {
    if (this.budgetBytes === 0 || page.body.length > this.maxEntryBytes) return;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.body.length;
    }
    this.entries.set(key, page);
    this.bytes += page.body.length;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.budgetBytes) break;
      this.entries.delete(k);
      this.bytes -= v.body.length;
    }
  }
}
