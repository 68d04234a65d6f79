import { CHANGE_LOG_VERSIONS_KEPT } from '../db/migrations/010_change_log.js';
import type { Db } from '../db/tables.js';
import { changeAffects, type AnswerScope, type UserChange } from './user.changes.js';
import { findChangesSince } from './user.changes.repository.js';

/**
 * What this process knows of one organization's change log: every change with a version from `low` on
 * that was committed when the write_version was `high` (the log is read again from `high` on, since a
 * writer that bumps last logs at the version before its own: see migration 010).
 */
interface OrgLog {
  low: number;
  high: number;
  changes: UserChange[];
  reading?: Promise<void>;
}

// Changes read per query: further behind than this, the organization's answers are dropped instead.
const READ_LIMIT = 1000;
// Changes kept per organization; the oldest versions go past it (and answers stamped before them).
const KEPT_CHANGES = 1024;

/**
 * Follows each organization's change log (migration 010) in this process, so that a cached answer stamped
 * with an older write_version is kept when no change since touched it (user.changes.ts decides) instead of
 * being dropped at every write. The log is read once per organization and new version, whichever answer
 * asks first; answers further behind than what is kept are dropped.
 */
export class ChangeTracker {
  private readonly orgs = new Map<number, OrgLog>();
  /** Older answers shown to stand, and dropped, since start (for /metrics). */
  readonly counts = { kept: 0, dropped: 0 };

  constructor(private readonly db: Db) {}

  /** Notes that an answer was computed at `version`: the organization's log is followed from there on. */
  noteAnswer(orgId: number, version: number): void {
    if (!this.orgs.has(orgId)) this.orgs.set(orgId, { low: version, high: version, changes: [] });
  }

  /** Reads the organization's log up to `version` at least (one query, shared by concurrent callers). */
  async catchUp(orgId: number, version: number): Promise<void> {
    const log = this.orgs.get(orgId);
    // A read already under way may have started before `version` was written: then one more.
    for (let round = 0; log && log.high < version && round < 2; round++) {
      log.reading ??= this.read(orgId, log).finally(() => (log.reading = undefined));
      await log.reading;
    }
  }

  /**
   * The version up to which an answer computed at `version` still stands (the newest this process has
   * read), or undefined when a change since may have altered it or the changes since are not known.
   */
  unchangedSince(orgId: number, version: number, scope: AnswerScope | undefined): number | undefined {
    const stands = this.standsUntil(orgId, version, scope);
    if (stands === undefined) this.counts.dropped++;
    else this.counts.kept++;
    return stands;
  }

  private standsUntil(orgId: number, version: number, scope: AnswerScope | undefined): number | undefined {
    const log = this.orgs.get(orgId);
    if (!log || !scope || version < log.low) return undefined;
    const { changes } = log;
    for (let i = firstFrom(changes, version); i < changes.length; i++)
      if (changeAffects(scope, changes[i]!)) return undefined;
    return log.high;
  }

  private async read(orgId: number, log: OrgLog): Promise<void> {
    const { current, changes, truncated } = await findChangesSince(this.db, orgId, log.high, READ_LIMIT);
    // Too many, or some pruned from the database log already: start afresh from `current`.
    if (truncated || log.high <= current - CHANGE_LOG_VERSIONS_KEPT || current < log.high) {
      log.low = log.high = current;
      log.changes = [];
      return;
    }
    // The read from `high` on repeats what was read of that version, and adds what committed since.
    log.changes = [...log.changes.slice(0, firstFrom(log.changes, log.high)), ...changes];
    log.high = current;
    if (log.changes.length > KEPT_CHANGES) trim(log);
  }
}

/** The index of the first change with a version of `version` or above (changes are in version order). */
function firstFrom(changes: readonly UserChange[], version: number): number {
  let lo = 0;
  let hi = changes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (changes[mid]!.version < version) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Drops the oldest half of the changes, whole versions at a time; answers stamped before them then go. */
function trim(log: OrgLog): void {
  let cut = log.changes.length - KEPT_CHANGES / 2;
  while (cut < log.changes.length && log.changes[cut]!.version === log.changes[cut - 1]!.version) cut++;
  log.low = log.changes[cut - 1]!.version + 1;
  log.changes = log.changes.slice(cut);
}
