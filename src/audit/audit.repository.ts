import type { Transaction } from 'kysely';
import type { Database, Db } from '../db/schema.js';
import { nowTimestamp } from '../shared/timestamps.js';

/** Who did a write: an API key (id and public prefix) or the command line. */
export interface Actor {
  readonly keyId: number | null;
  /** The key's public prefix, or `cli`. Never the key itself. */
  readonly label: string;
  readonly requestId?: string | null;
}

export const CLI_ACTOR: Actor = { keyId: null, label: 'cli', requestId: null };

export type FieldChanges = Record<string, { before: unknown; after: unknown }>;

export interface AuditEntry {
  readonly orgId: number;
  readonly actor: Actor;
  readonly action: string;
  readonly targetType: 'user' | 'billing_group' | 'group' | 'api_key';
  readonly targetId: string;
  readonly changes: FieldChanges;
}

/** Appends an audit entry; call it inside the write's own transaction so that both land or neither does. */
export async function appendAudit(trx: Transaction<Database> | Db, entry: AuditEntry): Promise<void> {
  await trx
    .insertInto('audit_entries')
    .values({
      org_id: entry.orgId,
      at: nowTimestamp(),
      actor_key_id: entry.actor.keyId,
      actor: entry.actor.label,
      action: entry.action,
      target_type: entry.targetType,
      target_id: entry.targetId,
      changes: JSON.stringify(entry.changes),
      request_id: entry.actor.requestId ?? null,
    })
    .execute();
}

/** The fields whose values differ between two flat snapshots of an object, with before and after values. */
export function diffFields(before: Record<string, unknown> | null, after: Record<string, unknown> | null): FieldChanges {
  const changes: FieldChanges = {};
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  for (const key of keys) {
    const b = before?.[key] ?? null;
    const a = after?.[key] ?? null;
    if (JSON.stringify(b) !== JSON.stringify(a)) changes[key] = { before: b, after: a };
  }
  return changes;
}
