/**
 * A per-process cache of `GET users` and `GET users/{user}` answers, keyed
 * by organization and request URL (or user reference), each entry stamped with the organization's write_version at
 * the time it was computed. An entry is served only while the organization's
 * current write_version (read on every request) still equals its stamp, so a
 * write through any process invalidates every process's entries at once:
 * totals are never stale. Since the stamp is read before the data, an entry
 * can only hold data at least as new as its stamp.
 *
 * Least recently used entries go first when the byte budget is spent.
 */
export interface CachedPage {
  readonly version: number;
  readonly body: string;
  readonly total: number;
  /** The ETag of a cached single user. */
  readonly etag?: string;
}

export class PageCache {
  private readonly entries = new Map<string, CachedPage>();
  private bytes = 0;

  constructor(
    private readonly budgetBytes: number,
    private readonly maxEntryBytes: number,
  ) {}

  /** The entry for `key` if it was computed at `version`. */
  get(key: string, version: number): CachedPage | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    this.entries.delete(key);
    if (hit.version !== version) {
      this.bytes -= hit.body.length;
      return undefined;
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
