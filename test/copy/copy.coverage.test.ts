import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { Connection } from '../../src/db/connect.js';
import { COPIED_TABLES, SKIPPED_TABLES } from '../../src/copy/copy.tables.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { generateOrganization, runCopy, serveCopy, type CopiedApp } from './helpers.js';

/** Every table the migrations made, straight from the catalogue, with the statement that made it (SQLite). */
async function catalogueTables(conn: Connection): Promise<{ name: string; sql: string }[]> {
  const query =
    conn.dialect === 'sqlite'
      ? sql<{
          name: string;
          sql: string;
        }>`select name, sql from sqlite_master where type = 'table' and name not like 'sqlite_%'`
      : sql<{ name: string; sql: string }>`select table_name as name, '' as sql from information_schema.tables
          where table_schema = current_schema() and table_type = 'BASE TABLE'`;
  return (await query.execute(conn.db)).rows;
}

/** Every stored column of a table from the catalogue (generated columns are computed by the target itself). */
async function catalogueColumns(conn: Connection, table: string): Promise<string[]> {
  const query =
    conn.dialect === 'sqlite'
      ? sql<{ name: string }>`select name from pragma_table_info(${table})`
      : sql<{ name: string }>`select column_name as name from information_schema.columns
          where table_schema = current_schema() and table_name = ${table} and is_generated = 'NEVER'`;
  return (await query.execute(conn.db)).rows.map((r) => r.name);
}

/** A value as both dialects can agree on it: booleans as 0/1, JSON and dates as text. */
function comparable(value: unknown): unknown {
  if (typeof value === 'boolean') return Number(value);
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return value;
}

const FTS5_SHADOWS = ['data', 'idx', 'content', 'docsize', 'config'];

for (const dialect of DIALECTS) {
  const other = DIALECTS.find((d) => d !== dialect) ?? dialect;
  describe(`roster copy covers every table and column the migrations create (${dialect} → ${other})`, () => {
    let source: TestApp;
    let database: TestDatabase;
    let target: CopiedApp;
    before(async () => {
      source = await buildTestApp(dialect, { RATE_LIMIT: '0' });
      await generateOrganization(source, 20);
      database = await createTestDatabase(other);
      await runCopy(source.database.target.url, database.target.url);
      target = await serveCopy(database);
    });
    after(async () => {
      await target.close();
      await database.drop();
      await source.close();
    });

    it('every table is copied or named as skipped with its reason (FTS5 shadow tables go with their index)', async () => {
      const known = new Set([...COPIED_TABLES.map((t) => t.name), ...Object.keys(SKIPPED_TABLES)]);
      const tables = await catalogueTables(source.conn);
      const virtual = tables.filter((t) => /^create virtual table/i.test(t.sql)).map((t) => t.name);
      const shadows = new Set(virtual.flatMap((v) => FTS5_SHADOWS.map((s) => `${v}_${s}`)));
      const uncovered = tables.map((t) => t.name).filter((name) => !known.has(name) && !shadows.has(name));
      assert.deepEqual(uncovered, [], 'a migration made a table roster copy does not know: add it to copy.tables.ts');
    });

    for (const table of COPIED_TABLES) {
      it(`${table.name}: every column of the catalogue arrives with the source's values`, async () => {
        const columns = await catalogueColumns(source.conn, table.name);
        assert.ok(columns.length > 0);
        assert.deepEqual((await catalogueColumns(target.conn, table.name)).sort(), [...columns].sort());
        const order = sql.join(table.order.map((c) => sql.ref(c)));
        for (const column of columns) {
          const read = async (conn: Connection) =>
            (
              await sql<{
                v: unknown;
              }>`select ${sql.ref(column)} as v from ${sql.table(table.name)} order by ${order}`.execute(conn.db)
            ).rows.map((r) => comparable(r.v));
          const want = await read(source.conn);
          assert.ok(want.length > 0, `${table.name} must hold rows for this test to mean anything`);
          assert.deepEqual(await read(target.conn), want, `${table.name}.${column}`);
        }
      });
    }
  });
}
