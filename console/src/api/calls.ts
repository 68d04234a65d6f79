// One function per API call the console makes, each returning plain data (or throwing ApiError).
import { api, unwrap, type AuditPage, type UserCreate, type UserPatch, type UsersPage, type User } from './client';
import type { paths } from './schema';

export type UsersQuery = NonNullable<paths['/api/v1/users']['get']['parameters']['query']>;
export type AuditQuery = NonNullable<paths['/api/v1/audit']['get']['parameters']['query']>;

/** A user with the ETag of this read: writes send it back in If-Match. */
export interface TaggedUser {
  readonly user: User;
  readonly etag: string;
}

const tagged = (result: { data?: User; error?: unknown; response: Response }): TaggedUser => ({
  user: unwrap(result),
  etag: result.response.headers.get('etag') ?? '*',
});

export const getMe = async (key?: string) =>
  unwrap(await api.GET('/api/v1/me', key ? { headers: { authorization: `Bearer ${key}` } } : {}));

export const listUsers = async (query: UsersQuery): Promise<UsersPage> =>
  unwrap(await api.GET('/api/v1/users', { params: { query } })) as UsersPage;

export const getUser = async (user: string) =>
  tagged(await api.GET('/api/v1/users/{user}', { params: { path: { user } } }));

export const createUser = async (body: UserCreate) => tagged(await api.POST('/api/v1/users', { body }));

export const updateUser = async (user: string, etag: string, body: UserPatch) =>
  tagged(await api.PATCH('/api/v1/users/{user}', { params: { path: { user }, header: { 'if-match': etag } }, body }));

export const activateUser = async (user: string, etag: string) =>
  tagged(
    await api.PUT('/api/v1/users/{user}/activate', {
      params: { path: { user }, header: { 'if-match': etag } },
      body: {},
    }),
  );

export const deactivateUser = async (
  user: string,
  etag: string,
  body: { reassign_groups_to_user: string | null; delete_scheduled_reports: boolean },
) =>
  tagged(
    await api.PUT('/api/v1/users/{user}/deactivate', {
      params: { path: { user }, header: { 'if-match': etag } },
      body,
    }),
  );

export const listBillingGroups = async () => unwrap(await api.GET('/api/v1/billinggroups'));

export const listGroups = async () => unwrap(await api.GET('/api/v1/groups'));

export const createBillingGroup = async (name: string, parentId: number | null) =>
  parentId === null
    ? unwrap(await api.POST('/api/v1/billinggroups', { body: { billing_group_name: name, status: 'active' } }))
    : unwrap(
        await api.POST('/api/v1/billinggroups/{id}', {
          params: { path: { id: String(parentId) } },
          body: { billing_group_name: name, status: 'active' },
        }),
      );

export const createGroup = async (name: string, billingGroupId: number) =>
  unwrap(
    await api.POST('/api/v1/groups', {
      body: { group_name: name, billing_group_id: billingGroupId, status: 'active' },
    }),
  );

export const listAudit = async (query: AuditQuery): Promise<AuditPage> =>
  unwrap(await api.GET('/api/v1/audit', { params: { query } }));
