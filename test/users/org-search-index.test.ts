import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { pgTrigramArray, sqliteTrigramQuery } from '../../src/users/user.trigrams.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { insertTestUsers } from '../support/users.js';

/**
 * The substring search index is scoped by organization (migration 011): a string that exists only in
 * one organization's data is not in the posting lists another organization's search reads, so neither
 * the answer nor the work of that search depends on it.
 */

const NEEDLE = 'qzxv';

for (const dialect of DIALECTS) {
  describe(`substring search index per organization (${dialect})`, () => {
    let t: TestApp;

    before(async () => {
      t = await buildTestApp(dialect);
      // The needle only in the demo organization's data, many times over; the other organization has one.
      await insertTestUsers(
        t.conn,
        t.demo.orgId,
        Array.from({ length: 60 }, (_, i) => ({ username: `${NEEDLE}.${i}`, name: `Name ${NEEDLE} ${i}` })),
      );
      await insertTestUsers(t.conn, t.other.orgId, [{ username: `other.${NEEDLE}`, name: 'Other' }]);
    });
    after(async () => t.close());

    /** How many rows the index gives as candidates for the needle in the organization's usernames. */
    async function candidates(orgId: number): Promise<number> {
      if (dialect === 'sqlite') {
        const { rows } = await sql<{ n: number }>`select count(*) as n from users_trgm
          where users_trgm match ${sqliteTrigramQuery(orgId, 'username_fold', NEEDLE)}`.execute(t.conn.db);
        return Number(rows[0]!.n);
      }
      // The GIN index's own count: a bitmap scan of it alone, before any row is read.
      return t.conn.db.transaction().execute(async (trx) => {
        await sql`set local enable_seqscan = off`.execute(trx);
        const { rows } = await sql<{ 'QUERY PLAN': unknown }>`explain (analyze, format json)
          select count(*) from users where roster_org_trigrams(org_id, username_fold) @> ${pgTrigramArray(orgId, NEEDLE)}::text[]`.execute(
          trx,
        );
        const plan = JSON.stringify(rows[0]!['QUERY PLAN']);
        const scan =
          /"Node Type":"Bitmap Index Scan",[^}]*"Index Name":"users_username_trgm"[^}]*"Actual Rows":(\d+)/.exec(plan);
        assert.ok(scan, plan);
        return Number(scan[1]);
      });
    }

    it("reads only the organization's own posting lists: the other's 60 matches are not candidates", async () => {
      assert.equal(await candidates(t.demo.orgId), 60);
      assert.equal(await candidates(t.other.orgId), 1);
    });

    it('answers each organization with its own matches only', async () => {
      const search = async (key: string) =>
        (await t.app.inject({ url: `/api/v1/users?username=${NEEDLE}&pagesize=100`, headers: bearer(key) })).json();
      assert.equal((await search(t.demo.admin)).paging.total, 60);
      const other = await search(t.other.admin);
      assert.equal(other.paging.total, 1);
      assert.equal(other.results[0].username, `other.${NEEDLE}`);
    });

    it('keeps the index in step with renames: the old trigrams leave, the new ones come', async () => {
      const renamed = await t.app.inject({
        method: 'PATCH',
        url: `/api/v1/users/other.${NEEDLE}`,
        headers: { ...bearer(t.other.admin), 'content-type': 'application/json' },
        payload: { username: 'other.plain' },
      });
      assert.equal(renamed.statusCode, 200, renamed.body);
      const total = async (needle: string) =>
        (await t.app.inject({ url: `/api/v1/users?username=${needle}`, headers: bearer(t.other.admin) })).json().paging
          .total;
      assert.equal(await total(NEEDLE), 0);
      assert.equal(await total('plain'), 1);
      assert.equal(await candidates(t.demo.orgId), 60);
    });
  });
}
