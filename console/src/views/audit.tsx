import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect } from 'react';
import { Link, useLocation, useSearch } from 'wouter';
import { listAudit, type AuditQuery } from '../api/calls';
import { problemOf, type AuditEntry } from '../api/client';
import { isAdmin, useMe } from '../app';
import { countOf, formatWhen } from '../components/format';
import { Pager } from '../components/pager';
import { ProblemAlert } from '../components/problem-alert';
import { useDebounced } from '../components/use-debounced';
import { useTypedFromUrl } from '../components/use-typed-from-url';
import { useTitle } from '../components/use-title';
import { DEFAULT_PAGE_SIZE } from './users.state';

const TARGET_TYPES = ['user', 'billing_group', 'group', 'api_key'] as const;
const TEXT = ['action', 'target_id', 'since', 'until'] as const;
type Text = (typeof TEXT)[number];
const LABELS: Record<Text, string> = { action: 'Action', target_id: 'Target ID', since: 'Since', until: 'Until' };

/** The URL's state with the API's parameter names; the console shows the newest entries first by default. */
function readState(search: string) {
  const p = new URLSearchParams(search);
  const n = (name: string, fallback: number) => {
    const v = Number(p.get(name));
    return Number.isInteger(v) && v >= 1 ? v : fallback;
  };
  return {
    action: p.get('action') ?? '',
    target_id: p.get('target_id') ?? '',
    since: p.get('since') ?? '',
    until: p.get('until') ?? '',
    target_type: p.get('target_type') ?? '',
    sortorder: p.get('sortorder') === 'asc' ? 'asc' : 'desc',
    pagenumber: n('pagenumber', 1),
    pagesize: n('pagesize', DEFAULT_PAGE_SIZE),
  };
}
type AuditState = ReturnType<typeof readState>;

function queryOf(s: AuditState): AuditQuery {
  const q: AuditQuery = { pagenumber: s.pagenumber, pagesize: s.pagesize, sortorder: s.sortorder as 'asc' | 'desc' };
  if (s.action) q.action = [s.action];
  if (s.target_id) q.target_id = [s.target_id];
  if (s.since) q.since = s.since;
  if (s.until) q.until = s.until;
  if (TARGET_TYPES.includes(s.target_type as (typeof TARGET_TYPES)[number]))
    q.target_type = [s.target_type as (typeof TARGET_TYPES)[number]];
  return q;
}

function writeState(s: AuditState): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(s)) if (v !== '') p.set(k, String(v));
  return p.toString();
}

function Target({ entry }: { entry: AuditEntry }) {
  if (entry.target_type === 'user') return <Link href={`/users/${entry.target_id}`}>user {entry.target_id}</Link>;
  return <>{`${entry.target_type.replace('_', ' ')} ${entry.target_id}`}</>;
}

function AuditTrail() {
  const search = useSearch();
  const [, navigate] = useLocation();
  const state = readState(search);
  const [typed, setTyped] = useTypedFromUrl(Object.fromEntries(TEXT.map((k) => [k, state[k]])) as Record<Text, string>);
  const settled = useDebounced(typed, 400);
  const go = (next: AuditState, replace: boolean) => {
    const target = `/audit?${writeState(next)}`;
    if (`/audit?${search}` !== target) navigate(target, { replace });
  };
  const apply = (changes: Partial<AuditState>) => go({ ...state, ...typed, ...changes, pagenumber: 1 }, true);
  useEffect(() => {
    if (TEXT.some((k) => settled[k] !== state[k])) apply(settled);
  }, [settled]);

  const query = queryOf(state);
  const entries = useQuery({
    queryKey: ['audit', query],
    queryFn: () => listAudit(query),
    placeholderData: keepPreviousData,
  });
  const total = entries.data?.paging.total ?? 0;

  return (
    <>
      <form
        role="search"
        aria-label="Filter the audit trail"
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          apply({});
        }}
      >
        {TEXT.map((k) => (
          <label key={k}>
            {LABELS[k]}
            <input
              type="text"
              value={typed[k]}
              placeholder={k === 'since' || k === 'until' ? '2026-01-31T00:00:00' : undefined}
              onChange={(e) => setTyped({ ...typed, [k]: e.target.value })}
            />
          </label>
        ))}
        <label>
          Target type
          <select value={state.target_type} onChange={(e) => apply({ target_type: e.target.value })}>
            <option value="">any</option>
            {TARGET_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label>
          Order
          <select value={state.sortorder} onChange={(e) => apply({ sortorder: e.target.value })}>
            <option value="desc">newest first</option>
            <option value="asc">oldest first</option>
          </select>
        </label>
        <button type="submit">Search</button>
      </form>
      {entries.error ? <ProblemAlert problem={problemOf(entries.error)} /> : null}
      <p role="status" className="total">
        {entries.data ? countOf(total, 'entry', 'entries') : 'Loading…'}
      </p>
      <table aria-label="Audit entries" aria-busy={entries.isFetching}>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Key prefix</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">Changed</th>
          </tr>
        </thead>
        <tbody>
          {entries.data?.results.map((entry) => (
            <tr key={entry.audit_id}>
              <td>{formatWhen(entry.at)}</td>
              <td>
                <code>{entry.actor}</code>
              </td>
              <td>{entry.action}</td>
              <td>
                <Target entry={entry} />
              </td>
              <td>{Object.keys(entry.changes).join(', ')}</td>
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

/** /console/audit: the audit trail, paged and filtered, for admin keys; others learn which scope it needs. */
export function AuditView() {
  useTitle('Audit');
  const me = useMe();
  return (
    <>
      <h1>Audit</h1>
      {me === null ? (
        <p role="status">Loading…</p>
      ) : isAdmin(me) ? (
        <AuditTrail />
      ) : (
        <p role="alert" className="alert">
          The audit trail needs a key with the admin scope; this key ({me.key_prefix}) has the {me.scope} scope. Sign
          out and sign in with an admin key of {me.organization} to see it.
        </p>
      )}
    </>
  );
}
