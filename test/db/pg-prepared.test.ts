import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { isPreparedWrite } from '../../src/db/pg-prepared.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

// PostgreSQL's pooled connections run parameterized writes as named prepared statements (src/db/pg-prepared.ts):
// planned once per connection. Reads stay planned per value.

describe('which statements are planned once per connection', () => {
  it('prepares writes with parameters, and nothing else', () => {
    assert.equal(isPreparedWrite('update "users" set "phone" = $1 where "id" = $2', 2), true);
    assert.equal(isPreparedWrite('insert into "audit_entries" ("org_id") values ($1)', 1), true);
    assert.equal(isPreparedWrite('delete from "api_keys" where "id" = $1', 1), true);
    assert.equal(
      isPreparedWrite('with "seq" as (update "organizations" set "audit_seq" = 1 where "id" = $1) select 1', 1),
      true,
    );
    // Reads, even with a CTE; statements without parameters (the simple protocol); bulk inserts.
    assert.equal(
      isPreparedWrite('select * from "users" where "org_id" = $1 order by "username_fold" limit $2', 2),
      false,
    );
    assert.equal(isPreparedWrite('with recursive "tree" as (select 1 where $1 = 1) select * from "tree"', 1), false);
    assert.equal(
      isPreparedWrite('update "organizations" set "write_version" = "write_version" + 1 where "id" = 1', 0),
      false,
    );
    assert.equal(isPreparedWrite('insert into "users" values ($1)', 65), false);
  });
});

if (DIALECTS.includes('postgres'))
  describe('prepared writes on PostgreSQL', () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp('postgres', { PG_POOL_SIZE: '1' });
    });
    after(() => t.close());

    const prepared = async () =>
      (await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(t.conn.db)).rows.map(
        (r) => r.statement,
      );

    it('keeps a PATCH’s write prepared on the connection, and answers as before', async () => {
      const list = await t.app.inject({ url: '/api/v1/users?pagesize=2', headers: bearer(t.demo.read) });
      const user = list.json<{ results: { user_id: string }[] }>().results[0]!;
      for (const phone of ['206-555-0101', '206-555-0102']) {
        const res = await t.app.inject({
          method: 'PATCH',
          url: `/api/v1/users/${user.user_id}`,
          headers: { ...bearer(t.demo.write), 'content-type': 'application/merge-patch+json' },
          payload: { phone },
        });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json<{ phone: string }>().phone, phone);
      }
      const statements = await prepared();
      assert.ok(
        statements.some((s) => /^\s*with\b/i.test(s) && s.includes('update "users"')),
        `the user's update is prepared: ${statements.join(' | ')}`,
      );
      assert.ok(!statements.some((s) => /^\s*select\b/i.test(s)), 'no read is prepared');
      const again = await t.app.inject({ url: `/api/v1/users/${user.user_id}`, headers: bearer(t.demo.read) });
      assert.equal(again.json<{ phone: string }>().phone, '206-555-0102');
    });

    it('runs a write again when a migration changed what its prepared statement returns', async () => {
      const list = await t.app.inject({ url: '/api/v1/users?pagesize=2', headers: bearer(t.demo.read) });
      const user = list.json<{ results: { user_id: string }[] }>().results[1]!;
      const patch = (phone: string) =>
        t.app.inject({
          method: 'PATCH',
          url: `/api/v1/users/${user.user_id}`,
          headers: { ...bearer(t.demo.write), 'content-type': 'application/merge-patch+json' },
          payload: { phone },
        });
      assert.equal((await patch('206-555-0201')).statusCode, 200);
      // A column added while the process runs: the prepared update returns every column of users.
      await sql`alter table users add column later_column text`.execute(t.conn.db);
      try {
        const res = await patch('206-555-0202');
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json<{ phone: string }>().phone, '206-555-0202');
      } finally {
        await sql`alter table users drop column later_column`.execute(t.conn.db);
      }
      assert.equal((await patch('206-555-0203')).statusCode, 200);
    });
  });
