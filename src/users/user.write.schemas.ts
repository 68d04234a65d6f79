import { Type, type Static } from '@sinclair/typebox';
import { DisplayName, Nullable, StringEnum } from '../shared/typebox.js';
import { CALL_DETAIL_LEVELS, ROLES, STATUSES } from './user.schemas.js';

/**
 * The bodies of the user writes. One schema per shape: it validates the
 * request, types the service and documents the operation in OpenAPI.
 */

export const Username = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^(?!\\s)(?!.*\\s$)(?!\\.{1,2}$)[^\\p{Cc}/]+$',
  description: '1–128 characters without control characters or "/", without leading or trailing space, not "." or ".."; unique per organization, case-insensitively',
});

export const PersonName = DisplayName;

const EMAIL = '[^\\s@\\p{Cc}"(),:;<>\\[\\]\\\\]{1,64}@(?:[\\p{L}\\p{N}](?:[\\p{L}\\p{N}-]{0,61}[\\p{L}\\p{N}])?\\.)+\\p{L}{2,63}';

export const Email = Type.String({ maxLength: 254, pattern: `^${EMAIL}$`, description: 'a valid email address such as name@example.com' });

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

const Roles = Type.Array(StringEnum(ROLES), { minItems: 1, uniqueItems: true, description: 'one or more roles, no duplicates; kept in the order given' });

const IdList = (what: string) =>
  Type.Array(Type.String({ pattern: '^[1-9][0-9]{0,14}$', description: `a ${what} id as a string of digits (e.g. "1234")` }), {
    uniqueItems: true,
    description: `ids of ${what}s of this organization, no duplicates; kept in the order given`,
  });

const AccessIn = Type.Object(
  { billing_groups: Type.Optional(IdList('billing group')), group_owners: Type.Optional(IdList('group')) },
  { additionalProperties: false, description: 'absent lists are empty' },
);

// Server-owned fields a client may echo back from a GET on PUT or PATCH: they must not differ.
const echoes = {
  user_id: Type.Optional(Type.String({ description: 'read-only: if sent, must be the user\'s user_id' })),
  status: Type.Optional(StringEnum(STATUSES, { description: 'read-only: if sent, must be the current status (change it with activate/deactivate)' })),
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
  { $id: 'UserCreate', additionalProperties: false, description: 'A new user. Absent optional fields take their defaults ("", false, null, empty lists).' },
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
  { $id: 'UserReplace', additionalProperties: false, description: 'The whole user: absent optional fields are reset to their defaults.' },
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
          { billing_groups: Type.Optional(Nullable(IdList('billing group'))), group_owners: Type.Optional(Nullable(IdList('group'))) },
          { additionalProperties: false },
        ),
      ),
    ),
    ...echoes,
  },
  { $id: 'UserPatch', additionalProperties: false, description: 'JSON Merge Patch (RFC 7396) of the user: members present replace, `null` resets an optional field.' },
);
export type UserPatch = Static<typeof UserPatch>;

/** `PUT users/{user}/deactivate`: what happens to the user's groups and reports. */
export const UserDeactivation = Type.Object(
  {
    reassign_groups_to_user: Type.Optional(
      Nullable(Type.String({ minLength: 1, description: 'username or user_id: the groups this user owns move to that user' })),
    ),
    reassign_reports_to_user: Type.Optional(
      Nullable(Type.String({ minLength: 1, description: 'username or user_id: recorded for the reporting side, which moves the reports' })),
    ),
    delete_scheduled_reports: Type.Optional(Type.Boolean({ description: 'recorded for the reporting side, which deletes the scheduled reports' })),
  },
  { $id: 'UserDeactivation', additionalProperties: false },
);
export type UserDeactivation = Static<typeof UserDeactivation>;

/** The writable fields of a user, after defaults: what PUT and a merged PATCH both become. */
export interface UserFields {
  username: string;
  name: string;
  email: string;
  phone: string;
  call_detail_level: (typeof CALL_DETAIL_LEVELS)[number];
  restrict_recording_download: boolean;
  last_login_date: string | null;
  roles: (typeof ROLES)[number][];
  access: { billing_groups: string[]; group_owners: string[] };
}
