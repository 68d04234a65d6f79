import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { Link, useLocation, useSearch } from 'wouter';
import { listUsers } from '../api/calls';
import { problemOf } from '../api/client';
import { canWrite, useMe } from '../app';
import { countOf, formatWhen } from '../components/format';
import { Pager } from '../components/pager';
import { ProblemAlert } from '../components/problem-alert';
import { useDebounced } from '../components/use-debounced';
import { useTypedFromUrl } from '../components/use-typed-from-url';
import { useTitle } from '../components/use-title';
import { ROLES, STATUSES, readUsersState, usersQueryOf, writeUsersState, type UsersState } from './users.state';

/** How long typing must pause before the filters apply (Enter applies at once). */
const TYPING_DEBOUNCE_MS = 300;

type TextFilter = 'username' | 'name' | 'billing_group';
const TEXT_FILTERS: ReadonlyArray<{ key: TextFilter; label: string }> = [
  { key: 'username', label: 'Username' },
  { key: 'name', label: 'Name' },
  { key: 'billing_group', label: 'Billing group' },
];

function SortHeader({
  field,
  label,
  state,
  onSort,
}: {
  field: 'username' | 'name';
  label: string;
  state: UsersState;
  onSort: (field: 'username' | 'name') => void;
}) {
  const sortedBy = state.sortby || 'username';
  const order = state.sortorder || 'asc';
  const sorted = sortedBy === field;
  return (
    <th scope="col" aria-sort={sorted ? (order === 'asc' ? 'ascending' : 'descending') : 'none'}>
      <button type="button" className="sort" onClick={() => onSort(field)}>
        {label}
        <span aria-hidden="true">{sorted ? (order === 'asc' ? ' ▲' : ' ▼') : ''}</span>
      </button>
    </th>
  );
}

/** /console/users: search, sort and page the organization's users; the URL holds the whole state. */
export function UsersView() {
  useTitle('Users');
  const me = useMe();
  const search = useSearch();
  const [, navigate] = useLocation();
  const queryClient = useQueryClient();
  const state = readUsersState(search);

  // Text filters follow the URL (Back, Forward, a pasted link) and push their own changes, debounced.
  const [typed, setTyped] = useTypedFromUrl({
    username: state.username,
    name: state.name,
    billing_group: state.billing_group,
  });
  const settled = useDebounced(typed, TYPING_DEBOUNCE_MS);

  const go = (next: UsersState, replace: boolean) => {
    const target = `/users?${writeUsersState(next)}`;
    if (`/users?${search}` !== target) navigate(target, { replace });
  };
  const applyFilters = (filters: Partial<UsersState>) => go({ ...state, ...filters, pagenumber: 1 }, true);

  useEffect(() => {
    if (
      settled.username !== state.username ||
      settled.name !== state.name ||
      settled.billing_group !== state.billing_group
    )
      applyFilters(settled);
    // Only a settled change of the typed text applies; the URL moving on its own must not re-apply old text.
  }, [settled]);

  const query = usersQueryOf(state);
  const users = useQuery({
    queryKey: ['users', query],
    queryFn: () => listUsers(query),
    placeholderData: keepPreviousData,
  });
  const total = users.data?.paging.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / state.pagesize));

  // The next page is usually where a person goes: fetch it while they read this one.
  useEffect(() => {
    if (!users.data || state.pagenumber >= pages) return;
    const next = usersQueryOf({ ...state, pagenumber: state.pagenumber + 1 });
    void queryClient.prefetchQuery({ queryKey: ['users', next], queryFn: () => listUsers(next) });
  }, [users.data, search]);

  const sort = (field: 'username' | 'name') => {
    const current = state.sortby || 'username';
    const order = current === field && (state.sortorder || 'asc') === 'asc' ? 'desc' : 'asc';
    go({ ...state, sortby: field, sortorder: order, pagenumber: 1 }, false);
  };

  return (
    <>
      <div className="title-row">
        <h1>Users</h1>
        {canWrite(me) && (
          <button type="button" onClick={() => navigate('/new-user')}>
            New user
          </button>
        )}
      </div>
      <form
        role="search"
        className="filters"
        aria-label="Search users"
        onSubmit={(e) => {
          e.preventDefault();
          applyFilters(typed);
        }}
      >
        {TEXT_FILTERS.map(({ key, label }) => (
          <label key={key}>
            {label}
            <input
              type="text"
              inputMode={key === 'billing_group' ? 'numeric' : undefined}
              value={typed[key]}
              onChange={(e) => setTyped({ ...typed, [key]: e.target.value })}
            />
          </label>
        ))}
        <label>
          Status
          <select
            value={state.status}
            onChange={(e) => applyFilters({ ...typed, status: e.target.value as UsersState['status'] })}
          >
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Role
          <select
            value={state.role}
            onChange={(e) => applyFilters({ ...typed, role: e.target.value as UsersState['role'] })}
          >
            <option value="">any</option>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Search</button>
      </form>

      {users.error ? <ProblemAlert problem={problemOf(users.error)} /> : null}
      <p role="status" className="total">
        {users.data ? countOf(total, 'user') : 'Loading users…'}
      </p>
      <table aria-label="Users" aria-busy={users.isFetching}>
        <thead>
          <tr>
            <SortHeader field="username" label="Username" state={state} onSort={sort} />
            <SortHeader field="name" label="Name" state={state} onSort={sort} />
            <th scope="col">Email</th>
            <th scope="col">Status</th>
            <th scope="col">Roles</th>
            <th scope="col">Last login</th>
          </tr>
        </thead>
        <tbody>
          {users.data?.results.map((user) => (
            <tr key={user.user_id}>
              <td>
                <Link href={`/users/${encodeURIComponent(user.username)}`}>{user.username}</Link>
              </td>
              <td>{user.name}</td>
              <td>{user.email}</td>
              <td>{user.status}</td>
              <td>{user.roles.join(', ')}</td>
              <td>{formatWhen(user.last_login_date)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager
        page={state.pagenumber}
        pageSize={state.pagesize}
        total={total}
        onPage={(page) => go({ ...state, pagenumber: page }, false)}
        onPageSize={(size) => go({ ...state, pagesize: size, pagenumber: 1 }, false)}
      />
    </>
  );
}
