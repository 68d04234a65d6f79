import { sql, type QueryCreator, type RawBuilder, type Transaction } from 'kysely';
import { isSqlite } from '../db/dialect.js';
import type { AuditEntryRow, Database, Db, UserRow, UserUpdate } from '../db/tables.js';
import type { Actor } from '../shared/actor.js';
import { nowTimestamp } from '../shared/timestamps.js';
import type { FieldChanges } from './audit.mapper.js';

/** An entry to append: who did what to which target, and what changed. */
export interface NewAuditEntry {
  readonly orgId: number;
  readonly actor: Actor;
  readonly action: string;
  readonly targetType: AuditEntryRow['target_type'];
  readonly targetId: string;
  readonly changes: FieldChanges;
}

/**
 * Appends an audit entry under its organization's next number (`audit_seq`); call it inside the write's own
 * transaction so that both land or neither does. The organization's row stays locked until the write commits,
 * so numbers never repeat. On PostgreSQL the number is taken and the entry inserted by one statement (a
 * data-modifying CTE): an organization's writes run one after another, and each round trip is time the next
 * waits. SQLite has no UPDATE in a CTE, and a statement there costs no round trip.
 */
export async function appendAudit(trx: Transaction<Database>, entry: NewAuditEntry): Promise<void> {
  if (isSqlite(trx)) {
    const { audit_seq: seq } = await nextSeq(trx, entry.orgId).executeTakeFirstOrThrow();
    await trx
      .insertInto('audit_entries')
      .values({ ...entryFields(entry), org_seq: seq })
      .execute();
    return;
  }
  await trx
    .with('seq', (qc) => nextSeq(qc, entry.orgId))
    .insertInto('audit_entries')
    .values((eb) => ({ ...entryFields(entry), org_seq: eb.selectFrom('seq').select('seq.audit_seq') }))
    .execute();
}

/**
 * Runs `write` and appends the audit entry of it, in the write's transaction; returns the first row `write`
 * returned, or undefined when it changed none. On PostgreSQL both go as one statement (the write and the entry
 * as data-modifying CTEs): one round trip fewer while the organization's next write waits for this one. There
 * the entry is appended even when `write` changed no row, so a caller that gets undefined must roll its
 * savepoint or transaction back (SQLite appends nothing then).
 */
export async function appendAuditWith(
  trx: Transaction<Database>,
  entry: NewAuditEntry,
  write: UserUpdate,
): Promise<UserRow | undefined> {
  if (isSqlite(trx)) {
    const row = await write(trx).executeTakeFirst();
    if (row !== undefined) await appendAudit(trx, entry);
    return row;
  }
  return (
    trx
      .with('seq', (qc) => nextSeq(qc, entry.orgId))
      // The write reads none of the CTEs before it; its creator's extra table is only in the type.
      .with('written', (qc) => write(qc as unknown as QueryCreator<Database>))
      .with('entry', (qc) =>
        qc
          .insertInto('audit_entries')
          .values((eb) => ({ ...entryFields(entry), org_seq: eb.selectFrom('seq').select('seq.audit_seq') })),
      )
      .selectFrom('written')
      .selectAll()
      .executeTakeFirst()
  );
}

/**
 * PostgreSQL: runs `write` (several users' updates, each row with its `batch_ord`: updateUsersStatement) and
 * appends `entries[i]` if the update numbered i + 1 stored its row, under the organization's next numbers in
 * that order, as one statement; returns each update's row, or undefined for one that stored none (and left
 * no entry).
 */
export async function appendAuditsWith(
  trx: Transaction<Database>,
  orgId: number,
  entries: readonly NewAuditEntry[],
  write: RawBuilder<UserRow>,
): Promise<Array<UserRow | undefined>> {
  const stored = sql<number>`(select count(*) from written)`;
  const { rows } = await sql<UserRow & { batch_ord: string | number }>`with written as (${write}), seq as (
      ${nextSeq(trx, orgId, stored)}
    ), entry as (
      insert into audit_entries (org_id, at, actor_key_id, actor, action, target_type, target_id, changes,
        request_id, via, org_seq)
      select a.org_id, a.at, a.actor_key_id, a.actor, a.action, a.target_type, a.target_id, a.changes,
        a.request_id, a.via,
        (select audit_seq from seq) - ${stored} + row_number() over (order by t.ord)
      from jsonb_array_elements(${JSON.stringify(entries.map(entryFields))}::jsonb) with ordinality as t(e, ord)
        join written w on w.batch_ord = t.ord
        cross join lateral jsonb_populate_record(null::audit_entries, t.e) a
    )
    select * from written`.execute(trx);
  const byOrd = Array.from({ length: entries.length }, (): UserRow | undefined => undefined);
  for (const { batch_ord: ord, ...row } of rows) byOrd[Number(ord) - 1] = row;
  return byOrd;
}

/** Takes the organization's next audit number (`count` numbers: the last of them is returned). */
const nextSeq = (qc: QueryCreator<Database>, orgId: number, count: number | RawBuilder<number> = 1) =>
  qc
    .updateTable('organizations')
    .set((eb) => ({ audit_seq: eb('audit_seq', '+', count) }))
    .where('id', '=', orgId)
    .returning('audit_seq');

/** An entry's stored columns, but for its number. */
const entryFields = (entry: NewAuditEntry) => ({
  org_id: entry.orgId,
  at: nowTimestamp(),
  actor_key_id: entry.actor.keyId,
  actor: entry.actor.label,
  action: entry.action,
  target_type: entry.targetType,
  target_id: entry.targetId,
  changes: JSON.stringify(entry.changes),
  request_id: entry.actor.requestId ?? null,
  via: entry.actor.via ?? null,
});

/** What `GET audit` filters on; empty lists and nulls filter nothing. */
export interface AuditFilter {
  readonly targetIds: readonly string[];
  readonly actions: readonly string[];
  readonly targetTypes: readonly string[];
  /** Stored-form timestamps: `at >= since` and `at < until`. */
  readonly since: string | null;
  readonly until: string | null;
}

function filtered(db: Db, orgId: number, filter: AuditFilter) {
  let query = db.selectFrom('audit_entries').where('org_id', '=', orgId);
  if (filter.targetIds.length > 0) query = query.where('target_id', 'in', [...filter.targetIds]);
  if (filter.actions.length > 0) query = query.where('action', 'in', [...filter.actions]);
  if (filter.targetTypes.length > 0)
    query = query.where('target_type', 'in', [...filter.targetTypes] as AuditEntryRow['target_type'][]);
  if (filter.since !== null) query = query.where('at', '>=', filter.since);
  if (filter.until !== null) query = query.where('at', '<', filter.until);
  return query;
}

/** One page of an organization's audit entries in the order they were written (or the reverse). */
export async function findAuditEntries(
  db: Db,
  orgId: number,
  filter: AuditFilter,
  order: 'asc' | 'desc',
  limit: number,
  offset: number,
): Promise<AuditEntryRow[]> {
  return filtered(db, orgId, filter).selectAll().orderBy('id', order).limit(limit).offset(offset).execute();
}

/** How many of an organization's audit entries match. */
export async function countAuditEntries(db: Db, orgId: number, filter: AuditFilter): Promise<number> {
  const row = await filtered(db, orgId, filter)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** One audit entry of an organization, if it has one with this number (its audit_id). */
export async function findAuditEntry(db: Db, orgId: number, seq: number): Promise<AuditEntryRow | undefined> {
  return db
    .selectFrom('audit_entries')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('org_seq', '=', seq)
    .executeTakeFirst();
}
