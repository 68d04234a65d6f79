import type { Db, UserRow } from '../db/schema.js';
import { notFound } from '../errors.js';
import { resolvePage, type PageRequest } from '../shared/paging.js';
import { fold, isUuid } from '../shared/text.js';
import { countUsers, findUserByUserId, findUserByUsernameFold, findUsers, userRowToUser, type UserFilter } from './user.repository.js';
import { streamUserRows } from './user.stream.js';
import { PAGE_SIZE_MAX, type Role, type UsersPage, type UsersQuery } from './user.schemas.js';

// Ids are stored as 32-bit integers (PostgreSQL `integer`): a larger id cannot exist, and sending it would make
// PostgreSQL fail ("out of range") where SQLite simply finds nothing. It becomes an id no row holds.
const MAX_STORED_ID = 2_147_483_647;
const NO_SUCH_ID = -1;
const storedId = (value: string): number => {
  const id = Number(value);
  return id <= MAX_STORED_ID ? id : NO_SUCH_ID;
};

/** Builds the repository filter from a validated `GET users` query. */
export function filterFromQuery(query: UsersQuery): UserFilter {
  return {
    usernames: (query.username ?? []).map(fold),
    names: (query.name ?? []).map(fold),
    statuses: query.status ?? [],
    roles: (query.role ?? []) as Role[],
    billingGroups: (query.billing_group ?? []).map(storedId),
    groupOwners: (query.group_owner ?? []).map(storedId),
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

/** The read side of the directory. */
export function createUserReader(db: Db) {
  return {
    /** One page of users matching the query, with the exact total. */
    async listUsers(orgId: number, query: UsersQuery): Promise<{ body: UsersPage; page: PageRequest }> {
      const page = resolvePage(query.pagenumber ?? 1, query.pagesize ?? PAGE_SIZE_MAX, PAGE_SIZE_MAX);
      const filter = filterFromQuery(query);
      const sort = { field: query.sortby ?? 'username', order: query.sortorder ?? 'asc' };
      const [rows, total] = await Promise.all([
        findUsers(db, orgId, filter, sort, page.pageSize, page.offset),
        countUsers(db, orgId, filter),
      ]);
      return { body: { paging: { pageNumber: page.pageNumber, pageSize: page.pageSize, total }, results: rows.map(userRowToUser) }, page };
    },

    /** Every user matching the query's filters, in its sort order, unpaged (keyset-streamed: see user.stream.ts). */
    streamUsers(orgId: number, query: UsersQuery): AsyncGenerator<UserRow> {
      return streamUserRows(db, orgId, filterFromQuery(query), { field: query.sortby ?? 'username', order: query.sortorder ?? 'asc' });
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
