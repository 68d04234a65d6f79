import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { migrateToLatest } from '../../src/db/migrator.js';
import { refreshStatistics } from '../../src/import/import.tuning.js';
import { buildTestApp, type TestApp } from '../support/app.js';

// SQLite keeps no statistics of the change log (src/db/statistics.ts): with statistics taken while the log
// was nearly empty, SQLite planned the triggers' reads of it as scans of the whole log.
describe("SQLite's change log and the planner's statistics", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp('sqlite');
  });
  after(() => t.close());

  /** The plan of the change-log triggers' marker check. */
  const markerCheckPlan = async () =>
    (
      await sql<{ detail: string }>`explain query plan select 1 from user_changes
        where org_id = 1 and version = (select write_version from organizations where id = 1) and user_id is null`.execute(
        t.conn.db,
      )
    ).rows
      .map((r) => r.detail)
      .join('; ');
  const logStatistics = async () =>
    (await sql<{ stat: string }>`select stat from sqlite_stat1 where tbl = 'user_changes'`.execute(t.conn.db)).rows;

  it('drops statistics of a nearly empty log when it migrates, and the triggers read the log by its index', async () => {
    // What ANALYZE leaves after a bulk load: the log held two rows.
    await sql`analyze`.execute(t.conn.db);
    await sql`delete from sqlite_stat1 where tbl = 'user_changes'`.execute(t.conn.db);
    await sql`insert into sqlite_stat1 (tbl, idx, stat) values ('user_changes', 'user_changes_org_version_idx', '2 1 1')`.execute(
      t.conn.db,
    );
    await sql`analyze sqlite_schema`.execute(t.conn.db);
    assert.match(await markerCheckPlan(), /SCAN user_changes/, 'the statistics make SQLite scan the log');

    assert.deepEqual(await migrateToLatest(t.conn), [], 'nothing left to migrate');
    assert.deepEqual(await logStatistics(), []);
    assert.match(await markerCheckPlan(), /SEARCH user_changes USING INDEX user_changes_org_version_idx/);
  });

  it("refreshes the imported tables' statistics after an import, not the log's", async () => {
    await refreshStatistics(t.conn);
    const tables = (
      await sql<{ tbl: string }>`select distinct tbl from sqlite_stat1 order by tbl`.execute(t.conn.db)
    ).rows.map((r) => r.tbl);
    for (const table of ['users', 'user_billing_groups', 'user_group_owners'])
      assert.ok(tables.includes(table), `${table} has statistics`);
    assert.deepEqual(await logStatistics(), []);
    assert.match(await markerCheckPlan(), /SEARCH user_changes USING INDEX/);
  });
});
