import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_LISTED_MEMBERS } from '../../src/scim/scim.groups.js';
import { URN } from '../../src/scim/scim.schemas.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS, whileUsersLocked } from '../support/databases.js';
import { filterQuery, scimCaller } from '../support/scim.js';
import { insertBulkUsers } from '../support/users.js';

// SCIM's reads keep the cost limits of `GET users` (docs/security.md, section 18; docs/scim.md, Groups):
// the read time limit, the organization's query slots, and a bounded group answer.

const TIMEOUT_MS = 300;

for (const dialect of DIALECTS) {
  describe(`SCIM reads within the cost limits (${dialect})`, () => {
    let t: TestApp;
    let scim: ReturnType<typeof scimCaller>;
    before(async () => {
      // The member cap is under test here, not the time limit: a loaded machine must not turn it into a 503.
      t = await buildTestApp(dialect, { RATE_LIMIT: '0', ROSTER_QUERY_TIMEOUT_MS: '60000' });
      scim = scimCaller(t, t.demo.read);
      // Every bulk user holds `reporting`: past the most one group answer lists.
      await insertBulkUsers(t.conn, t.demo.orgId, MAX_LISTED_MEMBERS + 1);
    });
    after(() => t.close());

    it('a group with more members than one answer lists is 400 tooMany, saying how to read them', async () => {
      const res = await scim('GET', 'Groups/reporting');
      assert.equal(res.statusCode, 400, res.body);
      const body = res.json();
      assert.deepEqual(body.schemas, [URN.error]);
      assert.equal(body.scimType, 'tooMany');
      assert.match(body.detail, /excludedAttributes=members/);
      assert.match(body.detail, /roles\.value eq "reporting"/);
      // Without the members, and for a smaller group, the answer is served.
      const bare = await scim('GET', 'Groups/reporting?excludedAttributes=members');
      assert.equal(bare.statusCode, 200, bare.body);
      assert.equal(bare.json().members, undefined);
      const small = await scim('GET', 'Groups/administrator');
      assert.equal(small.statusCode, 200, small.body);
      assert.ok(small.json().members.length > 0);
      // The members are read as Users, a page at a time, with the exact total.
      const page = await scim('GET', `Users?${filterQuery('roles.value eq "reporting"', '&count=5')}`);
      assert.equal(page.statusCode, 200, page.body);
      assert.ok(page.json().totalResults > MAX_LISTED_MEMBERS);
      assert.equal(page.json().Resources.length, 5);
    });

    if (dialect === 'postgres') {
      it('a list read waiting past the time limit is a 503 SCIM error, and later reads go on', async () => {
        const strict = await buildTestApp('postgres', { RATE_LIMIT: '0', ROSTER_QUERY_TIMEOUT_MS: String(TIMEOUT_MS) });
        const read = scimCaller(strict, strict.demo.read);
        const took = await whileUsersLocked(strict.database.target.url, async () => {
          const res = await read('GET', `Users?${filterQuery('userName co "zz"')}`);
          assert.equal(res.statusCode, 503, res.body);
          assert.deepEqual(res.json().schemas, [URN.error]);
          assert.equal(res.headers['retry-after'], '5');
        });
        assert.ok(took >= TIMEOUT_MS - 50 && took < TIMEOUT_MS + 2000, `answered after ${took} ms`);
        try {
          assert.equal((await read('GET', `Users?${filterQuery('userName co "zz"')}`)).statusCode, 200);
        } finally {
          await strict.close();
        }
      });
    } else {
      it('a list read past the time limit is a 503 SCIM error; the read worker is replaced', async () => {
        const strict = await buildTestApp('sqlite', { RATE_LIMIT: '0', ROSTER_QUERY_TIMEOUT_MS: '20' });
        try {
          await insertBulkUsers(strict.conn, strict.demo.orgId, 150_000);
          // Ten one-letter OR'd needles over given and family names (no index): a scan of every row per needle.
          const costly = 'abcdefghij'
            .split('')
            .map((c) => `name.familyName co "${c}q" or name.givenName co "${c}q"`)
            .join(' or ');
          const res = await scimCaller(strict, strict.demo.read)('GET', `Users?${filterQuery(costly, '&count=1')}`);
          assert.equal(res.statusCode, 503, res.body);
          assert.deepEqual(res.json().schemas, [URN.error]);
          let small = await scimCaller(strict, strict.demo.read)('GET', 'Users?count=1');
          for (let i = 0; i < 10 && small.statusCode !== 200; i++)
            small = await scimCaller(strict, strict.demo.read)('GET', 'Users?count=1');
          assert.equal(small.statusCode, 200, small.body);
          assert.equal(small.json().totalResults, 165 + 150_000);
        } finally {
          await strict.close();
        }
      });
    }
  });
}
