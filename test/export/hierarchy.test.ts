import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createKeyService } from '../../src/auth/key.service.js';
import { exportCommand, type ExportCommandOptions } from '../../src/commands/export.js';
import { loadConfig } from '../../src/config.js';
import { connect, type Connection } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrator.js';
import { importHierarchy } from '../../src/import/import.hierarchy.js';
import { createOrgService } from '../../src/orgs/org.service.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { generateOrganization, serveCopy, type CopiedApp } from '../copy/helpers.js';
import { importFile, tempFile } from '../import/helpers.js';

/** Runs `roster export` in-process; returns what it wrote. */
async function exported(t: TestApp, org: string, what: ExportCommandOptions['what']): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await exportCommand(t.config, { org, format: 'ndjson', what }, out);
  return Buffer.concat(chunks).toString('utf8');
}

for (const dialect of DIALECTS) {
  describe(`export --what hierarchy + users → import into an empty database recreates the organization (${dialect})`, () => {
    let source: TestApp;
    let database: TestDatabase;
    let conn: Connection;
    let target: CopiedApp;
    const keys: Record<string, string> = {};
    const hierarchy: Record<string, string> = {};
    const problems: string[] = [];

    before(async () => {
      source = await buildTestApp(dialect, { RATE_LIMIT: '0' });
      await generateOrganization(source, 40);
      // An inactive leaf that holds a group: the import must place the group before the status.
      const call = (method: 'POST' | 'PUT', url: string, payload: object) =>
        source.app.inject({ method, url: `/api/v1/${url}`, headers: bearer(source.other.admin), payload });
      const leaf = (await call('POST', 'billinggroups', { billing_group_name: 'Closing' })).json();
      await call('POST', 'groups', { group_name: 'Last team', billing_group_id: leaf.billing_group_id });
      await call('PUT', `billinggroups/${leaf.billing_group_id}`, { status: 'inactive' });

      database = await createTestDatabase(dialect);
      conn = connect(loadConfig({ DATABASE_URL: database.target.url }).database);
      await migrateToLatest(conn);
      // Created in the other order than the source: ids of organizations are not what is carried.
      for (const org of ['other', 'demo']) {
        const orgId = await createOrgService(conn.db).createOrganization(org);
        keys[org] = (await createKeyService(conn.db).createApiKey(orgId, 'read')).key;
        hierarchy[org] = await exported(source, org, 'hierarchy');
        const counts = await importHierarchy(conn.db, orgId, tempFile(`${org}.ndjson`, hierarchy[org]), (line, m) =>
          problems.push(`${org} line ${line}: ${m}`),
        );
        assert.equal(counts.rejected, 0, problems.join('\n'));
        const users = await importFile(
          conn,
          orgId,
          tempFile(`${org}-users.ndjson`, await exported(source, org, 'users')),
        );
        assert.deepEqual(users.messages, []);
      }
      target = await serveCopy(database);
    });
    after(async () => {
      await target.close();
      await conn.close();
      await database.drop();
      await source.close();
    });

    it('exports billing groups parents first, then groups, each as GET answers them', async () => {
      const lines =
        hierarchy.other
          ?.trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>) ?? [];
      const list = (
        await source.app.inject({ url: '/api/v1/billinggroups', headers: bearer(source.other.admin) })
      ).json();
      assert.equal(lines.length, list.length + 5);
      const seen = new Set<unknown>();
      for (const line of lines.filter((l) => 'billing_group_name' in l)) {
        assert.ok(
          line.parent_id === null || seen.has(line.parent_id),
          `parent of ${String(line.billing_group_id)} comes first`,
        );
        seen.add(line.billing_group_id);
      }
    });

    for (const read of ['billinggroups', 'groups', 'users?pagesize=500', 'users?sortby=last_login_date&pagesize=500']) {
      it(`GET ${read} answers byte-identical bodies, without --create-missing`, async () => {
        for (const [org, key] of [
          ['demo', source.demo.admin],
          ['other', source.other.admin],
        ] as const) {
          const want = await source.app.inject({ url: `/api/v1/${read}`, headers: bearer(key) });
          const got = await target.app.inject({ url: `/api/v1/${read}`, headers: bearer(keys[org] as string) });
          assert.equal(got.statusCode, 200);
          assert.equal(got.body, want.body);
        }
      });
    }

    it('importing the hierarchy again changes nothing; an id another organization holds is refused', async () => {
      const orgId = await createOrgService(conn.db).requireOrganization('other');
      const again = await importHierarchy(conn.db, orgId, tempFile('again.ndjson', hierarchy.other ?? ''), () => {});
      assert.deepEqual(again, { imported: 0, updated: 0, unchanged: again.unchanged, rejected: 0 });
      const theirs = await createOrgService(conn.db).requireOrganization('demo');
      const messages: string[] = [];
      const taken = await importHierarchy(conn.db, theirs, tempFile('taken.ndjson', hierarchy.other ?? ''), (line, m) =>
        messages.push(`line ${line}: ${m}`),
      );
      assert.equal(taken.imported, 0);
      assert.ok(taken.rejected > 0);
      assert.match(messages[0] ?? '', /^line 1: its id belongs to another organization/);
    });
  });
}
