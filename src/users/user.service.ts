import { Readable } from 'node:stream';
import type { Db, UserRow } from '../db/tables.js';
import { notFound } from '../errors.js';
import { createOrgService } from '../orgs/org.service.js';
import { toStoredId } from '../shared/ids.js';
import { resolvePage, type PageRequest } from '../shared/paging.js';
import { fold, isUuid, needleFolds } from '../shared/text.js';
import {
  countUsers,
  findUserByUserId,
  findUserByUsernameFold,
  findUsers,
  findUsersAfter,
  userEtag,
  userSortKey,
  type UserFilter,
  type UserSort,
} from './user.repository.js';
import { PAGE_TAIL, pageHead, userRowToJson } from './user.json.js';
import { PageCache } from './user.page-cache.js';
import { streamUserRows } from './user.stream.js';
import { PAGE_SIZE_MAX, type Role, type UsersQuery } from './user.schemas.js';

/** Builds the repository filter from a validated `GET users` query. */
export function filterFromQuery(query: UsersQuery): UserFilter {
  return {
    usernames: (query.username ?? []).flatMap(needleFolds),
    names: (query.name ?? []).flatMap(needleFolds),
    statuses: query.status ?? [],
    roles: (query.role ?? []) as Role[],
    billingGroups: (query.billing_group ?? []).map(toStoredId),
    groupOwners: (query.group_owner ?? []).map(toStoredId),
  };
}

/** Finds a user by user_id (when the value has UUID form) or else by username, case-insensitively. */
export async function findUserByRef(db: Db, orgId: number, ref: string): Promise<UserRow | undefined> {
  if (isUuid(ref)) {
    const byId = await findUserByUserId(db, orgId, ref.toLowerCase());
    if (byId) return byId;
  }
  return findUserByUsernameFold(db, orgId, fold(ref));
}

/** A `GET users` answer: the JSON text (whole, or streamed for big pages), its page and total (for the Link header). */
export interface UsersPageAnswer {
  readonly page: PageRequest;
  readonly total: number;
  readonly body: string | Readable;
}

export interface UserReaderOptions {
  /** Bytes of `GET users` answers each process keeps (0: none). Default 64 MiB. */
  readonly cacheBytes?: number;
}

const NO_FILTER: UserFilter = { usernames: [], names: [], statuses: [], roles: [], billingGroups: [], groupOwners: [] };

// Pages are read and written CHUNK users at a time: a 10,000-user page streams in flat memory.
const CHUNK = 200;
// Answers up to this size are cached (a page of 25 is ~12 KB; the 10,000-user default page is ~5 MB and streams).
const MAX_CACHED_BYTES = 512 * 1024;

/** The rest of a big page after its first chunk: keyset reads of CHUNK users, each written as it comes. */
async function* pageRest(db: Db, orgId: number, filter: UserFilter, sort: UserSort, start: string, last: UserRow, remaining: number) {
  yield start;
  let after = last;
  while (remaining > 0) {
    const rows = await findUsersAfter(db, orgId, filter, sort, { key: userSortKey(after, sort.field), userId: after.user_id }, Math.min(CHUNK, remaining));
    if (rows.length === 0) break;
    yield `,${rows.map(userRowToJson).join(',')}`;
    remaining -= rows.length;
    after = rows[rows.length - 1]!;
    if (rows.length < CHUNK) break;
  }
  yield PAGE_TAIL;
}

/** The read side of the directory. */
export function createUserReader(db: Db, options: UserReaderOptions = {}) {
  const orgs = createOrgService(db);
  const cache = new PageCache(options.cacheBytes ?? 64 * 1024 * 1024, MAX_CACHED_BYTES);
  return {
    /**
     * One page of users matching the query, with the exact total, as JSON text.
     * Answers are cached per organization and URL while the organization's
     * write_version stands (see user.page-cache.ts); pages bigger than a chunk stream.
     */
    async listUsers(orgId: number, query: UsersQuery, url: string, writeVersion?: number): Promise<UsersPageAnswer> {
      const page = resolvePage(query.pagenumber ?? 1, query.pagesize ?? PAGE_SIZE_MAX, PAGE_SIZE_MAX);
      const key = `${orgId} ${url}`;
      // The version must be read before the data (the auth hook reads it with the key, at the request's start).
      const version = writeVersion ?? (await orgs.findWriteVersion(orgId));
      const hit = cache.get(key, version);
      if (hit) return { page, total: hit.total, body: hit.body };

      const filter = filterFromQuery(query);
      const sort: UserSort = { field: query.sortby ?? 'username', order: query.sortorder ?? 'asc' };
      const first = Math.min(page.pageSize, CHUNK);
      let rows: UserRow[];
      let total: number;
      if (filter.usernames.length > 0 || filter.names.length > 0) {
        // A substring search's plan depends on how many match (see findUsers): count first.
        total = await countUsers(db, orgId, filter);
        const orgTotal = await countUsers(db, orgId, NO_FILTER);
        rows = await findUsers(db, orgId, filter, sort, first, page.offset, { total, orgTotal });
      } else {
        [rows, total] = await Promise.all([findUsers(db, orgId, filter, sort, first, page.offset), countUsers(db, orgId, filter)]);
      }
      const start = pageHead(page.pageNumber, page.pageSize, total) + rows.map(userRowToJson).join(',');
      if (rows.length < first || first === page.pageSize) {
        const body = start + PAGE_TAIL;
        cache.set(key, { version, body, total });
        return { page, total, body };
      }
      const rest = pageRest(db, orgId, filter, sort, start, rows[rows.length - 1]!, page.pageSize - rows.length);
      return { page, total, body: Readable.from(rest, { objectMode: false }) };
    },

    /** Every user matching the query's filters, in its sort order, unpaged (keyset-streamed: see user.stream.ts). */
    streamUsers(orgId: number, query: UsersQuery): AsyncGenerator<UserRow> {
      return streamUserRows(db, orgId, filterFromQuery(query), { field: query.sortby ?? 'username', order: query.sortorder ?? 'asc' });
    },

    /**
     * The user a path segment names as JSON text with its ETag, cached like
     * pages (per organization and reference, while write_version stands).
     */
    async getUserAnswer(orgId: number, ref: string, writeVersion?: number): Promise<{ etag: string; body: string }> {
      const key = `${orgId}/${ref}`;
      const version = writeVersion ?? (await orgs.findWriteVersion(orgId));
      const hit = cache.get(key, version);
      if (hit) return { etag: hit.etag!, body: hit.body };
      const row = await findUserByRef(db, orgId, ref);
      if (!row) throw notFound(`User "${ref}"`);
      const answer = { etag: userEtag(row), body: userRowToJson(row) };
      cache.set(key, { version, total: 1, ...answer });
      return answer;
    },

    /** The user a path segment names; 404 when this organization has none. */
    async getUser(orgId: number, ref: string): Promise<UserRow> {
      const row = await findUserByRef(db, orgId, ref);
      if (!row) throw notFound(`User "${ref}"`);
      return row;
    },
  };
}

export type UserReader = ReturnType<typeof createUserReader>;
