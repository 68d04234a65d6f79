import { Type, type Static } from '@sinclair/typebox';
import { Nullable, PageNumber, Repeatable, StringEnum } from '../shared/typebox.js';

export const TARGET_TYPES = ['user', 'billing_group', 'group', 'api_key'] as const;

/** Largest page of `GET audit` (as for `GET users`): larger sizes are served as this. */
export const AUDIT_PAGE_SIZE_MAX = 10000;

/** Distinct values of one repeatable filter of `GET audit` (docs/security.md, cost budget). */
const AUDIT_FILTER_VALUES_MAX = 100;

const Timestamp = Type.String({ description: 'UTC, `YYYY-MM-DDTHH:MM:SS` with up to 7 fraction digits' });

/** One audit entry: who changed what, when, with the fields' values before and after. */
export const AuditEntry = Type.Object(
  {
    audit_id: Type.Integer({
      description: "the entry's number within its organization: 1, 2, 3…, one more with each of its entries",
    }),
    at: Timestamp,
    actor: Type.String({
      description: "the acting API key's public prefix (never the key), or `cli` for the command line",
    }),
    actor_key_id: Nullable(Type.Integer(), { description: "the acting API key's id; null for the command line" }),
    request_id: Nullable(Type.String(), {
      description:
        "the server's own request id of the write (its X-Request-Id answer header and its log lines), when it came through the API",
    }),
    via: Type.Optional(
      Type.Literal('scim', { description: 'present when the write came through SCIM (/scim/v2) rather than the API' }),
    ),
    action: Type.String({
      examples: [
        'user.create',
        'user.patch',
        'user.deactivate',
        'billing_group.create',
        'group.update',
        'key.create',
        'key.revoke',
      ],
    }),
    target_type: StringEnum(TARGET_TYPES),
    target_id: Type.String({ description: 'user_id, billing group id, group id or API key id' }),
    changes: Type.Record(Type.String(), Type.Object({ before: Type.Unknown(), after: Type.Unknown() }), {
      description: 'every field the write changed, with its value before and after (null when absent)',
    }),
  },
  { $id: 'AuditEntry' },
);
export type AuditEntry = Static<typeof AuditEntry>;

export const AuditPage = Type.Object(
  {
    paging: Type.Object({
      pageNumber: Type.Integer(),
      pageSize: Type.Integer(),
      total: Type.Integer({ description: 'every entry that matches' }),
    }),
    results: Type.Array(Type.Ref(AuditEntry)),
  },
  { $id: 'AuditPage' },
);
export type AuditPage = Static<typeof AuditPage>;

/** `GET audit` query parameters (names are matched case-insensitively). */
export const AuditQuery = Type.Object(
  {
    pagenumber: Type.Optional(PageNumber),
    pagesize: Type.Optional(
      Type.Integer({
        minimum: 1,
        default: AUDIT_PAGE_SIZE_MAX,
        description: `page size; at most ${AUDIT_PAGE_SIZE_MAX} (larger values are served as ${AUDIT_PAGE_SIZE_MAX})`,
      }),
    ),
    target_id: Repeatable(
      Type.String(),
      'exact target id (a user_id, billing group id, group id or API key id)',
      AUDIT_FILTER_VALUES_MAX,
    ),
    action: Repeatable(Type.String(), 'exact action, e.g. user.create', AUDIT_FILTER_VALUES_MAX),
    target_type: Repeatable(StringEnum(TARGET_TYPES), 'exact target type', TARGET_TYPES.length),
    since: Type.Optional(
      Type.String({
        description: "entries at or after this time (the seed's timestamp form, or RFC 3339 with Z or an offset)",
      }),
    ),
    until: Type.Optional(Type.String({ description: 'entries before this time (same forms as since)' })),
    sortorder: Type.Optional(
      StringEnum(['asc', 'desc'] as const, {
        default: 'asc',
        description: 'asc: oldest first (the default); desc: newest first',
      }),
    ),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

export const AuditParams = Type.Object({
  audit_id: Type.String({ pattern: '^[0-9]{1,15}$', description: 'an audit entry id (a number)' }),
});
export type AuditParams = Static<typeof AuditParams>;
