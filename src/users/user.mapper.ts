import type { NewUserRow, UserRow } from '../db/tables.js';
import { fold } from '../shared/text.js';
import { formatTimestamp } from '../shared/timestamps.js';
import { foldUsername, usernameSkeleton } from '../db/username-keys.js';
import { ROLES, type Role, type User, type UserCreate, type UserFields, type UserReplace } from './user.schemas.js';

/** A user object whose timestamps are in stored form (7 fraction digits). */
export type StoredUser = Omit<User, 'deactivation_date'> & { deactivation_date?: string | null | undefined };

/** The items of a stored comma list (roles, billing group ids, group ids); '' is none. */
export function splitList(stored: string): string[] {
  return stored === '' ? [] : stored.split(',');
}

/** The ids of a stored comma list of ids. */
export function splitIds(stored: string): number[] {
  return splitList(stored).map(Number);
}

/** The bit of a role in `users.roles_mask`. */
function roleBit(role: Role): number {
  return 1 << ROLES.indexOf(role);
}

/** The mask of a role list (the `role` filter tests it). */
export function rolesMask(roles: readonly Role[]): number {
  return roles.reduce((mask, role) => mask | roleBit(role), 0);
}

/** The one mapping from a row to the API's user object (keys in the contract's order). */
export function userRowToUser(row: UserRow): User {
  return {
    user_id: row.user_id,
    username: row.username,
    name: row.name,
    email: row.email,
    phone: row.phone,
    call_detail_level: row.call_detail_level,
    restrict_recording_download: row.restrict_recording_download === 1,
    status: row.status,
    last_login_date: row.last_login_date === null ? null : formatTimestamp(row.last_login_date),
    last_updated_date: formatTimestamp(row.last_updated_date),
    ...(row.status === 'deactivated' && row.deactivation_date !== null
      ? { deactivation_date: formatTimestamp(row.deactivation_date) }
      : {}),
    roles: splitList(row.roles) as Role[],
    access: { billing_groups: splitList(row.billing_groups), group_owners: splitList(row.group_owners) },
  };
}

/** A row as the user object userToRow takes back (timestamps kept in stored form). */
export function userRowToStoredUser(row: UserRow): StoredUser {
  return {
    ...userRowToUser(row),
    last_login_date: row.last_login_date,
    last_updated_date: row.last_updated_date,
    deactivation_date: row.deactivation_date,
  };
}

/**
 * The inverse of userRowToUser: the row that stores a user object as given
 * (timestamps already in stored form). Used by every path that writes users.
 */
export function userToRow(orgId: number, user: StoredUser, version: number): NewUserRow {
  return {
    org_id: orgId,
    user_id: user.user_id,
    username: user.username,
    username_fold: foldUsername(user.username),
    username_skeleton: usernameSkeleton(user.username),
    name: user.name,
    name_fold: fold(user.name),
    email: user.email,
    phone: user.phone,
    call_detail_level: user.call_detail_level,
    restrict_recording_download: user.restrict_recording_download ? 1 : 0,
    status: user.status,
    last_login_date: user.last_login_date,
    last_updated_date: user.last_updated_date,
    deactivation_date: user.status === 'deactivated' ? (user.deactivation_date ?? user.last_updated_date) : null,
    roles: user.roles.join(','),
    roles_mask: rolesMask(user.roles),
    billing_groups: user.access.billing_groups.join(','),
    group_owners: user.access.group_owners.join(','),
    version,
    // Version 1 is an insert: the creation time is set then and never rewritten by an update.
    ...(version === 1 ? { created_at: user.last_updated_date } : {}),
  };
}

/** The user's ETag: changes on every write. */
export function userEtag(row: Pick<UserRow, 'version' | 'user_id'>): string {
  return `"${row.user_id.slice(0, 8)}.${row.version}"`;
}

/** The writable fields of a row (timestamps in stored form): what a merge patch applies to. */
export function userRowToFields(row: UserRow): UserFields {
  const { username, name, email, phone, call_detail_level, restrict_recording_download, roles, access } =
    userRowToUser(row);
  return {
    username,
    name,
    email,
    phone,
    call_detail_level,
    restrict_recording_download,
    last_login_date: row.last_login_date,
    roles,
    access,
  };
}

/** A POST or PUT body with its defaults: absent optional fields are "", false, null and empty lists. */
export function bodyToFields(body: UserCreate | UserReplace): UserFields {
  return {
    username: body.username,
    name: body.name,
    email: body.email,
    phone: body.phone ?? '',
    call_detail_level: body.call_detail_level,
    restrict_recording_download: body.restrict_recording_download ?? false,
    last_login_date: body.last_login_date ?? null,
    roles: body.roles,
    access: { billing_groups: body.access?.billing_groups ?? [], group_owners: body.access?.group_owners ?? [] },
  };
}

const str = JSON.stringify;
// Stored lists of role names and numeric ids need no escaping; anything else goes through JSON.stringify.
const SAFE_LIST = /^[A-Za-z0-9_,]*$/;

function listJson(stored: string): string {
  if (stored === '') return '[]';
  return SAFE_LIST.test(stored) ? `["${stored.replaceAll(',', '","')}"]` : str(splitList(stored));
}

const stampJson = (stored: string) => str(formatTimestamp(stored));

/**
 * A user row as the JSON text of the API's user object: byte for byte
 * `JSON.stringify(userRowToUser(row))` (a test holds them equal), without
 * building the intermediate object. Big pages are serialized with it.
 */
export function userRowToJson(row: UserRow): string {
  const deactivation =
    row.status === 'deactivated' && row.deactivation_date !== null
      ? `,"deactivation_date":${stampJson(row.deactivation_date)}`
      : '';
  return (
    `{"user_id":${str(row.user_id)},"username":${str(row.username)},"name":${str(row.name)},"email":${str(row.email)},` +
    `"phone":${str(row.phone)},"call_detail_level":${str(row.call_detail_level)},` +
    `"restrict_recording_download":${row.restrict_recording_download === 1},"status":${str(row.status)},` +
    `"last_login_date":${row.last_login_date === null ? 'null' : stampJson(row.last_login_date)},` +
    `"last_updated_date":${stampJson(row.last_updated_date)}${deactivation},"roles":${listJson(row.roles)},` +
    `"access":{"billing_groups":${listJson(row.billing_groups)},"group_owners":${listJson(row.group_owners)}}}`
  );
}

/** The opening of a `GET users` page, up to the first user. */
export function pageHead(pageNumber: number, pageSize: number, total: number): string {
  return `{"paging":{"pageNumber":${pageNumber},"pageSize":${pageSize},"total":${total}},"results":[`;
}

/** The close of a `GET users` page, after the last user. */
export const PAGE_TAIL = ']}';
