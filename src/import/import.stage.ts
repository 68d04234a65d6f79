/**
 * PostgreSQL's first load (the organization has no users): the checked rows go
 * by COPY into a temporary staging table shaped like users, where each batch's
 * look-ups also find the rows earlier batches staged (so a file naming a user
 * twice is caught as on the row path); at the end one `insert … select`
 * ordered by username moves them all into users, and their access rows with
 * them. Nothing here locks more than the rows it writes: no table lock
 * stronger than ROW EXCLUSIVE, so other organizations read and write as usual.
 */
import { sql, type Transaction } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Dialect } from '../db/connect.js';
import type { Database, NewUserRow, UserRow } from '../db/tables.js';
import type { CreatePlan } from './import.planner.js';
import { organizationIsEmpty, USER_COLUMNS } from './import.repository.js';
import type { BatchSink } from './import.run.js';
import { OrganizationNotEmpty, type FirstLoad } from './import.strategies.js';
import { writePlannedBatch } from './import.writer.js';

type Trx = Transaction<Database>;

const STAGE = 'import_stage';
// The load's sort of a million staged rows and its temporary table's pages: PostgreSQL's memory, per session.
// (Larger trigram pending lists and a merge before the commit cut the final insert's CPU under load, but
// made the whole load slower on a quiet machine: docs/import-export.md, "Measured on a quiet machine".)
const LOAD_WORK_MEM = '64MB';
// The stage's pages stay in memory (temporary tables use temp_buffers, not shared_buffers).
const STAGE_BUFFERS = '256MB';

/** COPY's text format: backslash, tab, line feed and carriage return escaped; NULL is \N. */
function copyField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  return String(value).replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

/** COPYs planned users into the stage, each with its line as `id`; returns the lines by user_id. */
async function copyIntoStage(client: pg.Client, inserts: readonly CreatePlan[]): Promise<Map<string, number>> {
  const columns = ['id', ...USER_COLUMNS.map(([c]) => c)].join(', ');
  let text = '';
  const lines = new Map<string, number>();
  for (const { row, next } of inserts) {
    const values = USER_COLUMNS.map(([c]) => copyField(next[c as keyof NewUserRow] as string | number | null));
    text += `${row.line}\t${values.join('\t')}\n`;
    lines.set(next.user_id, row.line);
  }
  const stream = client.query(copyFrom(`copy ${STAGE} (${columns}) from stdin`));
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    stream.on('finish', resolve);
    stream.end(text);
  });
  return lines;
}

/** Staged rows (their line as `id`) with these user_ids or username skeletons, and the user_ids other organizations hold. */
async function findStagedUsers(
  trx: Trx,
  _dialect: Dialect,
  orgId: number,
  userIds: readonly string[],
  skeletons: readonly string[],
): Promise<{ rows: UserRow[]; elsewhere: Set<string> }> {
  const stage = sql.table(STAGE);
  // Two probes rather than `or`: each goes by its own index (bitmap scans are off during an import).
  const byId = userIds.length
    ? (await sql<UserRow>`select * from ${stage} where user_id = any(${[...userIds]}::text[])`.execute(trx)).rows
    : [];
  const found = new Set(byId.map((r) => r.username_skeleton));
  const rest = skeletons.filter((f) => !found.has(f));
  const bySkeleton = rest.length
    ? (await sql<UserRow>`select * from ${stage} where username_skeleton = any(${rest}::text[])`.execute(trx)).rows
    : [];
  // The organization had no users when the load took its write lock: any user with one of these user_ids is another organization's.
  const elsewhere = userIds.length
    ? (
        await trx
          .selectFrom('users')
          .select('user_id')
          .where('user_id', '=', sql<string>`any(${[...userIds]}::text[])`)
          .where('org_id', '<>', orgId)
          .execute()
      ).map((r) => r.user_id)
    : [];
  return { rows: [...byId, ...bySkeleton], elsewhere: new Set(elsewhere) };
}

/** The batches of a PostgreSQL first load look up and write the stage; the audit entries and created billing groups are the row path's. */
export function stageSink(client: pg.Client): BatchSink {
  return {
    findUsers: findStagedUsers,
    write: (trx, options, known, inserts, updates) =>
      writePlannedBatch(trx, options, known, inserts, updates, (_trx, _options, plans) => copyIntoStage(client, plans)),
    refreshStatistics: async (trx) => {
      await sql`analyze ${sql.table(STAGE)}`.execute(trx);
    },
  };
}

/** The stage's life in the load's transaction: made after the write lock, emptied into users before the commit. */
export function postgresFirstLoad(orgId: number): FirstLoad {
  return {
    async prepare(trx) {
      if (!(await organizationIsEmpty(trx, orgId))) throw new OrganizationNotEmpty();
      // Before the session's first temporary table: its pages stay in memory instead of spilling to files.
      await sql.raw(`set local temp_buffers = '${STAGE_BUFFERS}'`).execute(trx);
      await sql.raw(`set local work_mem = '${LOAD_WORK_MEM}'`).execute(trx);
      await sql`create temporary table ${sql.table(STAGE)} (like users including defaults) on commit drop`.execute(trx);
      await sql`create index on ${sql.table(STAGE)} (user_id)`.execute(trx);
      await sql`create index on ${sql.table(STAGE)} (username_skeleton)`.execute(trx);
    },
    async finish(trx) {
      await insertStagedUsers(trx, orgId);
      // The batches relax their commits (import.tuning.ts), but the load commits once: its summary is durable.
      await sql`set local synchronous_commit = on`.execute(trx);
    },
  };
}

/**
 * Moves the staged users into users in one statement, ordered by username:
 * the three username indexes then fill in order instead of at random. Their
 * access rows come from the inserted rows' lists in the same statement.
 */
async function insertStagedUsers(trx: Trx, orgId: number): Promise<void> {
  const columns = sql.join(USER_COLUMNS.map(([c]) => sql.ref(c)));
  const stage = sql.table(STAGE);
  await sql`with created as (
      insert into users (${columns})
      select ${columns} from ${stage} order by username_fold
      returning id, billing_groups, group_owners
    ), billing as (
      insert into user_billing_groups (org_id, user_pk, billing_group_id)
      select ${orgId}, c.id, b::integer from created c
        cross join lateral unnest(string_to_array(nullif(c.billing_groups, ''), ',')) b
    )
    insert into user_group_owners (org_id, user_pk, group_id)
    select ${orgId}, c.id, g::integer from created c
      cross join lateral unnest(string_to_array(nullif(c.group_owners, ''), ',')) g`.execute(trx);
}
