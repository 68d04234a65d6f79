import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { importFile, tempFile } from '../import/helpers.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { rosterInBash, STACK } from './pipes.js';

const BULK_USERS = 3000;

for (const dialect of DIALECTS) {
  describe(`CLI output into \`head -1\` and into a full disk (${dialect})`, () => {
    let t: TestApp;
    let env: Record<string, string>;
    before(async () => {
      t = await buildTestApp(dialect);
      env = { DATABASE_URL: t.config.database.url, ROSTER_DEMO: '0' };
      // Output far larger than a pipe holds (64 KiB), so a reader that stops early breaks the pipe mid-output.
      const rows = Array.from(
        { length: BULK_USERS },
        (_, i) => `bulk.${i},Bulk User ${i},bulk.${i}@example.com,full,reporting`,
      );
      const run = await importFile(
        t.conn,
        t.other.orgId,
        tempFile('bulk.csv', `username,name,email,call_detail_level,roles\n${rows.join('\n')}\n`),
      );
      assert.equal(run.counts.imported, BULK_USERS);
    });
    after(async () => t.close());

    it('`| head -1` on export, audit and keys list: the first line, exit 0, no stack trace', async () => {
      const cases: Array<[string[], RegExp]> = [
        [['export', '--org', 'other'], /^\{"user_id":"[^"]+","username":"bulk\.0",.*\}\n$/],
        [['audit', '--org', 'other'], /^\{"audit_id":\d+,.*\}\n$/],
        [['keys', 'list', '--org', 'demo'], /^ID\s+PREFIX\s+SCOPE\s+CREATED\s+LAST_USED\s+EXPIRES\s+REVOKED\n$/],
      ];
      for (const [args, firstLine] of cases) {
        const run = await rosterInBash(args, '| head -1', env);
        assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
        assert.match(run.stdout, firstLine, args.join(' '));
        assert.doesNotMatch(run.stderr, STACK, args.join(' '));
      }
    });

    it('a stdout that fails otherwise (a full disk: /dev/full) fails the command, with a message and no stack trace', async () => {
      for (const args of [
        ['export', '--org', 'other'],
        ['keys', 'list', '--org', 'demo'],
      ]) {
        const run = await rosterInBash(args, '> /dev/full', env);
        assert.equal(run.code, 1, `${args.join(' ')}: ${run.stderr}`);
        assert.match(run.stderr, /^roster: .*ENOSPC: no space left on device/m, args.join(' '));
        assert.doesNotMatch(run.stderr, STACK, args.join(' '));
      }
    });
  });
}
