import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

const body = (username: string) =>
  `{"username":${username},"name":"Lone","email":"lone@example.com","call_detail_level":"full","roles":["reporting"]}`;

for (const dialect of DIALECTS) {
  describe(`write bodies must be Unicode text (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(dialect);
    });
    after(async () => t.close());

    const post = (payload: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: { ...bearer(t.demo.write), 'content-type': 'application/json' },
        payload,
      });

    it('refuses a lone surrogate escaped in JSON with a 400 naming the field, and stores nothing', async () => {
      const res = await post(body('"ab\\ud800cd"'));
      assert.equal(res.statusCode, 400);
      assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.deepEqual(res.json().errors, [
        { pointer: '/username', message: 'must be well-formed Unicode text (no lone surrogates) (got "ab\\ud800cd")' },
      ]);
      const list = await t.app.inject({ url: '/api/v1/users?pagesize=1', headers: bearer(t.demo.read) });
      assert.equal(list.json().paging.total, 165);
    });

    it('accepts a surrogate pair (an emoji) escaped the same way, and reads it back', async () => {
      const res = await post(body('"ab\\ud83d\\ude00cd"'));
      assert.equal(res.statusCode, 201);
      assert.equal(res.json().username, 'ab😀cd');
      const read = await t.app.inject({
        url: `/api/v1/users/${encodeURIComponent('AB😀CD')}`,
        headers: bearer(t.demo.read),
      });
      assert.equal(read.json().username, 'ab😀cd');
    });
  });
}
