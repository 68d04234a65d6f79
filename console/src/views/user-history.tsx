import { useQuery } from '@tanstack/react-query';
import { listAudit } from '../api/calls';
import { problemOf } from '../api/client';
import { formatWhen } from '../components/format';
import { ProblemAlert } from '../components/problem-alert';

const HISTORY_SIZE = 50;

/** The user's audit entries, newest first (admin keys only: the audit trail needs the admin scope). */
export function UserHistory({ userId }: { userId: string }) {
  const history = useQuery({
    queryKey: ['audit', { target_id: userId }],
    queryFn: () => listAudit({ target_id: [userId], target_type: ['user'], sortorder: 'desc', pagesize: HISTORY_SIZE }),
  });
  return (
    <section aria-labelledby="history">
      <h2 id="history">History</h2>
      {history.error ? <ProblemAlert problem={problemOf(history.error)} /> : null}
      {history.data?.results.length === 0 && <p>No changes recorded.</p>}
      <ol className="history">
        {history.data?.results.map((entry) => (
          <li key={entry.audit_id}>
            <strong>{entry.action}</strong> · {formatWhen(entry.at)} · by <code>{entry.actor}</code>
            {Object.keys(entry.changes).length > 0 && <> · changed {Object.keys(entry.changes).join(', ')}</>}
          </li>
        ))}
      </ol>
    </section>
  );
}
