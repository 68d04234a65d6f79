import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOrgService } from '../../src/orgs/org.service.js';
import { ImportFileError } from '../../src/import/import.errors.js';
import type { ImportCounts } from '../../src/import/import.service.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { importFile, runCli, tempFile } from './helpers.js';

const HEADER = 'username,name,email,call_detail_level,roles';
/** The good row of line n (the header is line 1). */
const good = (n: number) => `u${n},User ${n},u${n}@example.com,full,reporting`;
/** A CSV of data lines 2..last, each good unless `bad` gives its text. */
function csv(last: number, bad: Record<number, string>, eol = '\n', bom = ''): string {
  const lines = [HEADER];
  for (let n = 2; n <= last; n++) lines.push(bad[n] ?? good(n));
  return `${bom}${lines.join(eol)}${eol}`;
}
/** The usernames of the good rows among lines from..to. */
const goodNames = (from: number, to: number, bad: Record<number, string>) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i)
    .filter((n) => bad[n] === undefined)
    .map((n) => `u${n}`)
    .sort();

for (const dialect of DIALECTS) {
  describe(`roster import: every row before a break is imported or reported (${dialect})`, () => {
    let t: TestApp;
    let orgN = 0;
    before(async () => {
      t = await buildTestApp(dialect);
    });
    after(async () => t.close());

    const freshOrg = async () => createOrgService(t.conn.db).createOrganization(`acct${++orgN}`);
    const stored = async (orgId: number) =>
      (await t.conn.db.selectFrom('users').select('username').where('org_id', '=', orgId).execute())
        .map((r) => r.username)
        .sort();

    /** Imports a file that breaks at line `at`; checks the error and returns the account it carries. */
    async function importBroken(orgId: number, path: string, at: number, message: RegExp, batchSize?: number) {
      let counts: Readonly<ImportCounts> | null = null;
      await assert.rejects(importFile(t.conn, orgId, path, { batchSize }), (error) => {
        assert.ok(error instanceof ImportFileError, String(error));
        assert.match(error.message, message);
        assert.equal(error.line, at);
        counts = error.counts;
        return true;
      });
      return { counts: counts as Readonly<ImportCounts> | null };
    }

    it("the issue's 3,000-row CSV (BOM, CRLF): 2,996 imported, lines 102, 1502 and 2202 rejected, 3001 not reached, exit 2", async () => {
      const orgId = await freshOrg();
      const bad = {
        102: 'u102,User 102,bob@,full,reporting',
        1502: 'u1502,User 1502,,full,wizard',
        2202: 'u2202,User 2202,,everything,reporting',
        3001: 'u3001,"Never closed,,full,reporting',
      };
      const file = tempFile('issue16.csv', csv(3001, bad, '\r\n', '\uFEFF'));
      const res = await runCli(['import', '--org', `acct${orgN}`, file], {
        DATABASE_URL: t.config.database.url,
        ROSTER_DEMO: '0',
      });
      assert.equal(res.code, 2, res.stderr);
      const lines = res.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 4, res.stderr);
      assert.equal(
        lines[0],
        'line 102, email: "bob@" is not an email address (like name@example.com); leave it empty when unknown',
      );
      assert.match(lines[1]!, /^line 1502, roles: "wizard" is not a role; roles are /);
      assert.match(lines[2]!, /^line 2202, call_detail_level: "everything" is not a call detail level; use one of /);
      assert.match(
        lines[3]!,
        /^roster: .*issue16\.csv, line 3001: a quoted field starts in this row and is never closed/,
      );
      assert.match(
        res.stdout,
        /^read 2999: imported 2996, updated 0, unchanged 0, rejected 3, not reached: lines 3001–end in \d+\.\d s\n$/,
      );
      assert.deepEqual(await stored(orgId), goodNames(2, 3000, bad));
    });

    for (const [where, at] of [
      ['start', 2],
      ['middle', 1500],
      ['end', 3001],
    ] as const) {
      it(`an unterminated quote at the ${where} (line ${at}): every good row before it lands, the rest is not reached`, async () => {
        const orgId = await freshOrg();
        const bad = { 40: 'u40,User 40,,full,', [at]: `u${at},"Open quote,,full,reporting` };
        const { counts } = await importBroken(
          orgId,
          tempFile(`quote-${where}.csv`, csv(3001, bad)),
          at,
          new RegExp(`line ${at}: a quoted field starts in this row and is never closed`),
          500,
        );
        const before = Math.max(0, at - 2);
        const rejected = at > 40 ? 1 : 0;
        assert.deepEqual(counts, { imported: before - rejected, updated: 0, unchanged: 0, rejected });
        assert.deepEqual(await stored(orgId), at > 2 ? goodNames(2, at - 1, bad) : []);
      });
    }

    it('a wrong number of columns rejects that row only, naming it; the rows after it land', async () => {
      const orgId = await freshOrg();
      const bad = { 7: 'u7,User 7,,full,reporting,extra', 8: 'u8,User 8' };
      const run = await importFile(t.conn, orgId, tempFile('columns.csv', csv(20, bad)), { batchSize: 5 });
      assert.deepEqual(run.counts, { imported: 17, updated: 0, unchanged: 0, rejected: 2 });
      assert.deepEqual(run.messages, [
        'line 7, (row): has 6 fields but the header has 5: check for a missing or extra comma, or a value holding a comma that is not in quotes',
        'line 8, (row): has 2 fields but the header has 5: check for a missing or extra comma, or a value holding a comma that is not in quotes',
      ]);
      assert.deepEqual(await stored(orgId), goodNames(2, 20, bad));
    });

    it('a file cut mid-line: the cut row is rejected (outside quotes) or not reached (inside quotes); all before it land', async () => {
      const outside = await freshOrg();
      const cut = csv(1001, {}).slice(0, -'ll,reporting\n'.length);
      assert.ok(cut.endsWith('u1001,User 1001,u1001@example.com,fu'));
      const run = await importFile(t.conn, outside, tempFile('cut.csv', cut));
      assert.deepEqual(run.counts, { imported: 999, updated: 0, unchanged: 0, rejected: 1 });
      assert.match(run.messages[0]!, /^line 1001, \(row\): has 4 fields but the header has 5/);
      assert.deepEqual(await stored(outside), goodNames(2, 1000, {}));

      const inside = await freshOrg();
      const quoted = `${csv(1000, {})}u1001,"User 10`;
      const { counts } = await importBroken(
        inside,
        tempFile('cut-quoted.csv', quoted),
        1001,
        /line 1001: a quoted field starts in this row and is never closed/,
      );
      assert.deepEqual(counts, { imported: 999, updated: 0, unchanged: 0, rejected: 0 });
      assert.deepEqual(await stored(inside), goodNames(2, 1000, {}));
    });

    it('a JSON array cut mid-element: the elements before it land, the cut one is where the break is', async () => {
      const orgId = await freshOrg();
      const users = Array.from({ length: 30 }, (_, i) =>
        JSON.stringify({ username: `j${i}`, name: 'J', call_detail_level: 'full', roles: ['reporting'] }),
      );
      const text = `[\n${users.join(',\n')},\n{"username": "cut", "name": "C`;
      const { counts } = await importBroken(
        orgId,
        tempFile('cut.json', text),
        32,
        /line 32: not a JSON array of user objects \(the array is never closed/,
        7,
      );
      assert.deepEqual(counts, { imported: 30, updated: 0, unchanged: 0, rejected: 0 });
      assert.equal((await stored(orgId)).length, 30);
    });
  });
}
