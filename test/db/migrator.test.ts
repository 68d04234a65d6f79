import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { connect, type Connection } from '../../src/db/connect.js';
import { migrateDown, migrateToLatest } from '../../src/db/migrator.js';
import { seedDemo } from '../../src/demo/demo.seed.js';
import { bearer } from '../support/app.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { newUser } from '../support/writes.js';

/**
 * The schema as the database's own catalogue describes it: one entry per table, column, index,
 * constraint, trigger, sequence and function, keyed `kind name`, valued by its definition. The
 * migrator's bookkeeping tables (which stay when every migration is reverted), SQLite's internal
 * objects and what a PostgreSQL extension owns (pg_trgm stays installed) are left out.
 */
async function catalogue(conn: Connection): Promise<Map<string, string>> {
  const entries: [string, string][] =
    conn.dialect === 'sqlite' ? await sqliteCatalogue(conn) : await postgresCatalogue(conn);
  return new Map(entries.filter(([key]) => !/^\S+ roster_migrations/.test(key)).sort(([a], [b]) => (a < b ? -1 : 1)));
}

async function sqliteCatalogue({ db }: Connection): Promise<[string, string][]> {
  const objects = await sql<{ type: string; name: string; tbl_name: string; sql: string | null }>`
    select type, name, tbl_name, sql from sqlite_master where name not like 'sqlite\\_%' escape '\\'`.execute(db);
  const columns = await sql<{ tbl: string; name: string; type: string; notnull: number; dflt_value: string | null }>`
    select m.name as tbl, p.name, p.type, p."notnull", p.dflt_value
    from sqlite_master m join pragma_table_info(m.name) p
    where m.type = 'table' and m.name not like 'sqlite\\_%' escape '\\'`.execute(db);
  return [
    ...objects.rows.map((o): [string, string] => [`${o.type} ${o.name}`, `on ${o.tbl_name}: ${o.sql ?? ''}`]),
    ...columns.rows.map((c): [string, string] => [
      `column ${c.tbl}.${c.name}`,
      `${c.type}${c.notnull ? ' not null' : ''} default ${c.dflt_value ?? '-'}`,
    ]),
  ];
}

async function postgresCatalogue({ db }: Connection): Promise<[string, string][]> {
  // Objects a PostgreSQL extension created belong to the extension, not to Roster's migrations.
  const notFromExtension = (oid: string) =>
    sql.raw(`not exists (select 1 from pg_depend d where d.objid = ${oid} and d.deptype = 'e')`);
  const relations = await sql<{ relkind: string; relname: string }>`
    select c.relkind::text as relkind, c.relname from pg_class c
    where c.relnamespace = current_schema()::regnamespace and ${notFromExtension('c.oid')}`.execute(db);
  const columns = await sql<{ relname: string; attname: string; def: string }>`
    select c.relname, a.attname,
      format_type(a.atttypid, a.atttypmod) || case when a.attnotnull then ' not null' else '' end
        || coalesce(' collate ' || co.collname::text, '') || coalesce(' identity ' || nullif(a.attidentity::text, ''), '')
        || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '') as def
    from pg_attribute a
    join pg_class c on c.oid = a.attrelid
    left join pg_collation co on co.oid = a.attcollation and co.collname <> 'default'
    left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
    where c.relnamespace = current_schema()::regnamespace and c.relkind in ('r', 'p')
      and a.attnum > 0 and not a.attisdropped`.execute(db);
  const indexes = await sql<{ indexname: string; indexdef: string }>`
    select indexname, indexdef from pg_indexes where schemaname = current_schema()`.execute(db);
  const constraints = await sql<{ relname: string; conname: string; def: string }>`
    select c.relname, k.conname, pg_get_constraintdef(k.oid) as def
    from pg_constraint k join pg_class c on c.oid = k.conrelid
    where k.connamespace = current_schema()::regnamespace`.execute(db);
  const triggers = await sql<{ tgname: string; def: string }>`
    select t.tgname, pg_get_triggerdef(t.oid) as def from pg_trigger t join pg_class c on c.oid = t.tgrelid
    where not t.tgisinternal and c.relnamespace = current_schema()::regnamespace`.execute(db);
  const functions = await sql<{ proname: string; def: string }>`
    select p.proname, pg_get_functiondef(p.oid) as def from pg_proc p
    where p.pronamespace = current_schema()::regnamespace and ${notFromExtension('p.oid')}`.execute(db);
  return [
    ...relations.rows.map((r): [string, string] => [`relation ${r.relname}`, r.relkind]),
    ...columns.rows.map((c): [string, string] => [`column ${c.relname}.${c.attname}`, c.def]),
    ...indexes.rows.map((i): [string, string] => [`index ${i.indexname}`, i.indexdef]),
    ...constraints.rows.map((k): [string, string] => [`constraint ${k.relname}.${k.conname}`, k.def]),
    ...triggers.rows.map((t): [string, string] => [`trigger ${t.tgname}`, t.def]),
    ...functions.rows.map((f): [string, string] => [`function ${f.proname}`, f.def]),
  ];
}

/** Reverts migrations one at a time until none is applied; returns their names and the catalogue after each. */
async function migrateDownToZero(conn: Connection): Promise<{ reverted: string[]; states: Map<string, string>[] }> {
  const reverted: string[] = [];
  const states: Map<string, string>[] = [];
  for (;;) {
    const names = await migrateDown(conn);
    if (names.length === 0) return { reverted, states };
    assert.equal(names.length, 1, 'migrateDown reverts one migration at a time');
    reverted.push(...names);
    states.push(await catalogue(conn));
    assert.ok(reverted.length <= 100, 'migrateDown never reaches zero');
  }
}

const keysOf = (c: Map<string, string>) => [...c.keys()];

for (const dialect of DIALECTS) {
  describe(`migrations up, down to zero and up again (${dialect})`, () => {
    let database: TestDatabase;
    let conn: Connection;
    let applied: string[];
    let latest: Map<string, string>;

    before(async () => {
      database = await createTestDatabase(dialect);
      conn = connect(database.target);
      applied = await migrateToLatest(conn);
      latest = await catalogue(conn);
    });
    after(async () => {
      await conn.close();
      await database.drop();
    });

    it('sees the latest schema in the catalogue: tables, indexes and triggers', () => {
      assert.ok(applied.length > 0);
      const expected =
        dialect === 'sqlite'
          ? [
              'table users',
              'table audit_entries',
              'table rate_limits',
              'index users_org_name_idx',
              'trigger users_trgm_ai',
            ]
          : [
              'relation users',
              'relation audit_entries',
              'relation rate_limits',
              'index users_org_name_idx',
              'trigger users_counts_ins',
              'function roster_user_counts',
            ];
      for (const key of expected) assert.ok(latest.has(key), `${key} is in the catalogue`);
    });

    it('reverts every migration one at a time, each removing or restoring objects and adding none, down to no object at all', async () => {
      await migrateToLatest(conn);
      const { reverted, states } = await migrateDownToZero(conn);
      assert.deepEqual(reverted, [...applied].reverse());
      let previous = latest;
      for (const [i, now] of states.entries()) {
        const added = keysOf(now).filter((k) => !previous.has(k));
        const removed = keysOf(previous).filter((k) => !now.has(k));
        // A migration that redefines an object (012: a trigger's body) is undone by putting the old one back.
        const redefined = keysOf(now).filter((k) => previous.has(k) && previous.get(k) !== now.get(k));
        assert.deepEqual(added, [], `the down of ${reverted[i]} adds nothing`);
        assert.ok(
          removed.length + redefined.length > 0,
          `the down of ${reverted[i]} removes or restores what its up made`,
        );
        previous = now;
      }
      assert.deepEqual(keysOf(states.at(-1)!), [], 'no table, column, index, trigger or function is left');
    });

    it('migrates up again from zero to exactly the schema of the first run', async () => {
      await migrateDownToZero(conn);
      assert.deepEqual(await migrateToLatest(conn), applied);
      assert.deepEqual(await catalogue(conn), latest);
    });

    // A down that leaves part of its up behind makes that up fail (it creates what exists) or the schema
    // differ; a down that removes more than its up made leaves the schema short.
    it('restores exactly the latest schema when it migrates up after reverting any number of migrations', async () => {
      await migrateToLatest(conn);
      for (let steps = 1; steps <= applied.length; steps++) {
        for (let i = 0; i < steps; i++) await migrateDown(conn);
        assert.deepEqual(await migrateToLatest(conn), applied.slice(-steps), `${steps} reverted, then up`);
        assert.deepEqual(await catalogue(conn), latest, `the schema after ${steps} reverted and up again`);
      }
    });

    it('serves the API after down to zero and up again: a user is created and read back', async () => {
      await migrateDownToZero(conn);
      await migrateToLatest(conn);
      const key = await seedDemo(conn);
      assert.ok(key, 'the demo is seeded into the empty database');
      const app = await buildApp(loadConfig({ DATABASE_URL: database.target.url, LOG_LEVEL: 'silent' }), conn);
      try {
        const body = newUser('after.migrations', { roles: ['reporting', 'ordering'] });
        const created = await app.inject({ method: 'POST', url: '/api/v1/users', headers: bearer(key), payload: body });
        assert.equal(created.statusCode, 201, created.body);
        const read = await app.inject({ url: '/api/v1/users/after.migrations', headers: bearer(key) });
        assert.equal(read.statusCode, 200, read.body);
        assert.deepEqual(read.json(), created.json());
        assert.equal(read.json().email, body.email);
        // The demo's 165 users plus this one: the count triggers came back with the tables.
        const page = await app.inject({ url: '/api/v1/users?pagesize=1', headers: bearer(key) });
        assert.equal(page.json().paging.total, 166);
      } finally {
        await app.close();
      }
    });
  });
}
