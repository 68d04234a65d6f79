/**
 * The tables `roster copy` knows. Every table a migration creates is either
 * copied (listed in COPIED_TABLES) or named in SKIPPED_TABLES with the reason;
 * test/copy/copy.coverage.test.ts fails when a migration adds a table that is
 * in neither list. Columns are never listed here: they are read from the
 * source's catalogue (copy.catalog.ts), so a new column travels by itself.
 */
export interface CopiedTable {
  readonly name: string;
  /** The column naming the organization (`id` for organizations itself). */
  readonly orgColumn: string;
  /**
   * The order rows are read, written and compared in (a unique key, read in
   * keyset pages). Billing groups go parents first: a child may hold a
   * smaller id than its parent when ids were kept from an import.
   */
  readonly order: readonly string[];
  /** Has an identity `id` that PostgreSQL's sequence must be moved past. */
  readonly identity: boolean;
  /** Columns unique across the whole database: a target holding one of the copied values is a conflict. */
  readonly unique: readonly string[];
}

/** In the order they are written (foreign keys point backwards only). */
export const COPIED_TABLES: readonly CopiedTable[] = [
  { name: 'organizations', orgColumn: 'id', order: ['id'], identity: true, unique: ['name', 'id'] },
  { name: 'api_keys', orgColumn: 'org_id', order: ['id'], identity: true, unique: ['id', 'prefix', 'key_hash'] },
  { name: 'billing_groups', orgColumn: 'org_id', order: ['depth', 'id'], identity: true, unique: ['id'] },
  { name: 'groups', orgColumn: 'org_id', order: ['id'], identity: true, unique: ['id'] },
  { name: 'users', orgColumn: 'org_id', order: ['id'], identity: true, unique: ['id', 'user_id'] },
  {
    name: 'user_billing_groups',
    orgColumn: 'org_id',
    order: ['user_pk', 'billing_group_id'],
    identity: false,
    unique: [],
  },
  { name: 'user_group_owners', orgColumn: 'org_id', order: ['user_pk', 'group_id'], identity: false, unique: [] },
  { name: 'audit_entries', orgColumn: 'org_id', order: ['id'], identity: true, unique: ['id'] },
  { name: 'user_deactivations', orgColumn: 'org_id', order: ['id'], identity: true, unique: ['id'] },
];

/** Tables a migration creates that the copy leaves alone, and why (docs/import-export.md). */
export const SKIPPED_TABLES: Readonly<Record<string, string>> = {
  roster_migrations: "the migrator's own: the target is migrated before the copy",
  roster_migrations_lock: "the migrator's own",
  user_counts: 'derived: the triggers on users fill it as the users are inserted',
  users_trgm: "derived: SQLite's FTS5 trigram index, filled by the triggers on users",
  rate_limits: 'counters of the current minute; they restart empty, as after a restart of Roster',
  trigram_positions: "SQLite's fixed list of positions 1…N the trigram triggers read; the migration fills it",
  user_changes:
    "derived: the triggers on users write it as the users are inserted; it only tells running processes which cached answers a write changed, and the target's processes start with none",
};
