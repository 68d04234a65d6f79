import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { insertTestUsers } from '../support/users.js';

const RSMITH_ID = '627b4c86-1ff1-4ca7-8827-95c214666636';

for (const dialect of DIALECTS) {
  describe(`GET users/{user} (${dialect})`, () => {
    let t: TestApp;
    let uuidNamed: { user_id: string; username: string };
    let idShadow: { user_id: string; username: string };
    let unicode: { user_id: string; username: string };
    const get = (ref: string, headers: Record<string, string> = {}) =>
      t.app.inject({ url: `/api/v1/users/${ref}`, headers: { ...bearer(t.demo.read), ...headers } });
    const userOf = async (ref: string) => {
      const res = await get(ref);
      assert.equal(res.statusCode, 200, `${ref}: ${res.body.slice(0, 200)}`);
      return res.json<{ user_id: string; username: string }>();
    };

    before(async () => {
      t = await buildTestApp(dialect);
      const [a, b, c] = await insertTestUsers(t.conn, t.demo.orgId, [
        // A username in UUID form that is no user's id: found as a username.
        { username: randomUUID().toUpperCase() },
        // A username equal to rsmith's user_id: the id is tried first, so that value names rsmith.
        { username: RSMITH_ID },
        { username: 'Zoë.Ørsted-日本', name: 'Zoë Ørsted' },
      ]);
      uuidNamed = a!;
      idShadow = b!;
      unicode = c!;
    });
    after(async () => t.close());

    it('finds a user by user_id, in any case', async () => {
      assert.equal((await userOf(RSMITH_ID)).username, 'rsmith');
      assert.equal((await userOf(RSMITH_ID.toUpperCase())).username, 'rsmith');
    });

    it('finds a user by username, case-insensitively', async () => {
      for (const ref of ['rsmith', 'RSMITH', 'RSmith', 'mhopper', 'MHopper', 'EWOODS', 'Test1']) {
        assert.equal((await userOf(ref)).username, ref.toLowerCase());
      }
    });

    it('finds a Unicode username URL-encoded, in any case and in either normalization form', async () => {
      for (const ref of [
        unicode.username,
        unicode.username.toUpperCase(),
        unicode.username.toLowerCase(),
        unicode.username.normalize('NFD'),
      ]) {
        assert.equal((await userOf(encodeURIComponent(ref))).user_id, unicode.user_id, ref);
      }
      // And a demo username with non-ASCII letters, read back from the list.
      const list = await t.app.inject({ url: '/api/v1/users', headers: bearer(t.demo.read) });
      const demo = (list.json().results as Array<{ user_id: string; username: string }>).find(
        (u) => /[^\x00-\x7f]/.test(u.username) && u.username !== unicode.username,
      );
      assert.ok(demo, 'the demo holds a non-ASCII username');
      assert.equal((await userOf(encodeURIComponent(demo.username.toUpperCase()))).user_id, demo.user_id);
    });

    it('falls back to the username when a value in UUID form is no user_id', async () => {
      assert.equal((await userOf(uuidNamed.username)).user_id, uuidNamed.user_id);
      assert.equal((await userOf(uuidNamed.username.toLowerCase())).user_id, uuidNamed.user_id);
    });

    it('tries a value in UUID form as a user_id first', async () => {
      assert.equal((await userOf(RSMITH_ID)).username, 'rsmith');
      assert.notEqual((await userOf(RSMITH_ID)).user_id, idShadow.user_id);
      assert.equal((await userOf(idShadow.user_id)).username, RSMITH_ID);
    });

    it('answers 404 problem+json for a user this organization does not have', async () => {
      for (const ref of ['nobody', randomUUID(), 'rsmit', 'rsmith2', 'r%25', '_smith', encodeURIComponent('rsmith ')]) {
        const res = await get(ref);
        assert.equal(res.statusCode, 404, ref);
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
        const problem = res.json();
        assert.equal(problem.status, 404);
        assert.ok(problem.type && problem.title && problem.detail);
        assert.equal(res.headers.etag, undefined);
      }
    });

    describe('ETag and If-None-Match', () => {
      let etag: string;
      before(async () => {
        etag = String((await get('rsmith')).headers.etag);
      });

      it('sends a quoted ETag, the same whichever way the user is named', async () => {
        assert.match(etag, /^(W\/)?"[^"]+"$/);
        assert.equal((await get(RSMITH_ID)).headers.etag, etag);
        assert.equal((await get('RSMITH')).headers.etag, etag);
        assert.notEqual((await get('mhopper')).headers.etag, etag, 'each user has its own tag');
      });

      it('answers 304 without a body for a matching If-None-Match: exact, weak form, *, and in a list', async () => {
        const weak = etag.startsWith('W/') ? etag : `W/${etag}`;
        for (const header of [etag, weak, '*', `"nope", ${etag}`, `"a",${weak} , "b"`]) {
          for (const ref of ['rsmith', RSMITH_ID]) {
            const res = await get(ref, { 'if-none-match': header });
            assert.equal(res.statusCode, 304, `${ref} with If-None-Match: ${header}`);
            assert.equal(res.body, '');
            assert.equal(res.headers.etag, etag);
          }
        }
      });

      it('answers 200 with the body when If-None-Match names other tags', async () => {
        for (const header of ['"nope"', 'W/"nope"', `"x${etag.replace(/^(W\/)?"/, '')}`]) {
          const res = await get('rsmith', { 'if-none-match': header });
          assert.equal(res.statusCode, 200, header);
          assert.equal(res.json().username, 'rsmith');
        }
      });

      it('still answers 404 (not 304) for an unknown user with If-None-Match: *', async () => {
        assert.equal((await get('nobody', { 'if-none-match': '*' })).statusCode, 404);
      });
    });

    it('answers HEAD like GET, without a body', async () => {
      const res = await t.app.inject({ method: 'HEAD', url: '/api/v1/users/rsmith', headers: bearer(t.demo.read) });
      assert.equal(res.statusCode, 200);
      assert.equal(res.body, '');
      assert.ok(res.headers.etag);
    });

    it('refuses query parameters it does not take', async () => {
      const res = await get('rsmith?fields=name');
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().errors[0].parameter, 'fields');
    });
  });
}
