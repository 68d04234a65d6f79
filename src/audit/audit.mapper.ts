import type { AuditEntryRow } from '../db/tables.js';
import { formatTimestamp } from '../shared/timestamps.js';
import type { AuditEntry } from './audit.schemas.js';

/** What a write changed: each field with its value before and after (null when absent). */
export type FieldChanges = Record<string, { before: unknown; after: unknown }>;

/** The fields whose values differ between two flat snapshots of an object, with before and after values. */
export function diffFields(
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
): FieldChanges {
  const changes: FieldChanges = {};
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  for (const key of keys) {
    const b = before?.[key] ?? null;
    const a = after?.[key] ?? null;
    if (JSON.stringify(b) !== JSON.stringify(a)) changes[key] = { before: b, after: a };
  }
  return changes;
}

/** The one mapping from a row to the API's audit entry. */
export function auditRowToEntry(row: AuditEntryRow): AuditEntry {
  return {
    audit_id: row.org_seq,
    at: formatTimestamp(row.at),
    actor: row.actor,
    actor_key_id: row.actor_key_id,
    request_id: row.request_id,
    ...(row.via === 'scim' ? { via: 'scim' as const } : {}),
    action: row.action,
    target_type: row.target_type,
    target_id: row.target_id,
    changes: JSON.parse(row.changes) as FieldChanges,
  };
}
