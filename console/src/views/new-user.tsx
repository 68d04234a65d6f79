import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useLocation } from 'wouter';
import { createUser } from '../api/calls';
import { problemOf } from '../api/client';
import { canWrite, useMe } from '../app';
import { useTitle } from '../components/use-title';
import { EMPTY_USER, UserForm, type UserFormValues } from './user-form';

/** /console/new-user (outside /users/, so no username can collide with it): the user form with Username. */
export function NewUserView() {
  useTitle('New user');
  const me = useMe();
  const [, navigate] = useLocation();
  const queryClient = useQueryClient();
  const create = useMutation({
    mutationFn: (values: UserFormValues) => createUser(values),
    onSuccess: ({ user, etag }) => {
      queryClient.setQueryData(['user', user.user_id], { user, etag });
      void queryClient.invalidateQueries({ queryKey: ['users'] });
      navigate(`/users/${user.user_id}`);
    },
  });
  return (
    <>
      <h1>New user</h1>
      {me === null ? (
        <p role="status">Loading…</p>
      ) : canWrite(me) ? (
        <>
          <p>The new user awaits approval until someone activates them.</p>
          <UserForm
            mode="create"
            initial={EMPTY_USER}
            busy={create.isPending}
            problem={create.error ? problemOf(create.error) : null}
            onSubmit={(values) => create.mutate(values)}
            onCancel={() => history.back()}
          />
        </>
      ) : (
        <p role="alert">Creating users needs a key with the write or admin scope; this key has the read scope.</p>
      )}
    </>
  );
}
