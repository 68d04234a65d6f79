/**
 * Which of the organization's users each row of an import file names, and the
 * rows that name again a user or a username the file already named. Holds what
 * it has seen of the file; what the database holds comes in with each batch.
 */
import type { NewUserRow, UserRow } from '../db/tables.js';
import { foldUsername, usernameSkeleton } from '../db/username-keys.js';
import { quoteValue } from '../shared/text.js';
import type { CheckedRow } from './import.rows.js';
import type { FieldProblem } from './import.rules.js';

/** What a batch's look-ups found: the organization's users its rows name, and the user_ids other organizations hold. */
interface FoundUsers {
  readonly rows: readonly UserRow[];
  readonly elsewhere: ReadonlySet<string>;
}

/** The user a row names (undefined: none, so a new user) and what is wrong with naming it. */
interface RowMatch {
  readonly target: UserRow | undefined;
  readonly problems: readonly FieldProblem[];
}

export class RowMatcher {
  /** Internal id of every user a row of the file resolved to → that row's line. */
  private readonly seen = new LineByPk();
  private byId = new Map<string, UserRow>();
  private byFold = new Map<string, UserRow>();
  private bySkeleton = new Map<string, UserRow>();
  private elsewhere: ReadonlySet<string> = new Set();
  /** This batch's planned user_ids and username skeletons (db/username-keys.ts) → the line that claimed each. */
  private batchIds = new Map<string, number>();
  private batchSkeletons = new Map<string, number>();

  /** Starts a batch with what its look-ups found. */
  startBatch(found: FoundUsers): void {
    this.byId = new Map();
    this.byFold = new Map();
    this.bySkeleton = new Map();
    for (const u of found.rows) {
      this.byId.set(u.user_id, u);
      this.byFold.set(u.username_fold, u);
      this.bySkeleton.set(u.username_skeleton, u);
    }
    this.elsewhere = found.elsewhere;
    this.batchIds = new Map();
    this.batchSkeletons = new Map();
  }

  /** The user the row names: by user_id when it gives one, else by username ignoring case. */
  match(row: CheckedRow): RowMatch {
    const { input } = row;
    const userId = input.user_id;
    const problems: FieldProblem[] = [];
    let target: UserRow | undefined;
    if (userId !== undefined) {
      const first = this.batchIds.get(userId);
      if (first !== undefined)
        problems.push({
          field: 'user_id',
          reason: `${userId} appears again in this file (first on line ${first}); a file may name each user once`,
        });
      target = this.byId.get(userId);
      if (!target && this.elsewhere.has(userId))
        problems.push({
          field: 'user_id',
          reason: `${userId} is the user_id of a user in another organization; user_ids are unique across Roster`,
        });
    } else if (input.username !== undefined) {
      target = this.byFold.get(foldUsername(input.username));
    }
    if (target) {
      const first = this.seen.get(target.id);
      if (first !== undefined)
        problems.push({
          field: userId !== undefined ? 'user_id' : 'username',
          reason: `${quoteValue(userId ?? input.username)} names the same user as line ${first} of this file; a file may name each user once`,
        });
    }
    if (input.username !== undefined) {
      const skeleton = usernameSkeleton(input.username);
      const first = this.batchSkeletons.get(skeleton);
      const owner = this.bySkeleton.get(skeleton);
      if (first !== undefined) {
        problems.push({
          field: 'username',
          reason: `${quoteValue(input.username)} appears again in this file (first on line ${first}); usernames are unique, ignoring case and look-alike characters`,
        });
      } else if (owner && owner.id !== target?.id) {
        const ownerLine = this.seen.get(owner.id);
        const same = owner.username_fold === foldUsername(input.username) ? 'is' : 'looks like';
        problems.push({
          field: 'username',
          reason:
            ownerLine !== undefined
              ? `${quoteValue(input.username)} ${same} the username of line ${ownerLine} of this file; usernames are unique, ignoring case and look-alike characters`
              : `${quoteValue(input.username)} ${same} ${quoteValue(owner.username)}, the username of user ${owner.user_id}; usernames are unique, ignoring case and look-alike characters`,
        });
      }
    }
    return { target, problems };
  }

  /** A planned row takes its user_id and username for the rest of the batch. */
  claim(next: Pick<NewUserRow, 'user_id' | 'username_skeleton'>, line: number): void {
    this.batchIds.set(next.user_id, line);
    this.batchSkeletons.set(next.username_skeleton, line);
  }

  /** The user with this internal id was named by this line, for the rest of the file. */
  remember(pk: number, line: number): void {
    this.seen.set(pk, line);
  }
}

/**
 * A map from a user's internal id to a line number, in 16 KB pages of a
 * typed array: a small part of a Map's heap for a million users
 * (docs/import-export.md, "Memory fixes").
 */
class LineByPk {
  private readonly pages = new Map<number, Uint32Array>();

  get(pk: number): number | undefined {
    const line = this.pages.get(pk >>> 12)?.[pk & 4095];
    return line ? line : undefined;
  }

  set(pk: number, line: number): void {
    let page = this.pages.get(pk >>> 12);
    if (!page) this.pages.set(pk >>> 12, (page = new Uint32Array(4096)));
    page[pk & 4095] = line;
  }
}
