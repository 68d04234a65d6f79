import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Dialect } from '../db/connect.js';
import type { Database } from '../db/tables.js';
import type { CatalogColumn } from './copy.catalog.js';
import type { CopiedTable } from './copy.tables.js';
import type { SourceRow } from './copy.values.js';

type Db = Kysely<Database>;

const list = (names: readonly string[]) => sql.join(names.map((n) => sql.ref(n)));

/** The organizations to copy: the one named, or all of them, by id. */
export async function findOrganizations(db: Db, name?: string): Promise<{ id: number; name: string }[]> {
  let query = db.selectFrom('organizations').select(['id', 'name']).orderBy('id');
  if (name !== undefined) query = query.where('name', '=', name);
  return query.execute();
}

/** How many rows of the table belong to the organization. */
export async function countOrgRows(db: Db, table: CopiedTable, orgId: number): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*) as n from ${sql.table(table.name)}
    where ${sql.ref(table.orgColumn)} = ${orgId}`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

/**
 * One keyset page of the organization's rows, in the table's order, after the
 * `after` key (the order columns' values of the last row read; null: from the start).
 */
export async function readOrgPage(
  db: Db,
  table: CopiedTable,
  columns: readonly CatalogColumn[],
  orgId: number,
  after: readonly unknown[] | null,
  limit: number,
): Promise<SourceRow[]> {
  const keyset = after ? sql`and (${list(table.order)}) > (${sql.join(after)})` : sql``;
  const { rows } = await sql<SourceRow>`select ${list(columns.map((c) => c.name))} from ${sql.table(table.name)}
    where ${sql.ref(table.orgColumn)} = ${orgId} ${keyset}
    order by ${list(table.order)} limit ${limit}`.execute(db);
  return rows;
}

/**
 * Inserts rows (normalised values by column name) keeping every value, ids
 * included. They travel as one JSON parameter (as the import's do):
 * PostgreSQL converts each field to its column's type (json_populate_recordset),
 * SQLite's `->>` gives booleans as 0/1 and JSON values as their text (over JSONB:
 * parsed once, not once per column).
 */
export async function insertRows(
  db: Db,
  dialect: Dialect,
  table: string,
  columns: readonly string[],
  rows: readonly Record<string, unknown>[],
): Promise<void> {
  const json = JSON.stringify(rows);
  let statement: RawBuilder<unknown>;
  if (dialect === 'postgres') {
    statement = sql`insert into ${sql.table(table)} (${list(columns)}) overriding system value
      select ${list(columns)} from json_populate_recordset(null::${sql.table(table)}, ${json}::json)`;
  } else {
    const fields = sql.join(columns.map((c) => sql`value ->> ${`$."${c}"`}`));
    statement = sql`insert into ${sql.table(table)} (${list(columns)}) select ${fields} from jsonb_each(jsonb(${json}))`;
  }
  await statement.execute(db);
}

/** Up to `limit` values of a unique column after `after`, in order (the whole table: any organization). */
export async function readUniqueValues(
  db: Db,
  table: string,
  column: string,
  after: unknown,
  limit: number,
): Promise<unknown[]> {
  const where = after === undefined ? sql`` : sql`where ${sql.ref(column)} > ${after}`;
  const { rows } = await sql<{ v: unknown }>`select ${sql.ref(column)} as v from ${sql.table(table)} ${where}
    order by ${sql.ref(column)} limit ${limit}`.execute(db);
  return rows.map((r) => r.v);
}

/** The first of `values` the organizations' rows hold in the column, with the organization holding it. */
export async function findHeldValue(
  db: Db,
  table: CopiedTable,
  column: string,
  orgIds: readonly number[],
  values: readonly unknown[],
): Promise<{ v: unknown; org: number } | undefined> {
  if (values.length === 0 || orgIds.length === 0) return undefined;
  const { rows } = await sql<{
    v: unknown;
    org: number;
  }>`select ${sql.ref(column)} as v, ${sql.ref(table.orgColumn)} as org
    from ${sql.table(table.name)}
    where ${sql.ref(table.orgColumn)} in (${sql.join(orgIds)}) and ${sql.ref(column)} in (${sql.join(values)})
    order by ${sql.ref(column)} limit 1`.execute(db);
  return rows[0];
}

/** A PostgreSQL index that backs no constraint, as `create index` text: what a bulk load may drop and rebuild. */
export interface PlainIndex {
  readonly name: string;
  readonly definition: string;
}

/** The plain indexes (no primary key or unique constraint behind them) of the tables, on PostgreSQL. */
export async function findPlainIndexes(db: Db, tables: readonly string[]): Promise<PlainIndex[]> {
  const { rows } = await sql<PlainIndex>`select i.indexname as name, i.indexdef as definition from pg_indexes i
    where i.schemaname = current_schema() and i.tablename in (${sql.join(tables)})
      and not exists (select 1 from pg_constraint c where c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)
    order by i.indexname`.execute(db);
  return rows;
}

export async function dropIndexes(db: Db, indexes: readonly PlainIndex[]): Promise<void> {
  for (const index of indexes) await sql`drop index ${sql.ref(index.name)}`.execute(db);
}

export async function createIndexes(db: Db, indexes: readonly PlainIndex[]): Promise<void> {
  if (indexes.length === 0) return;
  // Index builds sort in memory up to this much, per transaction only.
  await sql`set local maintenance_work_mem = '256MB'`.execute(db);
  for (const index of indexes) await sql.raw(index.definition).execute(db);
}

/** Fresh planner statistics after a bulk load (PostgreSQL: a million new rows would otherwise be planned as none). */
export async function analyzeTables(db: Db, dialect: Dialect, tables: readonly string[]): Promise<void> {
  if (dialect === 'postgres') await sql`analyze ${sql.join(tables.map((t) => sql.table(t)))}`.execute(db);
}

/** The file SQLite opened as the main database (its full path). */
export async function findSqliteFile(db: Db): Promise<string> {
  const { rows } = await sql<{ name: string; file: string }>`pragma database_list`.execute(db);
  return rows.find((r) => r.name === 'main')?.file ?? '';
}

/**
 * Whether the PostgreSQL database `db` is the one `other` is connected to: one of `other`'s sessions is named
 * with a random token, and `db` looks for that session in its own database.
 */
export async function isSamePostgresDatabase(db: Db, other: Db): Promise<boolean> {
  const token = `roster-copy-${randomUUID()}`;
  return other.connection().execute(async (session) => {
    await sql`select set_config('application_name', ${token}, false)`.execute(session);
    try {
      const { rows } = await sql<{ n: number }>`select count(*) as n from pg_stat_activity
        where application_name = ${token} and datname = current_database()`.execute(db);
      return Number(rows[0]?.n) > 0;
    } finally {
      await sql`reset application_name`.execute(session); // the name the connection was opened with
    }
  });
}
