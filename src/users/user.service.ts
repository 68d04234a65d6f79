import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Transaction } from 'kysely';
import { diffFields } from '../audit/audit.mapper.js';
import { createAuditService, type NewAuditEntry } from '../audit/audit.service.js';
import { createBillingGroupService } from '../billing-groups/billing-group.service.js';
import type { ReadNow } from '../db/connect.js';
import { isUniqueViolation } from '../db/db-errors.js';
import { isSqlite } from '../db/dialect.js';
import { combined, type Combinable } from '../db/group-commit.js';
import { unboundedReads, type Reads } from '../db/reads.js';
import type { Database, Db, UserRow } from '../db/tables.js';
import { AppError, invalidFields, notFound, type ProblemItem } from '../errors.js';
import { createGroupService } from '../groups/group.service.js';
import { checkIfMatch, parseIfMatch, type IfMatch } from '../http/preconditions.js';
import { createOrgService } from '../orgs/org.service.js';
import type { WriteContext } from '../shared/actor.js';
import { toStoredId } from '../shared/ids.js';
import { applyMergePatch } from '../shared/merge-patch.js';
import { createOrgQueryGate, type OrgQueryGate } from '../shared/org-query-gate.js';
import { resolvePage, type PageRequest } from '../shared/paging.js';
import { isUuid, needleFolds } from '../shared/text.js';
import { foldUsername } from '../db/username-keys.js';
import { nowTimestamp } from '../shared/timestamps.js';
import type { SearchIndexSettings } from '../config.js';
import { PageCache, type CachedPage } from './user.cache.js';
import { pageScope, type ChangedUser } from './user.changes.js';
import { ChangeTracker } from './user.invalidation.js';
import { SearchIndexes, type SearchIndexProgress } from './user.search.js';
import {
  countUsers,
  findUsers,
  findUsersAfter,
  NO_FILTER,
  streamUserRows,
  userSortKey,
  type UserFilter,
  type UserSort,
} from './user.list.repository.js';
import {
  bodyToFields,
  PAGE_TAIL,
  pageHead,
  splitList,
  userEtag,
  userRowToFields,
  userRowToJson,
  userRowToStoredUser,
  userRowToUser,
  userToRow,
  type StoredUser,
} from './user.mapper.js';
import {
  findUserByRef,
  findUserByUserId,
  findUsersByUserIds,
  insertDeactivation,
  insertUser,
  updateUser,
  updateUsersStatement,
  type UserChange,
} from './user.repository.js';
import { checkEchoes, checkFields, requireUser, resolveTarget, type AccessLookups } from './user.rules.js';
import {
  PAGE_SIZE_MAX,
  type UserCreate,
  type UserDeactivation,
  type UserFields,
  type UserPatch,
  type UserReplace,
  type UsersQuery,
} from './user.schemas.js';

type Trx = Transaction<Database>;
type IfMatchHeader = string | string[] | undefined;

/** A `GET users` answer: the JSON text (whole, or streamed for big pages), its page and total (for the Link header). */
interface UsersPageAnswer {
  readonly page: PageRequest;
  readonly total: number;
  readonly body: string | Readable;
}

/** A `GET users/{user}` answer: the user's JSON text and its ETag. */
interface UserAnswer {
  readonly etag: string;
  readonly body: string;
}

interface UserServiceOptions {
  /** Bytes of `GET users` answers each process keeps (0: none). Default 64 MiB. */
  readonly cacheBytes?: number;
  /** Where list queries run, within which time limit (default: on `db`, unbounded). */
  readonly reads?: Reads;
  /** The slots for an organization's uncached list queries (default: 2 at once, of this service's own). */
  readonly orgQueries?: OrgQueryGate;
  /** Answer substring searches from in-memory indexes (user.search.ts); default: the database alone. */
  readonly searchIndex?: SearchIndexSettings | null;
  /** SQLite's connection.readNow, for the search index's page reads. */
  readonly readNow?: ReadNow;
}

// Pages are read and written CHUNK users at a time: a 10,000-user page streams in flat memory.
const CHUNK = 200;
// Answers up to this size are cached; bigger ones (such as the default 10,000-user page) stream.
const MAX_CACHED_BYTES = 512 * 1024;

/** The repository filter of a validated `GET users` query (also `roster export`'s). */
function filterFromQuery(query: UsersQuery): UserFilter {
  return {
    // Distinct folds: `Qz` and `qz` are one term. Full case folding has one form of sigma, so a username
    // needle needs no second form (needleFolds).
    usernames: [...new Set((query.username ?? []).map(foldUsername))],
    names: [...new Set((query.name ?? []).flatMap(needleFolds))],
    statuses: query.status ?? [],
    roles: query.role ?? [],
    billingGroups: (query.billing_group ?? []).map(toStoredId),
    groupOwners: (query.group_owner ?? []).map(toStoredId),
  };
}

const sortFromQuery = (query: UsersQuery): UserSort => ({
  field: query.sortby ?? 'username',
  order: query.sortorder ?? 'asc',
});

const searches = (filter: UserFilter): boolean => filter.usernames.length > 0 || filter.names.length > 0;

/** A page and the total from the database; `total` when the search index knows it already. */
async function readPage(
  db: Db,
  orgId: number,
  filter: UserFilter,
  sort: UserSort,
  limit: number,
  offset: number,
  total?: number,
): Promise<[UserRow[], number]> {
  if (searches(filter)) {
    // A substring search's plan depends on how many match (see findUsers): count first.
    const matched = total ?? (await countUsers(db, orgId, filter));
    const orgTotal = await countUsers(db, orgId, NO_FILTER);
    return [await findUsers(db, orgId, filter, sort, limit, offset, { total: matched, orgTotal }), matched];
  }
  return Promise.all([findUsers(db, orgId, filter, sort, limit, offset), countUsers(db, orgId, filter)]);
}

/** The rest of a big page after its first chunk: keyset reads of CHUNK users, each written as it comes. */
async function* pageRest(
  reads: Reads,
  signal: AbortSignal | undefined,
  orgId: number,
  filter: UserFilter,
  sort: UserSort,
  start: string,
  last: ChangedUser,
  remaining: number,
) {
  yield start;
  let after = last;
  while (remaining > 0) {
    const from = { key: userSortKey(after, sort.field), userId: after.user_id };
    const size = Math.min(CHUNK, remaining);
    const rows = await reads.read((rdb) => findUsersAfter(rdb, orgId, filter, sort, from, size), signal);
    if (rows.length === 0) break;
    yield `,${rows.map(userRowToJson).join(',')}`;
    remaining -= rows.length;
    after = rows[rows.length - 1]!;
    if (rows.length < CHUNK) break;
  }
  yield PAGE_TAIL;
}

/** The directory's users: every read and write of the API (and of `roster export`) goes through here. */
export function createUserService(db: Db, options: UserServiceOptions = {}) {
  const cache = new PageCache(options.cacheBytes ?? 64 * 1024 * 1024, MAX_CACHED_BYTES);
  const tracker = new ChangeTracker(db);
  const reads = options.reads ?? unboundedReads(db);
  const search = options.searchIndex ? new SearchIndexes(db, reads, options.searchIndex, options.readNow) : undefined;
  const orgQueries = options.orgQueries ?? createOrgQueryGate(2);
  const orgs = createOrgService(db);
  const audit = createAuditService(db);
  const lookups: AccessLookups = { billingGroups: createBillingGroupService(db), groups: createGroupService(db) };

  /** Runs a write in the organization's write transaction; a username taken meanwhile by another process is a 409. */
  async function write(ctx: WriteContext, work: (trx: Trx) => Promise<UserRow>, combinable = false): Promise<UserRow> {
    try {
      return await orgs.inWriteTransaction(ctx.orgId, work, combinable);
    } catch (error) {
      if (isUniqueViolation(error))
        throw new AppError('CONFLICT', 'The username is already taken in this organization; choose another.', {
          errors: [{ pointer: '/username', message: 'is already taken' }],
        });
      throw error;
    }
  }

  /**
   * Stores a changed user and appends the audit entry of its changed fields (one statement on PostgreSQL).
   * RowChanged when the user has moved on since `row` was read: the write is then run again (group-commit.ts).
   */
  async function save(trx: Trx, ctx: WriteContext, row: UserRow, user: StoredUser, action: string): Promise<UserRow> {
    const next = userToRow(ctx.orgId, user, row.version + 1);
    const entry = {
      orgId: ctx.orgId,
      actor: ctx.actor,
      action,
      targetType: 'user' as const,
      targetId: row.user_id,
      changes: diffFields(userRowToUser(row), userRowToUser({ ...row, ...next })),
    };
    return updateUser(
      trx,
      ctx.orgId,
      row,
      next,
      (update) => audit.appendEntryWith(trx, entry, update),
      isSqlite(trx) ? undefined : (change) => combined(trx, combinedSaves, { change, entry }),
    );
  }

  /**
   * PostgreSQL: the updates of a group commit's combinable writes (PATCH, PUT, activate), with their audit
   * entries, as one statement (one round trip while the organization's next writes wait).
   */
  const combinedSaves: Combinable<{ change: UserChange; entry: NewAuditEntry }, UserRow | undefined> = {
    writes: true,
    runAll: (trx, items) =>
      audit.appendEntriesWith(
        trx,
        items[0]!.entry.orgId,
        items.map((i) => i.entry),
        updateUsersStatement(
          items[0]!.entry.orgId,
          items.map((i) => i.change),
        ),
      ),
  };

  /** PostgreSQL: the reads by user_id of a group commit's combinable writes run again, as one query. */
  const combinedReads: Combinable<{ orgId: number; userId: string }, UserRow | undefined> = {
    writes: false,
    runAll: async (trx, items) => {
      const rows = await findUsersByUserIds(
        trx,
        items[0]!.orgId,
        items.map((i) => i.userId),
      );
      const byUserId = new Map(rows.map((r) => [r.user_id, r]));
      return items.map((i) => byUserId.get(i.userId));
    },
  };

  /** Replaces the writable fields of a user (PUT, and PATCH after merging). */
  async function replaceFields(
    trx: Trx,
    ctx: WriteContext,
    row: UserRow,
    fields: UserFields,
    action: string,
  ): Promise<UserRow> {
    const lastLogin = await checkFields(trx, ctx.orgId, fields, row, lookups);
    const user: StoredUser = {
      ...userRowToStoredUser(row),
      ...fields,
      last_login_date: lastLogin,
      last_updated_date: nowTimestamp(),
    };
    return save(trx, ctx, row, user, action);
  }

  /** The user `ref` names, checked against If-Match. */
  async function requireCurrent(
    reader: Db,
    ctx: WriteContext,
    ref: string,
    ifMatch: IfMatch | undefined,
  ): Promise<UserRow> {
    return checkedCurrent(await requireUser(reader, ctx.orgId, ref), ifMatch);
  }

  /** The user's row, if it matches If-Match. */
  function checkedCurrent(row: UserRow, ifMatch: IfMatch | undefined): UserRow {
    checkIfMatch(ifMatch, userEtag(row), `User "${row.username}"`);
    return row;
  }

  /** requireCurrent inside a write: a user_id's read goes with the batch's others where it can (`combined`). */
  async function requireCurrentIn(
    trx: Trx,
    ctx: WriteContext,
    ref: string,
    ifMatch: IfMatch | undefined,
  ): Promise<UserRow> {
    const together =
      isUuid(ref) && !isSqlite(trx)
        ? await combined(trx, combinedReads, { orgId: ctx.orgId, userId: ref.toLowerCase() })
        : undefined;
    return together ? checkedCurrent(together, ifMatch) : requireCurrent(trx, ctx, ref, ifMatch);
  }

  /**
   * A write to the user `ref` names: `change` gets its row, checked against If-Match, in the organization's
   * write transaction. On PostgreSQL the row is read before the write joins its organization's queue, where
   * every round trip is time the next write waits; the update then stores it only if it is still at the
   * version read (save), and a user changed meanwhile is read again inside, where no other write can change it.
   * A 404 or 412 from that first read is the answer: the state it saw was the latest committed one.
   */
  async function writeUser(
    ctx: WriteContext,
    ref: string,
    ifMatch: IfMatchHeader,
    change: (trx: Trx, row: UserRow) => Promise<UserRow>,
    combinable = false,
  ): Promise<UserRow> {
    const precondition = parseIfMatch(ifMatch);
    let early = isSqlite(db) ? undefined : await requireCurrent(db, ctx, ref, precondition);
    return write(
      ctx,
      async (trx) => {
        const row = early ?? (await requireCurrentIn(trx, ctx, ref, precondition));
        early = undefined;
        return change(trx, row);
      },
      combinable,
    );
  }

  /**
   * A cached answer that stands at `version`; an older one is checked against the changes since (a promise
   * only then: the log may have to be read first).
   */
  function cached(
    orgId: number,
    key: string,
    version: number,
  ): CachedPage | undefined | Promise<CachedPage | undefined> {
    const lookUp = () => cache.get(key, version, (hit) => tracker.unchangedSince(orgId, hit.version, hit.scope));
    const held = cache.versionOf(key);
    return held !== undefined && held < version ? tracker.catchUp(orgId, version).then(lookUp) : lookUp();
  }

  /**
   * getUserAnswer past a hit at hand: the write_version read first when the caller has none, the cache
   * looked up (or the lookup under way awaited), then the database; the answer is cached.
   */
  async function readUserAnswer(
    orgId: number,
    ref: string,
    key: string,
    writeVersion: number | undefined,
    looking: Promise<CachedPage | undefined> | undefined,
  ): Promise<UserAnswer> {
    const version = writeVersion ?? (await orgs.findWriteVersion(orgId));
    const hit = await (writeVersion === undefined ? cached(orgId, key, version) : looking);
    if (hit) return { etag: hit.etag!, body: hit.body };
    const row = await findUserByRef(db, orgId, ref);
    if (!row) throw notFound(`User "${ref}"`);
    const answer = { etag: userEtag(row), body: userRowToJson(row) };
    // A UUID-shaped reference names a user by user_id first: a user created with it would change the answer.
    cache.set(key, {
      version,
      total: 1,
      ...answer,
      scope: { kind: 'user', userIds: [row.user_id, ref.toLowerCase()] },
    });
    tracker.noteAnswer(orgId, version);
    return answer;
  }

  return {
    /**
     * One page of users matching the query, with the exact total, as JSON text.
     * Answers are cached per organization and URL until a write changes them
     * (see user.cache.ts); pages bigger than a chunk stream.
     */
    async listUsers(
      orgId: number,
      query: UsersQuery,
      url: string,
      writeVersion?: number,
      signal?: AbortSignal,
    ): Promise<UsersPageAnswer> {
      const page = resolvePage(query.pagenumber ?? 1, query.pagesize ?? PAGE_SIZE_MAX, PAGE_SIZE_MAX);
      const key = `${orgId} ${url}`;
      // The version must be read before the data (the auth hook reads it with the key, at the request's start).
      const version = writeVersion ?? (await orgs.findWriteVersion(orgId));
      const hit = await cached(orgId, key, version);
      if (hit) return { page, total: hit.total, body: hit.body };

      const filter = filterFromQuery(query);
      const sort = sortFromQuery(query);
      const first = Math.min(page.pageSize, CHUNK);
      let rows: readonly ChangedUser[];
      let answers: readonly string[];
      let total: number;
      // An index answer takes one of the organization's slots too: its work shares the event loop's thread.
      const release = await orgQueries.acquire(orgId);
      try {
        const indexed = searches(filter)
          ? await search?.answer({ orgId, version, filter, sort, offset: page.offset, limit: first })
          : undefined;
        if (indexed?.page) [rows, answers, total] = [indexed.page.users, indexed.page.answers, indexed.total];
        else {
          const [read, matched] = await reads.read(
            (rdb) => readPage(rdb, orgId, filter, sort, first, page.offset, indexed?.total),
            signal,
          );
          [rows, answers, total] = [read, read.map(userRowToJson), matched];
        }
      } finally {
        release();
      }
      const start = pageHead(page.pageNumber, page.pageSize, total) + answers.join(',');
      if (rows.length < first || first === page.pageSize) {
        const body = start + PAGE_TAIL;
        cache.set(key, { version, body, total, scope: pageScope(filter, sort, rows) });
        tracker.noteAnswer(orgId, version);
        return { page, total, body };
      }
      const last = rows[rows.length - 1]!;
      const rest = pageRest(reads, signal, orgId, filter, sort, start, last, page.pageSize - rows.length);
      return { page, total, body: Readable.from(rest, { objectMode: false }) };
    },

    /** The bytes the answer cache charges to its budget now (for /metrics). */
    cachedBytes: (): number => cache.chargedBytes,

    /**
     * How many cached answers older than a write were kept, and how many dropped, and how many answers the
     * full cache turned away at their key's first coming, since start.
     */
    answerCacheCounts: (): { readonly kept: number; readonly dropped: number; readonly refused: number } => ({
      ...tracker.counts,
      refused: cache.refused,
    }),

    /** How far the search indexes are built (for /readyz and /metrics). */
    searchIndexProgress: (): SearchIndexProgress =>
      search?.progress() ?? {
        state: 'off',
        organizations_ready: 0,
        organizations_building: 0,
        rows_indexed: 0,
        rows_total: 0,
        bytes: 0,
      },

    /** Searches answered by a search index, and by the database instead, since start. */
    searchIndexCounts: (): { readonly index: number; readonly database: number } => ({
      ...(search?.counts ?? { index: 0, database: 0 }),
    }),

    /** Stops the search index builds under way (the app's close). */
    close: async (): Promise<void> => search?.close(),

    /** Every user matching the query's filters, in its sort order, unpaged (keyset reads: flat memory). */
    streamUsers(orgId: number, query: UsersQuery, signal?: AbortSignal): AsyncGenerator<UserRow> {
      return streamUserRows(db, orgId, filterFromQuery(query), sortFromQuery(query), undefined, (page) =>
        reads.read(page, signal),
      );
    },

    /**
     * The user a path segment names as JSON text with its ETag, cached like
     * pages (per organization and reference, until a write changes the user).
     */
    getUserAnswer(orgId: number, ref: string, writeVersion?: number): UserAnswer | Promise<UserAnswer> {
      const key = `${orgId}/${ref}`;
      // A hit at the caller's version is answered without a promise: the request needs no further turn.
      const hit = writeVersion === undefined ? undefined : cached(orgId, key, writeVersion);
      if (hit !== undefined && !(hit instanceof Promise)) return { etag: hit.etag!, body: hit.body };
      return readUserAnswer(orgId, ref, key, writeVersion, hit);
    },

    /** POST users: a new user, awaiting approval. */
    async createUser(ctx: WriteContext, body: UserCreate): Promise<UserRow> {
      return write(ctx, async (trx) => {
        const fields = bodyToFields(body);
        const lastLogin = await checkFields(trx, ctx.orgId, fields, undefined, lookups);
        const user: StoredUser = {
          user_id: randomUUID(),
          ...fields,
          status: 'awaiting_approval',
          last_login_date: lastLogin,
          last_updated_date: nowTimestamp(),
        };
        await insertUser(trx, userToRow(ctx.orgId, user, 1));
        const row = await findUserByUserId(trx, ctx.orgId, user.user_id);
        if (!row) throw new Error('the inserted user is missing');
        await audit.appendEntry(trx, {
          orgId: ctx.orgId,
          actor: ctx.actor,
          action: 'user.create',
          targetType: 'user',
          targetId: row.user_id,
          changes: diffFields(null, userRowToUser(row)),
        });
        return row;
      });
    },

    /** PUT users/{user}: full replace (renaming allowed when the name is free). */
    async replaceUser(ctx: WriteContext, ref: string, body: UserReplace, ifMatch: IfMatchHeader): Promise<UserRow> {
      return writeUser(
        ctx,
        ref,
        ifMatch,
        async (trx, row) => {
          checkEchoes(body, row);
          return replaceFields(trx, ctx, row, bodyToFields(body), 'user.replace');
        },
        true,
      );
    },

    /** PATCH users/{user}: RFC 7396 merge patch over the writable fields, then the rules of PUT. */
    async patchUser(ctx: WriteContext, ref: string, patch: UserPatch, ifMatch: IfMatchHeader): Promise<UserRow> {
      return writeUser(
        ctx,
        ref,
        ifMatch,
        async (trx, row) => {
          const { user_id, status, last_updated_date: _u, deactivation_date: _d, ...writable } = patch;
          checkEchoes(
            { ...(user_id !== undefined ? { user_id } : {}), ...(status !== undefined ? { status } : {}) },
            row,
          );
          const merged = applyMergePatch(userRowToFields(row), writable) as UserReplace;
          return replaceFields(trx, ctx, row, bodyToFields(merged), 'user.patch');
        },
        true,
      );
    },

    /** PUT users/{user}/activate. */
    async activateUser(ctx: WriteContext, ref: string, ifMatch: IfMatchHeader): Promise<UserRow> {
      return writeUser(
        ctx,
        ref,
        ifMatch,
        async (trx, row) => {
          const user: StoredUser = {
            ...userRowToStoredUser(row),
            status: 'activated',
            deactivation_date: null,
            last_updated_date: nowTimestamp(),
          };
          return save(trx, ctx, row, user, 'user.activate');
        },
        true,
      );
    },

    /**
     * DELETE or PUT users/{user}/deactivate: the groups the user owns move to
     * `reassign_groups_to_user` in the same transaction; the report instructions are recorded.
     */
    async deactivateUser(
      ctx: WriteContext,
      ref: string,
      body: UserDeactivation,
      ifMatch: IfMatchHeader,
    ): Promise<UserRow> {
      return writeUser(ctx, ref, ifMatch, async (trx, row) => {
        const errors: ProblemItem[] = [];
        const groupsTo = await resolveTarget(
          trx,
          ctx.orgId,
          row,
          body.reassign_groups_to_user,
          '/reassign_groups_to_user',
          errors,
        );
        const reportsTo = await resolveTarget(
          trx,
          ctx.orgId,
          row,
          body.reassign_reports_to_user,
          '/reassign_reports_to_user',
          errors,
        );
        if (errors.length > 0)
          throw invalidFields(
            errors,
            errors.some((e) => e.message.startsWith('names no user')) ? 'UNKNOWN_REFERENCE' : 'VALIDATION_FAILED',
          );

        const now = nowTimestamp();
        const moved = groupsTo ? splitList(row.group_owners) : [];
        const before = userRowToStoredUser(row);
        const user: StoredUser = {
          ...before,
          status: 'deactivated',
          // A repeated deactivation keeps the date the user was first deactivated.
          deactivation_date: row.status === 'deactivated' ? row.deactivation_date : now,
          last_updated_date: now,
          access: {
            billing_groups: before.access.billing_groups,
            group_owners: groupsTo ? [] : before.access.group_owners,
          },
        };
        const saved = await save(trx, ctx, row, user, 'user.deactivate');
        if (groupsTo && moved.length > 0) {
          const owned = splitList(groupsTo.group_owners);
          const target = userRowToStoredUser(groupsTo);
          const next: StoredUser = {
            ...target,
            last_updated_date: nowTimestamp(),
            access: { ...target.access, group_owners: [...owned, ...moved.filter((g) => !owned.includes(g))] },
          };
          await save(trx, ctx, groupsTo, next, 'user.reassign');
        }
        await insertDeactivation(trx, {
          orgId: ctx.orgId,
          userId: row.user_id,
          deactivatedAt: now,
          reassignGroupsTo: groupsTo?.user_id ?? null,
          groupsMoved: moved,
          reassignReportsTo: reportsTo?.user_id ?? null,
          deleteScheduledReports: body.delete_scheduled_reports ?? false,
          actor: ctx.actor.label,
          requestId: ctx.actor.requestId ?? null,
        });
        return saved;
      });
    },

    /** Inserts a user as given (its id and timestamps kept: demo data, imports); no rules, no audit entry. */
    insertStoredUser: (trx: Trx, orgId: number, user: StoredUser): Promise<number> =>
      insertUser(trx, userToRow(orgId, user, 1)),
  };
}

export type UserService = ReturnType<typeof createUserService>;
