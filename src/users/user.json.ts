import type { UserRow } from '../db/tables.js';
import { formatTimestamp } from '../shared/timestamps.js';

const str = JSON.stringify;
// Stored lists of role names and numeric ids need no escaping; anything else goes through JSON.stringify.
const SAFE_LIST = /^[A-Za-z0-9_,]*$/;

function list(stored: string): string {
  if (stored === '') return '[]';
  return SAFE_LIST.test(stored) ? `["${stored.replaceAll(',', '","')}"]` : str(stored.split(','));
}

const stamp = (stored: string) => str(formatTimestamp(stored));

/**
 * A user row as the JSON text of the API's user object: byte for byte
 * `JSON.stringify(userRowToUser(row))` (a test holds them equal), without
 * building the intermediate object. Big pages are serialized with it.
 */
export function userRowToJson(row: UserRow): string {
  const deactivation = row.status === 'deactivated' && row.deactivation_date !== null ? `,"deactivation_date":${stamp(row.deactivation_date)}` : '';
  return (
    `{"user_id":${str(row.user_id)},"username":${str(row.username)},"name":${str(row.name)},"email":${str(row.email)},` +
    `"phone":${str(row.phone)},"call_detail_level":${str(row.call_detail_level)},` +
    `"restrict_recording_download":${row.restrict_recording_download === 1},"status":${str(row.status)},` +
    `"last_login_date":${row.last_login_date === null ? 'null' : stamp(row.last_login_date)},` +
    `"last_updated_date":${stamp(row.last_updated_date)}${deactivation},"roles":${list(row.roles)},` +
    `"access":{"billing_groups":${list(row.billing_groups)},"group_owners":${list(row.group_owners)}}}`
  );
}

/** The opening of a `GET users` page, up to the first user. */
export function pageHead(pageNumber: number, pageSize: number, total: number): string {
  return `{"paging":{"pageNumber":${pageNumber},"pageSize":${pageSize},"total":${total}},"results":[`;
}

export const PAGE_TAIL = ']}';
