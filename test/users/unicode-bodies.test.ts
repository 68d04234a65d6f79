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

    it('refuses U+2028, U+2029, bidi overrides and zero-width spaces in names and usernames, naming the character', async () => {
      const cases = [
        { field: 'name', value: 'Ann\u2028Lee', at: 'U+2028 at character 4' },
        { field: 'name', value: 'Ann\u2029', at: 'U+2029 at character 4' },
        { field: 'name', value: '\u202eeeL nnA', at: 'U+202E at character 1' },
        { field: 'username', value: 'ann\u200blee', at: 'U+200B at character 4' },
        { field: 'username', value: '\ufeffann', at: 'U+FEFF at character 1' },
      ];
      const total = async () =>
        (await t.app.inject({ url: '/api/v1/users?pagesize=1', headers: bearer(t.demo.read) })).json().paging.total;
      const before = await total();
      for (const { field, value, at } of cases) {
        const user = { username: 'invisible', name: 'Ann Lee', email: 'ann@example.com', call_detail_level: 'full' };
        const res = await post(JSON.stringify({ ...user, roles: ['reporting'], [field]: value }));
        assert.equal(res.statusCode, 400, `${field} ${JSON.stringify(value)}`);
        const [error, ...more] = res.json().errors;
        assert.equal(more.length, 0);
        assert.equal(error.pointer, `/${field}`);
        assert.ok(error.message.includes(`; it holds ${at}: remove it (got `), error.message);
      }
      assert.equal(await total(), before, 'nothing stored');
    });

    it('keeps ZWNJ and ZWJ, which Persian names and emoji sequences need', async () => {
      const res = await post(
        JSON.stringify({
          username: 'mi\u200cnoo',
          name: 'می\u200cنو 👩\u200d👩\u200d👧',
          email: 'minoo@example.com',
          call_detail_level: 'full',
          roles: ['reporting'],
        }),
      );
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().name, 'می\u200cنو 👩\u200d👩\u200d👧');
    });
  });
}
