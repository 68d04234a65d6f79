import { Type, type Static } from '@sinclair/typebox';
import { Nullable, PageNumber, Repeatable, StringEnum } from '../shared/typebox.js';

export const ROLES = [
  'administrator',
  'org_group_admin',
  'ordering',
  'reporting',
  'browse_inventory',
  'view_stop_call_data',
  'call_record_listen',
  'rescue',
] as const;
export type Role = (typeof ROLES)[number];

export const STATUSES = ['awaiting_approval', 'activated', 'deactivated'] as const;
export type UserStatus = (typeof STATUSES)[number];

export const CALL_DETAIL_LEVELS = ['full', 'no_caller', 'no_call'] as const;
export type CallDetailLevel = (typeof CALL_DETAIL_LEVELS)[number];

export const SORT_FIELDS = ['username', 'name', 'last_login_date', 'last_updated_date'] as const;
export type SortField = (typeof SORT_FIELDS)[number];

export const PAGE_SIZE_MAX = 10000;

const Timestamp = Type.String({
  description: 'UTC, `YYYY-MM-DDTHH:MM:SS` with up to 7 fraction digits, e.g. 2016-03-03T16:13:59.1917141',
  examples: ['2016-03-03T16:13:59.1917141'],
});

export const Access = Type.Object(
  {
    billing_groups: Type.Array(Type.String(), { description: 'ids of billing groups whose data the user may access' }),
    group_owners: Type.Array(Type.String(), { description: 'ids of groups (advertisers) the user owns' }),
  },
  { additionalProperties: false },
);

/** The user object, keys in the contract's order. */
export const User = Type.Object(
  {
    user_id: Type.String({ format: 'uuid' }),
    username: Type.String(),
    name: Type.String(),
    email: Type.String(),
    phone: Type.String(),
    call_detail_level: StringEnum(CALL_DETAIL_LEVELS),
    restrict_recording_download: Type.Boolean(),
    status: StringEnum(STATUSES),
    last_login_date: Nullable(Timestamp),
    last_updated_date: Timestamp,
    deactivation_date: Type.Optional({ ...Timestamp, description: 'present only while status is deactivated' }),
    roles: Type.Array(StringEnum(ROLES)),
    access: Access,
  },
  { $id: 'User' },
);
export type User = Static<typeof User>;

export const UsersPage = Type.Object(
  {
    paging: Type.Object({
      pageNumber: Type.Integer(),
      pageSize: Type.Integer(),
      total: Type.Integer({ description: 'every user that matches' }),
    }),
    results: Type.Array(Type.Ref('User')),
  },
  { $id: 'UsersPage' },
);
export type UsersPage = { paging: { pageNumber: number; pageSize: number; total: number }; results: User[] };

const Id = Type.String({ pattern: '^[0-9]+$', description: 'a numeric id (digits only)' });

/** `GET users` query parameters (names are matched case-insensitively). */
export const UsersQuery = Type.Object(
  {
    pagenumber: Type.Optional(PageNumber),
    pagesize: Type.Optional(Type.Integer({ minimum: 1, default: PAGE_SIZE_MAX, description: `page size; at most ${PAGE_SIZE_MAX} (larger values are served as ${PAGE_SIZE_MAX})` })),
    username: Repeatable(Type.String(), 'case-insensitive substring of the username'),
    name: Repeatable(Type.String(), 'case-insensitive substring of the name'),
    status: Repeatable(StringEnum(STATUSES), 'exact status (case-insensitive)'),
    role: Repeatable(StringEnum(ROLES), 'exact role (case-insensitive)'),
    billing_group: Repeatable(Id, 'exact billing group id in access.billing_groups'),
    group_owner: Repeatable(Id, 'exact group id in access.group_owners'),
    sortby: Type.Optional(StringEnum(SORT_FIELDS, { default: 'username' })),
    sortorder: Type.Optional(StringEnum(['asc', 'desc'] as const, { default: 'asc' })),
  },
  { additionalProperties: false },
);
export type UsersQuery = Static<typeof UsersQuery>;

export const UserParams = Type.Object({
  user: Type.String({ minLength: 1, description: 'a user_id or a username (URL-encoded)' }),
});
export type UserParams = Static<typeof UserParams>;
