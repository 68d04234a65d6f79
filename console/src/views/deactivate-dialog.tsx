import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { deactivateUser, listUsers, type TaggedUser } from '../api/calls';
import { problemOf, type User } from '../api/client';
import { Modal } from '../components/modal';
import { ProblemAlert } from '../components/problem-alert';
import { useDebounced } from '../components/use-debounced';

const PICKER_SIZE = 10;

/** Groups go to someone who can use them: deactivated users are not offered. */
const HEIRS: Array<'activated' | 'awaiting_approval'> = ['activated', 'awaiting_approval'];

interface DeactivateDialogProps {
  readonly current: TaggedUser;
  readonly onClose: () => void;
  readonly onDone: (updated: TaggedUser) => void;
}

/** Deactivate: whom the user's groups go to (a searchable list of the organization's other users), and their reports. */
export function DeactivateDialog({ current, onClose, onDone }: DeactivateDialogProps) {
  const ids = { title: useId(), picker: useId(), list: useId(), reports: useId(), hint: useId() };
  const queryClient = useQueryClient();
  const [assignee, setAssignee] = useState('');
  const [deleteReports, setDeleteReports] = useState(false);
  const search = useDebounced(assignee.trim(), 250);
  const pickerQuery = { username: [search], status: HEIRS, pagesize: PICKER_SIZE };
  const candidates = useQuery({ queryKey: ['users', pickerQuery], queryFn: () => listUsers(pickerQuery) });
  const others = (candidates.data?.results ?? []).filter((u: User) => u.user_id !== current.user.user_id);

  const deactivate = useMutation({
    mutationFn: () =>
      deactivateUser(current.user.user_id, current.etag, {
        reassign_groups_to_user: assignee.trim() === '' ? null : assignee.trim(),
        delete_scheduled_reports: deleteReports,
      }),
    onSuccess: (updated) => {
      void queryClient.invalidateQueries({ queryKey: ['users'] });
      onDone(updated);
    },
  });

  return (
    <Modal title={`Deactivate ${current.user.name}`} titleId={ids.title} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          deactivate.mutate();
        }}
      >
        <ProblemAlert problem={deactivate.error ? problemOf(deactivate.error) : null} />
        <div className="field">
          <label htmlFor={ids.picker}>Reassign groups to</label>
          <input
            id={ids.picker}
            type="text"
            list={ids.list}
            autoComplete="off"
            value={assignee}
            aria-describedby={ids.hint}
            onChange={(e) => setAssignee(e.target.value)}
          />
          <datalist id={ids.list}>
            {others.map((u) => (
              <option key={u.user_id} value={u.username}>
                {u.name}
              </option>
            ))}
          </datalist>
          <p id={ids.hint} className="hint">
            Type to search this organization&apos;s users by username; leave empty to keep the groups unowned.
          </p>
        </div>
        <label className="check">
          <input type="checkbox" checked={deleteReports} onChange={(e) => setDeleteReports(e.target.checked)} />
          Delete scheduled reports
        </label>
        <div className="actions">
          <button type="submit" disabled={deactivate.isPending}>
            Deactivate
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
