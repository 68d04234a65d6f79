import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { exportCommand } from '../../src/commands/export.js';
import { loadConfig } from '../../src/config.js';
import { connect, type Connection } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrator.js';
import { createKeyService } from '../../src/auth/key.service.js';
import { createOrgService } from '../../src/orgs/org.service.js';
import type { StreamFormat } from '../../src/users/user.formats.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { importFile, tempFile } from '../import/helpers.js';

/** Runs `roster export` in-process and returns what it wrote to stdout. */
async function exportText(t: TestApp, format: StreamFormat, filters: Record<string, unknown> = {}): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await exportCommand(t.config, { org: 'demo', format, ...filters }, out);
  return Buffer.concat(chunks).toString('utf8');
}

const QUERIES = [
  '',
  '?pagesize=7&pagenumber=3',
  '?sortby=name&sortorder=desc',
  '?sortby=last_login_date',
  '?sortby=last_updated_date&sortorder=desc',
  '?billing_group=1234&billing_group=2001',
  '?group_owner=7001',
  '?status=deactivated&role=reporting',
  '?username=e&name=a',
];

for (const dialect of DIALECTS) {
  for (const format of ['ndjson', 'csv'] as const) {
    describe(`export → import into an empty database reproduces the organization (${format}, ${dialect})`, () => {
      let source: TestApp;
      let target: { db: TestDatabase; conn: Connection; app: FastifyInstance; key: string };
      before(async () => {
        source = await buildTestApp(dialect);
        const db = await createTestDatabase(dialect);
        const config = loadConfig({ DATABASE_URL: db.target.url, LOG_LEVEL: 'silent' });
        const conn = connect(config.database);
        await migrateToLatest(conn);
        const orgId = await createOrgService(conn.db).createOrganization('demo');
        const key = (await createKeyService(conn.db).createApiKey(orgId, 'read')).key;
        const text = await exportText(source, format);
        const run = await importFile(conn, orgId, tempFile(`demo.${format}`, text), {
          createMissing: true,
          batchSize: 50,
        });
        assert.deepEqual(run.messages, []);
        assert.deepEqual(run.counts, { imported: 165, updated: 0, unchanged: 0, rejected: 0 });
        const app = await buildApp(config, conn);
        await app.ready();
        target = { db, conn, app, key };
      });
      after(async () => {
        await source.close();
        await target.app.close();
        await target.conn.close();
        await target.db.drop();
      });

      for (const query of QUERIES) {
        it(`GET users${query} answers byte-identical bodies`, async () => {
          const a = await source.app.inject({ url: `/api/v1/users${query}`, headers: bearer(source.demo.read) });
          const b = await target.app.inject({ url: `/api/v1/users${query}`, headers: bearer(target.key) });
          assert.equal(a.statusCode, 200);
          assert.equal(b.statusCode, 200);
          assert.equal(b.body, a.body);
        });
      }

      it('GET users/{user} answers byte-identical bodies for the seed users', async () => {
        for (const ref of ['rsmith', 'mhopper', 'ewoods', 'test1']) {
          const a = await source.app.inject({ url: `/api/v1/users/${ref}`, headers: bearer(source.demo.read) });
          const b = await target.app.inject({ url: `/api/v1/users/${ref}`, headers: bearer(target.key) });
          assert.equal(a.statusCode, 200, ref);
          assert.equal(b.body, a.body);
        }
      });

      it('exports the same bytes from the copy, and re-importing the export changes nothing', async () => {
        const again = await exportText(source, format);
        const out = new PassThrough();
        const chunks: Buffer[] = [];
        out.on('data', (c: Buffer) => chunks.push(c));
        await exportCommand(
          loadConfig({ DATABASE_URL: target.db.target.url, LOG_LEVEL: 'silent' }),
          { org: 'demo', format },
          out,
        );
        assert.equal(Buffer.concat(chunks).toString('utf8'), again);
        const orgId = (
          await target.conn.db
            .selectFrom('organizations')
            .select('id')
            .where('name', '=', 'demo')
            .executeTakeFirstOrThrow()
        ).id;
        const run = await importFile(target.conn, orgId, tempFile(`again.${format}`, again));
        assert.deepEqual(run.counts, { imported: 0, updated: 0, unchanged: 165, rejected: 0 });
      });

      it('export takes the GET users filters and sort', async () => {
        const text = await exportText(source, 'ndjson', {
          status: ['deactivated'],
          role: ['reporting'],
          sortby: 'name',
          sortorder: 'desc',
        });
        const page = await source.app.inject({
          url: '/api/v1/users?status=deactivated&role=reporting&sortby=name&sortorder=desc',
          headers: bearer(source.demo.read),
        });
        assert.deepEqual(
          text.split('\n').filter((l) => l !== ''),
          page.json().results.map((u: unknown) => JSON.stringify(u)),
        );
      });
    });
  }
}
