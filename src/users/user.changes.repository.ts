import { sql } from 'kysely';
import type { Db } from '../db/tables.js';
import type { ChangedUser, UserChange } from './user.changes.js';

/** The organization's write_version and its logged user changes from version `since` on, read in one snapshot. */
export interface ChangesSince {
  /** -1 when the organization does not exist. */
  readonly current: number;
  readonly changes: readonly UserChange[];
  /** True when more than `limit` changes were there (only the first `limit` are given). */
  readonly truncated: boolean;
}

const parse = (json: string | null): ChangedUser | null => (json === null ? null : (JSON.parse(json) as ChangedUser));

/**
 * The changes of migration 010's log with a version in [since, current], oldest first. One statement, so
 * that the write_version and the log come from one snapshot: no change of a version up to `current` is missing.
 */
export async function findChangesSince(db: Db, orgId: number, since: number, limit: number): Promise<ChangesSince> {
  const { rows } = await sql<{ current: number; version: number | null; before: string | null; after: string | null }>`
    select o.write_version as current, c.version, c.before, c.after
    from organizations o left join user_changes c on c.org_id = o.id and c.version >= ${since}
    where o.id = ${orgId} order by c.version, c.id limit ${limit + 1}`.execute(db);
  if (rows.length === 0) return { current: -1, changes: [], truncated: false };
  const changes = rows.flatMap((r) =>
    r.version === null ? [] : [{ version: Number(r.version), before: parse(r.before), after: parse(r.after) }],
  );
  return { current: Number(rows[0]!.current), changes: changes.slice(0, limit), truncated: changes.length > limit };
}
