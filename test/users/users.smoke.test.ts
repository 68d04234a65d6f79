import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

for (const dialect of DIALECTS) {
  describe(`GET users, the seed's envelope (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(dialect);
    });
    after(async () => t.close());

    it('answers pagesize=3 with the seed envelope and total 165', async () => {
      const res = await t.app.inject({ url: '/api/v1/users?pagesize=3', headers: bearer(t.demo.read) });
      assert.equal(res.statusCode, 200);
      const body = res.json();
      assert.deepEqual(body.paging, { pageNumber: 1, pageSize: 3, total: 165 });
      assert.equal(body.results.length, 3);
      assert.deepEqual(Object.keys(body), ['paging', 'results']);
    });

    it("serves rsmith exactly as the seed shows him, keys in the contract's order", async () => {
      const res = await t.app.inject({ url: '/api/v1/users/rsmith', headers: bearer(t.demo.read) });
      assert.equal(res.statusCode, 200);
      assert.equal(
        res.body,
        JSON.stringify({
          user_id: '627b4c86-1ff1-4ca7-8827-95c214666636',
          username: 'rsmith',
          name: 'Rob Smith',
          email: '',
          phone: '',
          call_detail_level: 'full',
          restrict_recording_download: false,
          status: 'deactivated',
          last_login_date: '2016-03-03T16:13:59.1917141',
          last_updated_date: '2015-12-03T20:06:02.083',
          deactivation_date: '2016-08-24T13:39:03.937',
          roles: ['call_record_listen', 'reporting', 'administrator', 'ordering'],
          access: { billing_groups: ['1234'], group_owners: [] },
        }),
      );
    });
  });
}
