import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { caller, newUser } from '../support/writes.js';
import { CHANGED_USER_COLUMNS } from '../../src/users/user.changes.js';
import { findChangesSince } from '../../src/users/user.changes.repository.js';

/**
 * Issue 13's example: a PATCH of one user's phone keeps the cached answers it does not change (the total of
 * `username=smi`, page 1 when the user is not on it) and drops those it does. Seen through /metrics.
 */
for (const dialect of DIALECTS) {
  describe(`what a write invalidates (${dialect})`, () => {
    let t: TestApp;
    let call: ReturnType<typeof caller>;

    before(async () => {
      t = await buildTestApp(dialect);
      call = caller(t, t.demo.admin);
      for (const name of ['qsmi.first', 'qsmi.second', 'qsmi.third', 'zz.unrelated'])
        assert.equal((await call('POST', 'users', { body: newUser(name) })).statusCode, 201);
    });
    after(async () => t.close());

    const counts = async () => {
      const text = (await t.app.inject({ url: '/metrics' })).body;
      const count = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
      return { kept: count('roster_answer_cache_kept_total'), dropped: count('roster_answer_cache_dropped_total') };
    };
    let serial = 0;
    /**
     * Reads `path` twice around `write` and says whether the cached answer was kept. A write the query does
     * not see comes first: an answer is checked against the changes from its own version on (those of a
     * writer that bumps write_version last are logged one version early), so this makes that version's
     * change one that cannot touch it.
     */
    async function around(path: string, write: () => Promise<void>) {
      await patchPhone('zz.unrelated', `705-722-${String(1000 + serial++)}`)();
      const first = await call('GET', path);
      assert.equal(first.statusCode, 200, first.body);
      const before = await counts();
      await write();
      const second = await call('GET', path);
      const after = await counts();
      return {
        first: first.json(),
        second: second.json(),
        kept: after.kept - before.kept,
        dropped: after.dropped - before.dropped,
      };
    }
    const patchPhone = (user: string, phone: string) => async () => {
      const res = await call('PATCH', `users/${user}`, { body: { phone } });
      assert.equal(res.statusCode, 200, res.body);
    };

    it("keeps username=qsmi's page and total when a matching user off the page changes phone", async () => {
      const r = await around('users?username=qsmi&pagesize=1', patchPhone('qsmi.third', '705-722-4398'));
      assert.deepEqual(r.second, r.first);
      assert.equal(r.second.paging.total, 3);
      assert.deepEqual([r.kept, r.dropped], [1, 0]);
    });

    it('drops the page when the changed user is on it', async () => {
      const r = await around('users?username=qsmi&pagesize=1', patchPhone('qsmi.first', '705-722-4399'));
      assert.equal(r.second.results[0].phone, '705-722-4399');
      assert.deepEqual([r.kept, r.dropped], [0, 1]);
    });

    it('drops a page the changed user crosses in the sort order (last_updated_date)', async () => {
      const path = 'users?sortby=last_updated_date&sortorder=desc&pagesize=2&pagenumber=2';
      const r = await around(path, patchPhone('qsmi.second', '705-722-4390'));
      assert.deepEqual([r.kept, r.dropped], [0, 1]);
      assert.notDeepEqual(r.second.results, r.first.results);
    });

    it('drops the total when a user starts to match', async () => {
      const r = await around('users?username=qsmi&pagesize=1', async () => {
        const res = await call('PATCH', 'users/rsmith', { body: { username: 'rqsmi.renamed' } });
        assert.equal(res.statusCode, 200, res.body);
      });
      assert.equal(r.second.paging.total, r.first.paging.total + 1);
      assert.deepEqual([r.kept, r.dropped], [0, 1]);
    });

    it('logs exactly the columns a change is judged by (CHANGED_USER_COLUMNS)', async () => {
      await patchPhone('zz.unrelated', '705-722-9999')();
      const { changes } = await findChangesSince(t.conn.db, t.demo.orgId, 0, 100_000);
      const last = changes.at(-1);
      assert.ok(last?.before && last.after, 'the PATCH is logged with both sides');
      assert.deepEqual(Object.keys(last.after).sort(), [...CHANGED_USER_COLUMNS].sort());
      assert.deepEqual(Object.keys(last.before).sort(), [...CHANGED_USER_COLUMNS].sort());
    });
  });
}
