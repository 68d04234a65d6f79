import type { ColumnType, Generated, Insertable, Kysely, QueryCreator, Selectable, UpdateQueryBuilder } from 'kysely';

/** Timestamps are stored as fixed-width text, see shared/timestamps.ts. */
type Stamp = string;

export interface OrganizationsTable {
  id: Generated<number>;
  name: string;
  created_at: Stamp;
  /** Bumped by every write to the organization's directory: the key of any per-organization cache. */
  write_version: ColumnType<number, number | undefined, number>;
  /** The number of the organization's last audit entry (migration 009): entries are numbered per organization. */
  audit_seq: ColumnType<number, number | undefined, number>;
}

export interface ApiKeysTable {
  id: Generated<number>;
  org_id: number;
  prefix: string;
  key_hash: string;
  scope: 'read' | 'write' | 'admin';
  created_at: Stamp;
  revoked_at: Stamp | null;
  expires_at: Stamp | null;
  last_used_at: Stamp | null;
}

export interface BillingGroupsTable {
  id: Generated<number>;
  org_id: number;
  name: string;
  status: 'active' | 'inactive';
  parent_id: number | null;
  depth: number;
  /** Incremented on every write: the billing group's ETag (migration 003). */
  version: ColumnType<number, number | undefined, number>;
}

export interface GroupsTable {
  id: Generated<number>;
  org_id: number;
  name: string;
  billing_group_id: number;
  status: 'active' | 'inactive';
  /** Incremented on every write: the group's ETag (migration 003). */
  version: ColumnType<number, number | undefined, number>;
}

export interface UsersTable {
  id: Generated<number>;
  org_id: number;
  user_id: string;
  username: string;
  /** The username under full case folding (db/username-keys.ts): look-ups, sorting and substring search. */
  username_fold: string;
  /** The username's look-alike skeleton (db/username-keys.ts): unique per organization (migration 008). */
  username_skeleton: string;
  name: string;
  name_fold: string;
  email: string;
  phone: string;
  call_detail_level: 'full' | 'no_caller' | 'no_call';
  restrict_recording_download: number;
  status: 'awaiting_approval' | 'activated' | 'deactivated';
  last_login_date: Stamp | null;
  last_updated_date: Stamp;
  deactivation_date: Stamp | null;
  /** Role names in assigned order, comma-separated. */
  roles: string;
  /** One bit per role (rolesMask in users/user.mapper.ts), for the `role` filter. */
  roles_mask: number;
  /** Billing group ids in assigned order, comma-separated ('' for none); mirrored in user_billing_groups. */
  billing_groups: string;
  /** Group ids in assigned order, comma-separated; mirrored in user_group_owners. */
  group_owners: string;
  /** Incremented on every write: the user's ETag. */
  version: number;
  /** SCIM `externalId` (migration 007): the identity provider's id for the user. */
  external_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** SCIM `name.givenName` and `name.familyName`, kept so that they round-trip ('' for none). */
  given_name: ColumnType<string, string | undefined, string>;
  family_name: ColumnType<string, string | undefined, string>;
  /** When the user was created (SCIM `meta.created`); set once, on insert (userToRow at version 1). */
  created_at: ColumnType<Stamp, Stamp | undefined, Stamp>;
  /** Set by SCIM DELETE: the user is gone for SCIM, and stays deactivated and renamed in the API. */
  scim_deleted_at: ColumnType<Stamp | null, Stamp | null | undefined, Stamp | null>;
}

export interface UserBillingGroupsTable {
  org_id: number;
  user_pk: number;
  billing_group_id: number;
}

export interface UserGroupOwnersTable {
  org_id: number;
  user_pk: number;
  group_id: number;
}

export interface AuditEntriesTable {
  id: Generated<number>;
  org_id: number;
  at: Stamp;
  /** The acting API key's id; null for the command line. */
  actor_key_id: number | null;
  /** The acting key's public prefix, or `cli`: never the key. */
  actor: string;
  /** e.g. user.create, user.replace, user.patch, user.activate, user.deactivate, billing_group.create, group.update, key.create, key.revoke */
  action: string;
  target_type: 'user' | 'billing_group' | 'group' | 'api_key';
  target_id: string;
  /** JSON: { field: { before, after } } for every field the write changed. */
  changes: string;
  request_id: string | null;
  /** The entry's number within its organization, 1, 2, 3…: its `audit_id` on the wire (migration 009). */
  org_seq: number;
  /** `scim` for a write that came through SCIM (migration 007); null for the API and the command line. */
  via: ColumnType<string | null, string | null | undefined, string | null>;
}

/** One row per deactivation, with what the reporting side must do (migration 003). */
export interface UserDeactivationsTable {
  id: Generated<number>;
  org_id: number;
  /** The deactivated user's user_id. */
  user_id: string;
  deactivated_at: Stamp;
  /** user_id of the user who received the group ownership, or null. */
  reassign_groups_to_user: string | null;
  /** The group ids that moved, comma-separated in order ('' for none). */
  groups_moved: string;
  /** user_id of the user who is to receive the reports, or null. */
  reassign_reports_to_user: string | null;
  delete_scheduled_reports: number;
  /** The acting key's prefix, or `cli`. */
  actor: string;
  request_id: string | null;
}

/** Exact user counts per (organization, status, roles_mask), kept by triggers (migration 004); sum `n`. */
export interface UserCountsTable {
  org_id: number;
  status: string;
  roles_mask: number;
  n: number;
}

/** The ordered log of user changes (migration 010): written by triggers, read by users/user.changes.repository.ts. */
export interface UserChangesTable {
  id: Generated<number>;
  org_id: number;
  /** The organization's write_version of the transaction that made the change. */
  version: number;
  /** The changed user's user_id; null for a marker that stands for every change of its version. */
  user_id: string | null;
  /** JSON of the logged columns before (null: inserted) and after (null: deleted). */
  before: string | null;
  after: string | null;
}

export interface Database {
  audit_entries: AuditEntriesTable;
  organizations: OrganizationsTable;
  api_keys: ApiKeysTable;
  billing_groups: BillingGroupsTable;
  groups: GroupsTable;
  users: UsersTable;
  user_billing_groups: UserBillingGroupsTable;
  user_group_owners: UserGroupOwnersTable;
  user_counts: UserCountsTable;
  user_deactivations: UserDeactivationsTable;
  user_changes: UserChangesTable;
}

export type Db = Kysely<Database>;
export type UserRow = Selectable<UsersTable>;
/** An UPDATE … RETURNING of one user, built on the query creator given (a statement of its own, or a CTE). */
export type UserUpdate = (qc: QueryCreator<Database>) => UpdateQueryBuilder<Database, 'users', 'users', UserRow>;
export type NewUserRow = Insertable<UsersTable>;
export type OrganizationRow = Selectable<OrganizationsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type AuditEntryRow = Selectable<AuditEntriesTable>;
export type BillingGroupRow = Selectable<BillingGroupsTable>;
/** A billing group to insert; `id` only when keeping an id given from elsewhere (demo data, imports). */
export type NewBillingGroupRow = Insertable<BillingGroupsTable>;
export type GroupRow = Selectable<GroupsTable>;
/** A group to insert; `id` only when keeping an id given from elsewhere. */
export type NewGroupRow = Insertable<GroupsTable>;
