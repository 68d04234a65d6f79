import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { activateUser, getUser, listBillingGroups, listGroups, updateUser, type TaggedUser } from '../api/calls';
import { ApiError, problemOf, type User } from '../api/client';
import { canWrite, isAdmin, useMe } from '../app';
import { formatWhen } from '../components/format';
import { ProblemAlert } from '../components/problem-alert';
import { useTitle } from '../components/use-title';
import { DeactivateDialog } from './deactivate-dialog';
import { formValuesOf, UserForm, type UserFormValues } from './user-form';
import { UserHistory } from './user-history';

const isConflict = (error: unknown) => error instanceof ApiError && error.status === 412;

/** The names of the user's billing groups and groups (both lists are small and cached for every user page). */
function useAccessNames(user: User | undefined) {
  const billingGroups = useQuery({ queryKey: ['billing-groups'], queryFn: listBillingGroups, enabled: !!user });
  const groups = useQuery({ queryKey: ['groups'], queryFn: listGroups, enabled: !!user });
  const bgName = new Map(billingGroups.data?.map((b) => [String(b.billing_group_id), b.billing_group_name]));
  const groupName = new Map(groups.data?.map((g) => [String(g.group_id), g.group_name]));
  return {
    billingGroups:
      user?.access.billing_groups.map((id) => ({ id, name: bgName.get(id) ?? `billing group ${id}` })) ?? [],
    groups: user?.access.group_owners.map((id) => ({ id, name: groupName.get(id) ?? `group ${id}` })) ?? [],
  };
}

/** /console/users/{user_id or username}: every field, Edit, Activate, Deactivate and the History. */
export function UserView({ userRef }: { userRef: string }) {
  const me = useMe();
  const queryClient = useQueryClient();
  const key = ['user', userRef];
  const current = useQuery({ queryKey: key, queryFn: () => getUser(userRef) });
  const user = current.data?.user;
  useTitle(user?.name ?? 'User');
  const access = useAccessNames(user);
  const [editing, setEditing] = useState(false);
  const [deactivating, setDeactivating] = useState(false);
  const [formKey, setFormKey] = useState(0);

  const landed = (updated: TaggedUser) => {
    queryClient.setQueryData(key, updated);
    void queryClient.invalidateQueries({ queryKey: ['users'] });
    void queryClient.invalidateQueries({ queryKey: ['audit'] });
  };
  const save = useMutation({
    mutationFn: (values: UserFormValues) =>
      updateUser(current.data!.user.user_id, current.data!.etag, {
        name: values.name,
        email: values.email,
        phone: values.phone,
        call_detail_level: values.call_detail_level,
        roles: values.roles,
        restrict_recording_download: values.restrict_recording_download,
      }),
    onSuccess: (updated) => {
      landed(updated);
      setEditing(false);
    },
  });
  const activate = useMutation({
    mutationFn: () => activateUser(current.data!.user.user_id, current.data!.etag),
    onSuccess: landed,
  });

  const reload = async () => {
    await current.refetch();
    save.reset();
    activate.reset();
    setFormKey((k) => k + 1);
  };

  if (current.error) return <ProblemAlert problem={problemOf(current.error)} />;
  if (!user || !current.data) return <p role="status">Loading…</p>;
  const writer = canWrite(me);

  const fields: Array<[string, React.ReactNode]> = [
    ['User ID', <code>{user.user_id}</code>],
    ['Username', user.username],
    ['Name', user.name],
    ['Email', user.email || '(none)'],
    ['Phone', user.phone || '(none)'],
    ['Status', user.status],
    ['Roles', user.roles.join(', ')],
    ['Call detail level', user.call_detail_level],
    ['Restrict recording download', user.restrict_recording_download ? 'yes' : 'no'],
    ['Last login', formatWhen(user.last_login_date)],
    ['Last updated', formatWhen(user.last_updated_date)],
    ...(user.deactivation_date ? [['Deactivated', formatWhen(user.deactivation_date)] as [string, string]] : []),
  ];

  const conflict = (
    <button type="button" onClick={() => void reload()}>
      Reload
    </button>
  );
  const conflictProblem = (error: unknown) =>
    isConflict(error)
      ? {
          ...problemOf(error),
          detail: `Someone else changed this user since you opened it. Reload to see their changes, then make yours again. (${problemOf(error).detail})`,
        }
      : problemOf(error);

  return (
    <article>
      <h1>{user.name}</h1>
      {writer && !editing && (
        <div className="actions">
          <button type="button" onClick={() => setEditing(true)}>
            Edit
          </button>
          {user.status !== 'activated' && (
            <button type="button" onClick={() => activate.mutate()} disabled={activate.isPending}>
              Activate
            </button>
          )}
          {user.status !== 'deactivated' && (
            <button type="button" onClick={() => setDeactivating(true)}>
              Deactivate
            </button>
          )}
        </div>
      )}
      {activate.error ? (
        <ProblemAlert problem={conflictProblem(activate.error)}>{isConflict(activate.error) && conflict}</ProblemAlert>
      ) : null}
      {editing ? (
        <section aria-labelledby="edit-heading">
          <h2 id="edit-heading">Edit</h2>
          <UserForm
            key={formKey}
            mode="edit"
            initial={formValuesOf(user)}
            busy={save.isPending}
            problem={save.error ? conflictProblem(save.error) : null}
            alertAction={isConflict(save.error) && conflict}
            onSubmit={(values) => save.mutate(values)}
            onCancel={() => {
              save.reset();
              setEditing(false);
            }}
          />
        </section>
      ) : (
        <dl className="fields">
          {fields.map(([label, value]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      )}
      <section aria-labelledby="access-billing-groups">
        <h2 id="access-billing-groups">Billing groups</h2>
        {access.billingGroups.length === 0 ? (
          <p>None</p>
        ) : (
          <ul>
            {access.billingGroups.map((b) => (
              <li key={b.id}>
                {b.name} <span className="muted">(id {b.id})</span>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="access-groups">
        <h2 id="access-groups">Groups owned</h2>
        {access.groups.length === 0 ? (
          <p>None</p>
        ) : (
          <ul>
            {access.groups.map((g) => (
              <li key={g.id}>
                {g.name} <span className="muted">(id {g.id})</span>
              </li>
            ))}
          </ul>
        )}
      </section>
      {isAdmin(me) && <UserHistory userId={user.user_id} />}
      {deactivating && (
        <DeactivateDialog
          current={current.data}
          onClose={() => setDeactivating(false)}
          onDone={(updated) => {
            landed(updated);
            setDeactivating(false);
          }}
        />
      )}
    </article>
  );
}
