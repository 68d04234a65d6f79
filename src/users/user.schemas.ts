import { Type, type Static } from '@sinclair/typebox';
import { DisplayName, Nullable, PageNumber, Repeatable, StringEnum } from '../shared/typebox.js';
import { VISIBLE_CHARACTER } from '../shared/text.js';

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

const Access = Type.Object(
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
    results: Type.Array(Type.Ref(User)),
  },
  { $id: 'UsersPage' },
);

const Id = Type.String({ pattern: '^[0-9]+$', description: 'a numeric id (digits only)' });

/**
 * Distinct values of one substring parameter (`username`, `name`) of `GET users`, and of both together: each is
 * one more term tested against every candidate row (docs/security.md, cost budget).
 */
export const NEEDLES_PER_PARAMETER = 10;
export const NEEDLES_TOTAL = 16;
/** Distinct ids of one id filter (`billing_group`, `group_owner`) of `GET users`. */
const FILTER_IDS_MAX = 100;
/** Ids in one access list of a user write (docs/security.md, cost budget). */
export const ACCESS_IDS_MAX = 1000;

/** `GET users` query parameters (names are matched case-insensitively). */
export const UsersQuery = Type.Object(
  {
    pagenumber: Type.Optional(PageNumber),
    pagesize: Type.Optional(
      Type.Integer({
        minimum: 1,
        default: PAGE_SIZE_MAX,
        description: `page size; at most ${PAGE_SIZE_MAX} (larger values are served as ${PAGE_SIZE_MAX})`,
      }),
    ),
    username: Repeatable(Type.String(), 'case-insensitive substring of the username', NEEDLES_PER_PARAMETER),
    name: Repeatable(Type.String(), 'case-insensitive substring of the name', NEEDLES_PER_PARAMETER),
    status: Repeatable(StringEnum(STATUSES), 'exact status (case-insensitive)', STATUSES.length),
    role: Repeatable(StringEnum(ROLES), 'exact role (case-insensitive)', ROLES.length),
    billing_group: Repeatable(Id, 'exact billing group id in access.billing_groups', FILTER_IDS_MAX),
    group_owner: Repeatable(Id, 'exact group id in access.group_owners', FILTER_IDS_MAX),
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

// The bodies of the user writes. One schema per shape: it validates the request, types the service and
// documents the operation in OpenAPI.

export const Username = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: `^(?!\\s)(?!.*\\s$)(?!\\.{1,2}$)(?:(?!/)${VISIBLE_CHARACTER})+$`,
  description:
    '1–128 characters without "/" or control, format (invisible) or line/paragraph separator characters, without leading or trailing space, not "." or ".."; unique per organization, case-insensitively',
});

/** A person's name: a display name (1–256 characters, not blank, no control characters). */
export const PersonName = DisplayName;

const EMAIL =
  '[^\\s@\\p{Cc}"(),:;<>\\[\\]\\\\]{1,64}@(?:[\\p{L}\\p{N}](?:[\\p{L}\\p{N}-]{0,61}[\\p{L}\\p{N}])?\\.)+\\p{L}{2,63}';

export const Email = Type.String({
  maxLength: 254,
  pattern: `^${EMAIL}$`,
  description: 'a valid email address such as name@example.com',
});

const EmailOrKeptEmpty = Type.String({
  maxLength: 254,
  pattern: `^$|^${EMAIL}$`,
  description: 'a valid email address such as name@example.com ("" only to keep a user that has none without one)',
});

export const Phone = Type.String({
  maxLength: 40,
  pattern: '^$|^[ ().-]*(?:[0-9][ ().-]*){10}$',
  description: '"" or exactly 10 digits, separators " -.()" allowed (e.g. 705-722-4398)',
});

const TimestampIn = Type.String({
  maxLength: 64,
  description: 'UTC `YYYY-MM-DDTHH:MM:SS` with up to 7 fraction digits, or RFC 3339 with `Z` or an offset',
});

const Roles = Type.Array(StringEnum(ROLES), {
  minItems: 1,
  uniqueItems: true,
  description: 'one or more roles, no duplicates; kept in the order given',
});

const IdList = (what: string) =>
  Type.Array(
    Type.String({ pattern: '^[1-9][0-9]{0,14}$', description: `a ${what} id as a string of digits (e.g. "1234")` }),
    {
      uniqueItems: true,
      maxItems: ACCESS_IDS_MAX,
      description: `ids of ${what}s of this organization, no duplicates, at most ${ACCESS_IDS_MAX}; kept in the order given`,
    },
  );

const AccessIn = Type.Object(
  { billing_groups: Type.Optional(IdList('billing group')), group_owners: Type.Optional(IdList('group')) },
  { additionalProperties: false, description: 'absent lists are empty' },
);

// Server-owned fields a client may echo back from a GET on PUT or PATCH: they must not differ.
const echoes = {
  user_id: Type.Optional(Type.String({ description: "read-only: if sent, must be the user's user_id" })),
  status: Type.Optional(
    StringEnum(STATUSES, {
      description: 'read-only: if sent, must be the current status (change it with activate/deactivate)',
    }),
  ),
  last_updated_date: Type.Optional(Nullable(Type.String(), { description: 'read-only: ignored' })),
  deactivation_date: Type.Optional(Nullable(Type.String(), { description: 'read-only: ignored' })),
};

/** `POST users`. */
export const UserCreate = Type.Object(
  {
    username: Username,
    name: PersonName,
    email: Email,
    phone: Type.Optional(Phone),
    call_detail_level: StringEnum(CALL_DETAIL_LEVELS),
    restrict_recording_download: Type.Optional(Type.Boolean({ default: false })),
    last_login_date: Type.Optional(Nullable(TimestampIn)),
    roles: Roles,
    access: Type.Optional(AccessIn),
  },
  {
    $id: 'UserCreate',
    additionalProperties: false,
    description: 'A new user. Absent optional fields take their defaults ("", false, null, empty lists).',
  },
);
export type UserCreate = Static<typeof UserCreate>;

/** `PUT users/{user}`: the whole user, as for POST; read-only fields from a GET may be echoed unchanged. */
export const UserReplace = Type.Object(
  {
    username: Username,
    name: PersonName,
    email: EmailOrKeptEmpty,
    phone: Type.Optional(Phone),
    call_detail_level: StringEnum(CALL_DETAIL_LEVELS),
    restrict_recording_download: Type.Optional(Type.Boolean()),
    last_login_date: Type.Optional(Nullable(TimestampIn)),
    roles: Roles,
    access: Type.Optional(AccessIn),
    ...echoes,
  },
  {
    $id: 'UserReplace',
    additionalProperties: false,
    description: 'The whole user: absent optional fields are reset to their defaults.',
  },
);
export type UserReplace = Static<typeof UserReplace>;

/** `PATCH users/{user}`: an RFC 7396 merge patch; `null` removes (resets) an optional field; arrays replace. */
export const UserPatch = Type.Object(
  {
    username: Type.Optional(Username),
    name: Type.Optional(PersonName),
    email: Type.Optional(EmailOrKeptEmpty),
    phone: Type.Optional(Nullable(Phone)),
    call_detail_level: Type.Optional(StringEnum(CALL_DETAIL_LEVELS)),
    restrict_recording_download: Type.Optional(Nullable(Type.Boolean())),
    last_login_date: Type.Optional(Nullable(TimestampIn)),
    roles: Type.Optional(Roles),
    access: Type.Optional(
      Nullable(
        Type.Object(
          {
            billing_groups: Type.Optional(Nullable(IdList('billing group'))),
            group_owners: Type.Optional(Nullable(IdList('group'))),
          },
          { additionalProperties: false },
        ),
      ),
    ),
    ...echoes,
  },
  {
    $id: 'UserPatch',
    additionalProperties: false,
    description: 'JSON Merge Patch (RFC 7396) of the user: members present replace, `null` resets an optional field.',
  },
);
export type UserPatch = Static<typeof UserPatch>;

/** `PUT users/{user}/deactivate`: what happens to the user's groups and reports. */
export const UserDeactivation = Type.Object(
  {
    reassign_groups_to_user: Type.Optional(
      Nullable(
        Type.String({ minLength: 1, description: 'username or user_id: the groups this user owns move to that user' }),
      ),
    ),
    reassign_reports_to_user: Type.Optional(
      Nullable(
        Type.String({
          minLength: 1,
          description: 'username or user_id: recorded for the reporting side, which moves the reports',
        }),
      ),
    ),
    delete_scheduled_reports: Type.Optional(
      Type.Boolean({ description: 'recorded for the reporting side, which deletes the scheduled reports' }),
    ),
  },
  { $id: 'UserDeactivation', additionalProperties: false },
);
export type UserDeactivation = Static<typeof UserDeactivation>;

/** The writable fields of a user, after defaults: what PUT and a merged PATCH both become. */
export type UserFields = Pick<
  User,
  | 'username'
  | 'name'
  | 'email'
  | 'phone'
  | 'call_detail_level'
  | 'restrict_recording_download'
  | 'last_login_date'
  | 'roles'
  | 'access'
>;
