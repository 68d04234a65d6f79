import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { runCli, tempFile, tempPath } from './helpers.js';

const NO_STACK = /\n\s+at |Error:|node:internal/;

for (const dialect of DIALECTS) {
  describe(`roster import and export as real processes (${dialect})`, () => {
    let t: TestApp;
    let env: Record<string, string>;
    before(async () => {
      t = await buildTestApp(dialect);
      env = { DATABASE_URL: t.config.database.url, ROSTER_DEMO: '0' };
    });
    after(async () => t.close());
    const total = async () =>
      (await t.app.inject({ url: '/api/v1/users?pagesize=1', headers: bearer(t.other.admin) })).json().paging.total;

    it('reports each rejected row on stderr, prints the summary, writes --rejects verbatim and exits 1', async () => {
      const file = tempFile(
        'cli.csv',
        'username,name,email,call_detail_level,roles\r\ncli1,One,,full,reporting\r\ncli2,"Two, ""2""",bob@,full,reporting\r\ncli3,Three,,full,\r\n',
      );
      const rejects = tempPath('rejects.csv');
      const res = await runCli(['import', '--org', 'other', '--rejects', rejects, file], env);
      assert.equal(res.code, 1);
      assert.equal(
        res.stderr,
        'line 3, email: "bob@" is not an email address (like name@example.com); leave it empty when unknown\n' +
          'line 4, roles: is required for a new user (no user of this organization has this user_id or username)\n',
      );
      assert.match(res.stdout, /^read 3: imported 1, updated 0, unchanged 0, rejected 2 in \d+\.\d s\n$/);
      assert.equal(
        readFileSync(rejects, 'utf8'),
        'username,name,email,call_detail_level,roles\r\ncli2,"Two, ""2""",bob@,full,reporting\r\ncli3,Three,,full,\r\n',
      );
      assert.equal(await total(), 1);
    });

    it('--strict writes nothing when a row is bad, and exits 1', async () => {
      const before = await total();
      const file = tempFile(
        'strict.ndjson',
        '{"username":"s1","name":"S","call_detail_level":"full","roles":["reporting"]}\n{"username":"s2","name":"S","call_detail_level":"full","roles":[]}\n',
      );
      const res = await runCli(['import', '--org', 'other', '--strict', file], env);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /^line 2, roles: needs at least one role/);
      assert.match(res.stdout, /rejected 1 in .*; --strict: nothing was written\n$/);
      assert.equal(await total(), before);
    });

    for (const [label, args, code, message] of [
      [
        'an unterminated quote',
        ['import', '--org', 'other', tempFile('open.csv', 'username,name\nx,"never closed\n')],
        2,
        /^roster: .*open\.csv, line 2: a quoted field starts in this row and is never closed/,
      ],
      [
        'a binary file',
        ['import', '--org', 'other', tempFile('bin.dat', Buffer.from([1, 2, 0, 3]))],
        2,
        /^roster: .*bin\.dat is not CSV, NDJSON or JSON: it holds binary data\n$/,
      ],
      [
        'a missing file',
        ['import', '--org', 'other', '/nonexistent/users.csv'],
        2,
        /^roster: \/nonexistent\/users\.csv: no such file\n$/,
      ],
      [
        'an unknown organization',
        ['import', '--org', 'nosuch', tempFile('ok.csv', 'username\n')],
        1,
        /^roster: no organization named "nosuch"\n$/,
      ],
      [
        'an unknown status to export',
        ['export', '--org', 'other', '--status', 'retired'],
        1,
        /"retired" is not one of awaiting_approval, activated, deactivated/,
      ],
    ] as const) {
      it(`${label} is one clear line on stderr and exit code ${code}, never a stack trace`, async () => {
        const res = await runCli([...args], env);
        assert.equal(res.code, code, `${args.join(' ')}: ${res.stderr}`);
        assert.match(res.stderr, message);
        assert.doesNotMatch(res.stderr, NO_STACK);
      });
    }

    it('export streams CSV to stdout with the GET users filters', async () => {
      const res = await runCli(
        ['export', '--org', 'demo', '--format', 'csv', '--status', 'deactivated', '--billing-group', '1234'],
        env,
      );
      assert.equal(res.code, 0, res.stderr);
      const page = (
        await t.app.inject({ url: '/api/v1/users?status=deactivated&billing_group=1234', headers: bearer(t.demo.read) })
      ).json();
      const records: string[][] = parse(res.stdout);
      assert.equal(records.length - 1, page.paging.total);
      assert.deepEqual(
        records.slice(1).map((r) => r[0]),
        page.results.map((u: { user_id: string }) => u.user_id),
      );
    });
  });
}
