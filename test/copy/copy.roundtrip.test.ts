import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKeyService } from '../../src/auth/key.service.js';
import type { CopyReport } from '../../src/copy/copy.service.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { newUser } from '../support/writes.js';
import { generateOrganization, runCopy, serveCopy, type CopiedApp } from './helpers.js';

// What a reader sees: every list, page, sort and filter these tests compare byte for byte, with the ETags.
const READS = [
  'users',
  'users?pagesize=7&pagenumber=3',
  'users?sortby=name&sortorder=desc&pagesize=500',
  'users?sortby=last_login_date&pagesize=500',
  'users?status=deactivated&pagesize=500',
  'users?username=nic',
  'users/rsmith',
  'billinggroups',
  'groups',
  'audit?pagesize=1000',
];

const checksums = (report: CopyReport) =>
  report.organizations.map((o) => [o.name, o.tables.map((t) => [t.table, t.rows, t.checksum])]);

for (const first of DIALECTS) {
  const second = DIALECTS.find((d) => d !== first) ?? first;
  describe(`roster copy ${first} → ${second} → ${first}: every answer, key, id and version kept`, () => {
    let source: TestApp;
    const databases: TestDatabase[] = [];
    const apps: CopiedApp[] = [];
    const reports: CopyReport[] = [];
    let keys: { revoked: string; expired: string; otherRead: string };

    before(async () => {
      source = await buildTestApp(first, { RATE_LIMIT: '0' });
      await generateOrganization(source, 300);
      const service = createKeyService(source.conn.db);
      const revoked = await service.createApiKey(source.demo.orgId, 'read');
      await service.revokeApiKey(revoked.prefix);
      const expired = await service.createApiKey(source.demo.orgId, 'read', '2020-01-01T00:00:00.0000000');
      keys = {
        revoked: revoked.key,
        expired: expired.key,
        otherRead: (await service.createApiKey(source.other.orgId, 'read')).key,
      };
      databases.push(await createTestDatabase(second), await createTestDatabase(first));
      const [middle, last] = databases as [TestDatabase, TestDatabase];
      reports.push((await runCopy(source.database.target.url, middle.target.url)).report);
      reports.push((await runCopy(middle.target.url, last.target.url)).report);
      apps.push(await serveCopy(middle), await serveCopy(last));
    });
    after(async () => {
      for (const app of apps) await app.close();
      for (const db of databases) await db.drop();
      await source.close();
    });

    it('copies both organizations, and both hops verify the same counts and checksums', () => {
      assert.deepEqual(
        reports[0]?.organizations.map((o) => o.name),
        ['demo', 'other'],
      );
      const users = reports[0]?.organizations[1]?.tables.find((t) => t.table === 'users');
      assert.equal(users?.rows, 312);
      assert.deepEqual(checksums(reports[1] as CopyReport), checksums(reports[0]));
    });

    for (const read of READS) {
      it(`GET ${read} answers byte-identical bodies and ETags on both copies, in both organizations`, async () => {
        for (const key of [source.demo.admin, source.other.admin]) {
          const want = await source.app.inject({ url: `/api/v1/${read}`, headers: bearer(key) });
          assert.equal(want.statusCode, read === 'users/rsmith' && key === source.other.admin ? 404 : 200);
          for (const copy of apps) {
            const got = await copy.app.inject({ url: `/api/v1/${read}`, headers: bearer(key) });
            assert.equal(got.statusCode, want.statusCode);
            assert.equal(got.body, want.body);
            assert.equal(got.headers.etag, want.headers.etag);
          }
        }
      });
    }

    it('keys made before the copy authenticate after it with their scopes; revoked and expired ones stay refused', async () => {
      for (const copy of apps) {
        const status = async (key: string, method: 'GET' | 'POST' = 'GET', url = 'users?pagesize=1') =>
          (
            await copy.app.inject({
              method,
              url: `/api/v1/${url}`,
              headers: bearer(key),
              payload: method === 'POST' ? {} : undefined,
            })
          ).statusCode;
        assert.equal(await status(source.demo.read), 200);
        assert.equal(await status(keys.otherRead), 200);
        assert.equal(await status(keys.revoked), 401);
        assert.equal(await status(keys.expired), 401);
        // Scope kept: a read key may not write (403), a write key gets as far as validation (400).
        assert.equal(await status(source.demo.read, 'POST', 'users'), 403);
        assert.equal(await status(source.demo.write, 'POST', 'users'), 400);
      }
    });

    it('new rows on a copy take ids past the copied ones (sequences moved)', async () => {
      for (const copy of apps) {
        const headers = { ...bearer(source.other.admin), 'content-type': 'application/json' };
        const bg = await copy.app.inject({
          method: 'POST',
          url: '/api/v1/billinggroups',
          headers,
          payload: { billing_group_name: 'After the copy' },
        });
        assert.equal(bg.statusCode, 201, bg.body);
        const max = await copy.conn.db
          .selectFrom('billing_groups')
          .select((eb) => eb.fn.max('id').as('m'))
          .where('id', '<>', bg.json().billing_group_id)
          .executeTakeFirstOrThrow();
        assert.ok(bg.json().billing_group_id > Number(max.m));
        const user = await copy.app.inject({
          method: 'POST',
          url: '/api/v1/users',
          headers,
          payload: newUser('after.copy'),
        });
        assert.equal(user.statusCode, 201, user.body);
      }
    });
  });
}
