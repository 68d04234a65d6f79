// The users view's whole state lives in the URL, with the API's own parameter names: a reload, a pasted
// link, Back and Forward all show the same view.
import type { UsersQuery } from '../api/calls';
import type { Role, Status } from '../api/client';

export const STATUSES: readonly Status[] = ['awaiting_approval', 'activated', 'deactivated'];
export const ROLES: readonly Role[] = [
  'administrator',
  'org_group_admin',
  'ordering',
  'reporting',
  'browse_inventory',
  'view_stop_call_data',
  'call_record_listen',
  'rescue',
];

/** The console's own default page size (the API's is 10,000: too many for a table). */
export const DEFAULT_PAGE_SIZE = 25;

export interface UsersState {
  readonly username: string;
  readonly name: string;
  readonly billing_group: string;
  readonly status: Status | '';
  readonly role: Role | '';
  readonly pagenumber: number;
  readonly pagesize: number;
  readonly sortby: 'username' | 'name' | '';
  readonly sortorder: 'asc' | 'desc' | '';
}

const positive = (value: string | null, fallback: number) => {
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 ? n : fallback;
};

const oneOf = <T extends string>(value: string | null, allowed: readonly T[]): T | '' =>
  allowed.includes(value as T) ? (value as T) : '';

export function readUsersState(search: string): UsersState {
  const p = new URLSearchParams(search);
  return {
    username: p.get('username') ?? '',
    name: p.get('name') ?? '',
    billing_group: p.get('billing_group') ?? '',
    status: oneOf(p.get('status'), STATUSES),
    role: oneOf(p.get('role'), ROLES),
    pagenumber: positive(p.get('pagenumber'), 1),
    pagesize: positive(p.get('pagesize'), DEFAULT_PAGE_SIZE),
    sortby: oneOf(p.get('sortby'), ['username', 'name'] as const),
    sortorder: oneOf(p.get('sortorder'), ['asc', 'desc'] as const),
  };
}

/** The URL search for a state: empty filters and the default order are left out. */
export function writeUsersState(state: UsersState): string {
  const p = new URLSearchParams();
  for (const key of ['username', 'name', 'billing_group', 'status', 'role'] as const)
    if (state[key] !== '') p.set(key, state[key]);
  p.set('pagenumber', String(state.pagenumber));
  p.set('pagesize', String(state.pagesize));
  if (state.sortby) p.set('sortby', state.sortby);
  if (state.sortorder) p.set('sortorder', state.sortorder);
  return p.toString();
}

/** The GET users query for a state (a billing group that is not an id is left to the API to refuse). */
export function usersQueryOf(state: UsersState): UsersQuery {
  const query: UsersQuery = { pagenumber: state.pagenumber, pagesize: state.pagesize };
  if (state.username) query.username = [state.username];
  if (state.name) query.name = [state.name];
  if (state.billing_group) query.billing_group = [state.billing_group.trim()];
  if (state.status) query.status = [state.status];
  if (state.role) query.role = [state.role];
  if (state.sortby) query.sortby = state.sortby;
  if (state.sortorder) query.sortorder = state.sortorder;
  return query;
}
