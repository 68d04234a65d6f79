import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKeyService } from '../../src/auth/key.service.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

for (const dialect of DIALECTS) {
  describe(`GET me (${dialect})`, () => {
    let t: TestApp;
    const me = (key: string) => t.app.inject({ url: '/api/v1/me', headers: bearer(key) });

    before(async () => {
      t = await buildTestApp(dialect);
    });
    after(async () => t.close());

    it('answers every scope with its organization, prefix and scope, never the key', async () => {
      for (const scope of ['read', 'write', 'admin'] as const) {
        const res = await me(t.demo[scope]);
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual(res.json(), {
          organization: 'demo',
          key_prefix: t.demo[scope].slice(0, 12),
          scope,
          expires_at: null,
        });
        assert.ok(!res.body.includes(t.demo[scope]), 'the key itself is never echoed');
        assert.equal(res.headers['cache-control'], 'private, no-cache');
      }
    });

    it("names the other organization for its key, and an expiring key's expiry", async () => {
      assert.equal((await me(t.other.admin)).json().organization, 'other');
      const expiring = await createKeyService(t.conn.db).createApiKey(
        t.other.orgId,
        'read',
        '2999-01-02T03:04:05.0000000',
      );
      const res = await me(expiring.key);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().expires_at, '2999-01-02T03:04:05');
      assert.equal(res.json().scope, 'read');
    });

    it('is 401 problem+json without a valid key', async () => {
      const res = await t.app.inject({ url: '/api/v1/me', headers: bearer('rst_nope') });
      assert.equal(res.statusCode, 401);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.match(res.json().detail, /unknown, revoked or expired/);
    });
  });
}
