import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NEEDLES_PER_PARAMETER, NEEDLES_TOTAL, ACCESS_IDS_MAX } from '../../src/users/user.schemas.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { insertTestUsers } from '../support/users.js';

// The cost budget of a request (docs/security.md, section 18): needles, id lists and body depth are capped,
// and each of the shapes that once reached a 500 is a 400 that says the limit.

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: { parameter?: string; pointer?: string; message: string }[];
}

function problemOf(res: { statusCode: number; headers: Record<string, unknown>; body: string }): Problem {
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  return JSON.parse(res.body) as Problem;
}

const repeat = (name: string, values: string[]) => values.map((v) => `${name}=${encodeURIComponent(v)}`).join('&');

for (const dialect of DIALECTS) {
  describe(`cost budget of a request (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(dialect);
      await insertTestUsers(t.conn, t.demo.orgId, [
        { username: 'qzuser', name: 'Qz Person' },
        { username: 'aardvark', name: 'A Aardvark' },
      ]);
    });
    after(() => t.close());

    const get = (url: string) => t.app.inject({ method: 'GET', url: `/api/v1/${url}`, headers: bearer(t.demo.read) });

    it('repeated needles are deduplicated: 997 × name=qz is one search', async () => {
      const res = await get(`users?${repeat('name', Array<string>(997).fill('qz'))}`);
      assert.equal(res.statusCode, 200);
      const page = JSON.parse(res.body) as { paging: { total: number }; results: { username: string }[] };
      assert.deepEqual(
        page.results.map((u) => u.username),
        ['qzuser'],
      );
    });

    it('998 × name=a (once "Expression tree is too large" on SQLite) is answered', async () => {
      const res = await get(`users?${repeat('name', Array<string>(998).fill('a'))}&pagesize=1`);
      assert.equal(res.statusCode, 200);
    });

    it('needles that differ only in case count once', async () => {
      const values = Array.from({ length: NEEDLES_PER_PARAMETER + 5 }, (_, i) => (i % 2 ? 'QZ' : 'qz'));
      const res = await get(`users?${repeat('name', values)}`);
      assert.equal(res.statusCode, 200);
    });

    it(`more than ${NEEDLES_PER_PARAMETER} distinct values of one needle parameter: 400 naming it and the limit`, async () => {
      const values = Array.from({ length: NEEDLES_PER_PARAMETER + 1 }, (_, i) => `n${i}`);
      const res = await get(`users?${repeat('username', values)}`);
      assert.equal(res.statusCode, 400);
      const problem = problemOf(res);
      assert.equal(problem.code, 'VALIDATION_FAILED');
      assert.equal(problem.errors?.[0]?.parameter, 'username');
      assert.match(problem.detail, new RegExp(`at most ${NEEDLES_PER_PARAMETER} distinct`));
    });

    it(`exactly ${NEEDLES_PER_PARAMETER} distinct needles are served`, async () => {
      const values = Array.from({ length: NEEDLES_PER_PARAMETER }, (_, i) => `n${i}`);
      assert.equal((await get(`users?${repeat('username', values)}`)).statusCode, 200);
    });

    it(`more than ${NEEDLES_TOTAL} needles across username and name: 400 naming both and the total`, async () => {
      const names = Array.from({ length: NEEDLES_PER_PARAMETER }, (_, i) => `a${i}`);
      const usernames = Array.from({ length: NEEDLES_TOTAL + 1 - NEEDLES_PER_PARAMETER }, (_, i) => `b${i}`);
      const res = await get(`users?${repeat('name', names)}&${repeat('username', usernames)}`);
      assert.equal(res.statusCode, 400);
      const problem = problemOf(res);
      assert.deepEqual(problem.errors?.map((e) => e.parameter).sort(), ['name', 'username']);
      assert.match(problem.detail, new RegExp(`together take at most ${NEEDLES_TOTAL}`));
    });

    it('997 distinct two-letter needles (the PostgreSQL stall) are a 400, not a search', async () => {
      const values: string[] = [];
      for (let a = 97; values.length < 997; a++)
        for (let b = 97; b < 123 && values.length < 997; b++) values.push(String.fromCharCode((a % 26) + 97, b));
      const started = Date.now();
      const res = await get(`users?${repeat('name', [...new Set(values)])}`);
      assert.equal(res.statusCode, 400);
      assert.ok(Date.now() - started < 1000);
    });

    it('id filters of GET users are capped and answered with one parameter', async () => {
      const ids = Array.from({ length: 100 }, (_, i) => String(i + 1));
      assert.equal((await get(`users?${repeat('billing_group', ids)}&${repeat('group_owner', ids)}`)).statusCode, 200);
      const res = await get(`users?${repeat('billing_group', [...ids, '101'])}`);
      assert.equal(res.statusCode, 400);
      assert.equal(problemOf(res).errors?.[0]?.parameter, 'billing_group');
    });

    it(`access lists of more than ${ACCESS_IDS_MAX} ids (once "too many SQL variables") are a 400 naming the list`, async () => {
      for (const size of [ACCESS_IDS_MAX + 1, 32_766, 65_535]) {
        const ids = Array.from({ length: size }, (_, i) => String(i + 1));
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/v1/users',
          headers: { ...bearer(t.demo.admin), 'content-type': 'application/json' },
          payload: {
            username: `big${size}`,
            name: 'Big',
            email: 'big@example.com',
            call_detail_level: 'full',
            roles: ['reporting'],
            access: { billing_groups: [], group_owners: ids },
          },
        });
        assert.equal(res.statusCode, 400, `size ${size}`);
        const problem = problemOf(res);
        assert.equal(problem.errors?.[0]?.pointer, '/access/group_owners');
        assert.match(problem.detail, new RegExp(`at most ${ACCESS_IDS_MAX} items`));
      }
    });

    it(`an access list of ${ACCESS_IDS_MAX} ids reaches the database (ids it does not hold are named)`, async () => {
      const ids = Array.from({ length: ACCESS_IDS_MAX }, (_, i) => String(900_000 + i));
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: { ...bearer(t.demo.admin), 'content-type': 'application/json' },
        payload: {
          username: 'wide',
          name: 'Wide',
          email: 'wide@example.com',
          call_detail_level: 'full',
          roles: ['reporting'],
          access: { billing_groups: ids, group_owners: [] },
        },
      });
      assert.equal(res.statusCode, 400);
      const problem = problemOf(res);
      assert.equal(problem.code, 'UNKNOWN_REFERENCE');
      assert.equal(problem.errors?.length, ACCESS_IDS_MAX);
    });

    for (const depth of [65, 8_000, 100_000]) {
      it(`a body nested ${depth} levels deep is a 400 naming the depth limit`, async () => {
        const body = `{"name":${'['.repeat(depth)}${']'.repeat(depth)}}`;
        for (const [method, url] of [
          ['POST', 'users'],
          ['PATCH', 'users/qzuser'],
          ['POST', 'billinggroups'],
        ] as const) {
          const res = await t.app.inject({
            method,
            url: `/api/v1/${url}`,
            headers: { ...bearer(t.demo.admin), 'content-type': 'application/json' },
            payload: body,
          });
          assert.equal(res.statusCode, 400, `${method} ${url}`);
          const problem = problemOf(res);
          assert.match(problem.detail, /more than 64 levels deep/);
          assert.match(problem.errors?.[0]?.pointer ?? '', /^\/name(\/0)+$/);
        }
      });
    }

    it('a body nested 64 levels deep reaches schema validation', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: { ...bearer(t.demo.admin), 'content-type': 'application/json' },
        payload: `{"name":${'['.repeat(63)}${']'.repeat(63)}}`,
      });
      assert.equal(res.statusCode, 400);
      assert.doesNotMatch(problemOf(res).detail, /levels deep/);
    });
  });
}
