import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tempFile } from '../import/helpers.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { rosterIntoClosedReader, STACK } from './pipes.js';

for (const dialect of DIALECTS) {
  describe(`CLI commands that change the database, with their reader gone before they report (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(dialect);
    });
    after(async () => t.close());

    it('orgs create, keys create, migrate and import do their work and exit with their own code, without a stack trace', async () => {
      const env = { DATABASE_URL: t.config.database.url, ROSTER_DEMO: '0' };
      const good = tempFile(
        'one.csv',
        'username,name,email,call_detail_level,roles\nclosed.reader,Closed Reader,,full,reporting\n',
      );
      const bad = tempFile('bad.csv', 'username,name,email,call_detail_level,roles\nno.roles,No Roles,,full,\n');
      const keysBefore = await t.conn.db
        .selectFrom('api_keys')
        .select('id')
        .where('org_id', '=', t.demo.orgId)
        .execute();
      const cases: Array<[string[], number]> = [
        [['orgs', 'create', 'closed-reader'], 0],
        [['keys', 'create', '--org', 'demo', '--scope', 'read'], 0],
        [['migrate'], 0],
        [['import', '--org', 'demo', good], 0],
        // A rejected row still fails the import: a closed stdout changes no exit code.
        [['import', '--org', 'demo', bad], 1],
      ];
      for (const [args, code] of cases) {
        const run = await rosterIntoClosedReader(args, env);
        assert.equal(run.code, code, `${args.join(' ')}: ${run.stderr}`);
        assert.doesNotMatch(run.stderr, STACK, args.join(' '));
      }
      const org = await t.conn.db
        .selectFrom('organizations')
        .select('id')
        .where('name', '=', 'closed-reader')
        .executeTakeFirst();
      assert.ok(org, 'the organization was created');
      const keysAfter = await t.conn.db
        .selectFrom('api_keys')
        .select('id')
        .where('org_id', '=', t.demo.orgId)
        .execute();
      assert.equal(keysAfter.length, keysBefore.length + 1, 'the key was created');
      const imported = await t.conn.db
        .selectFrom('users')
        .select('username')
        .where('org_id', '=', t.demo.orgId)
        .where('username', '=', 'closed.reader')
        .execute();
      assert.equal(imported.length, 1, 'the import was written');
    });
  });
}
