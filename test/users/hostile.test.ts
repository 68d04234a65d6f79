import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { foldUsername } from '../../src/db/username-keys.js';
import { holdsNeedle, holdsUsernameNeedle, insertTestUsers } from '../support/users.js';

interface WireUser {
  user_id: string;
  username: string;
  name: string;
}

const LONG = 'x'.repeat(20_000);

/** Values an attacker, a careless client or a fuzzer sends. */
const HOSTILE = [
  '%',
  '_',
  '%%',
  '%_%',
  '_%',
  "'",
  '"',
  "''",
  '\\',
  '\\\\',
  '\\%',
  '\\_',
  '%\\',
  '*',
  '?',
  '[a-z]',
  '[!a]',
  '^',
  '$',
  '.*',
  '|',
  '~',
  '🦄',
  '🦄UNI',
  '👩‍👩‍👧',
  'Zoe\u0308',
  'Zoë',
  'ZOË',
  'e\u0301',
  'É',
  'İ',
  'ß',
  'ǅ',
  'Σ',
  '\uFEFF',
  '\u200B',
  '\uFFFD',
  ' ',
  '+',
  '&',
  '=',
  '#',
  '/',
  '..',
  '../..',
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  '" OR ""="',
  "1' UNION SELECT key_hash FROM api_keys --",
  "admin'--",
  "%' AND 1=1 --",
  "\\'; select 1; --",
  '$1',
  ':name',
  '@p1',
  '${x}',
  '<script>alert(1)</script>',
  '{"$ne":null}',
  'null',
  'undefined',
  '0',
  '-1',
  '1e999',
  '   ',
  ' . ',
  '---',
  '\t\t\t',
  '"""',
  "'''",
  '%%%',
  '___',
  '***',
  '\\\\\\',
  'a b',
  ' sm',
  'th ',
  'é\u0301\u0301',
  'NEAR',
  'AND',
  'OR',
  'NOT',
  'a*',
  '^ab',
  'col:val',
  '(a)',
  '{ab}',
  'a+b',
  LONG,
  `${LONG}%`,
  'x'.repeat(3000),
  'é'.repeat(1000),
  '\u0001\u0002\u001f',
  '\r\n',
  '\t',
];

/** A value too long for any request target the server reads (8 KiB: src/http/server-limits.ts) may be refused as 414. */
const mayBe414 = (value: string, status: number) => value.length > 4096 && status === 414;

/** Values holding NUL: refused as 400 wherever they are sent. */
const WITH_NUL = ['\u0000', 'a\u0000b', '%\u0000', `${'y'.repeat(100)}\u0000`];

for (const dialect of DIALECTS) {
  describe(`hostile values in search parameters and in {user} (${dialect})`, () => {
    let t: TestApp;
    let demoUsers: WireUser[];
    let otherIds: string[];
    const OTHER_MARK = 'OtherOrgSecret';
    const list = (query: string, key?: string) =>
      t.app.inject({ url: `/api/v1/users?${query}`, headers: bearer(key ?? t.demo.read) });
    const one = (encodedRef: string, key?: string) =>
      t.app.inject({ url: `/api/v1/users/${encodedRef}`, headers: bearer(key ?? t.demo.read) });
    const qs = (name: string, value: string) => new URLSearchParams({ [name]: value }).toString();

    /** Never a 5xx, always JSON or problem+json, never a byte of the other organization. */
    const assertSafe = (res: { statusCode: number; body: string; headers: Record<string, unknown> }, what: string) => {
      assert.ok(res.statusCode < 500, `${what.slice(0, 80)} → ${res.statusCode} ${res.body.slice(0, 200)}`);
      assert.match(
        (res.headers['content-type'] as string | undefined) ?? 'application/json',
        /^application\/(problem\+)?json/,
        what.slice(0, 80),
      );
      assert.ok(!res.body.includes(OTHER_MARK), `${what.slice(0, 80)} leaked the other organization`);
      for (const id of otherIds)
        assert.ok(!res.body.includes(id), `${what.slice(0, 80)} leaked another organization's user_id`);
      if (res.statusCode >= 400) assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    };

    before(async () => {
      // Over a thousand requests with one key: the rate limit (its own tests elsewhere) is off here.
      t = await buildTestApp(dialect, { RATE_LIMIT: '0' });
      await insertTestUsers(t.conn, t.demo.orgId, [
        { username: '100%', name: '100% sure' },
        { username: '100x', name: '100x sure' },
        { username: 'under_score', name: 'Under_Score' },
        { username: 'underxscore', name: 'UnderXScore' },
        { username: "it's", name: "It's Quoted" },
        { username: 'say"hi"', name: 'Say "Hi"' },
        { username: 'c:\\dir', name: 'Back\\Slash' },
        { username: 'star*', name: 'Star*' },
        { username: '🦄unicorn', name: '🦄 Unicorn Emoji' },
        { username: 'family👩‍👩‍👧', name: 'Family 👩‍👩‍👧' },
        { username: 'zoe\u0308y', name: 'Zoe\u0308 Decomposed' },
        { username: 'chloé.nfc', name: 'Chloé Composed' },
        { username: "robert'); drop table users;--", name: "Robert'); DROP TABLE users;--" },
        { username: 'ǆemal', name: 'ǅemal Titlecase' },
        { username: 'σοφία', name: 'ΣΟΦΊΑ Greek' },
        { username: 'νικοσθένης', name: 'ΝΙΚΟΣΘΈΝΗΣ ΠΑΠΑΔΌΠΟΥΛΟΣ' },
        { username: 'οδυσσεας', name: 'Οδυσσέας Ελύτης' },
      ]);
      const others = await insertTestUsers(t.conn, t.other.orgId, [
        { username: 'rsmith', name: `Rob ${OTHER_MARK}` },
        { username: 'other%secret', name: `% ${OTHER_MARK} _` },
        { username: "o'ther", name: `' ${OTHER_MARK} "` },
        { username: '🦄unicorn', name: `🦄 ${OTHER_MARK}` },
      ]);
      otherIds = others.map((u) => u.user_id);
      demoUsers = (await list('')).json().results;
      assert.equal(demoUsers.length, 182);
    });
    after(async () => t.close());

    it('username and name: every hostile value is matched literally, Unicode case-insensitively, within the organization', async () => {
      for (const value of HOSTILE) {
        for (const param of ['username', 'name'] as const) {
          const res = await list(qs(param, value));
          assertSafe(res, `${param}=${value}`);
          if (mayBe414(value, res.statusCode)) continue;
          assert.equal(res.statusCode, 200, `${param}=${value.slice(0, 40)}`);
          const holds = param === 'username' ? holdsUsernameNeedle : holdsNeedle;
          const expected = demoUsers.filter((u) => holds(u[param], value)).map((u) => u.user_id);
          const body = res.json();
          assert.deepEqual(
            body.results.map((u: WireUser) => u.user_id),
            expected,
            `${param}=${value.slice(0, 40)}`,
          );
          assert.equal(body.paging.total, expected.length);
        }
      }
    });

    it('the special characters each find exactly the users holding them', async () => {
      const usernames = async (query: string) =>
        (await list(query))
          .json()
          .results.map((u: WireUser) => u.username)
          .sort();
      assert.deepEqual(await usernames(qs('username', '%')), ['100%']);
      assert.deepEqual(await usernames(qs('username', '_')), ['under_score']);
      assert.deepEqual(await usernames(qs('username', '*')), ['star*']);
      assert.deepEqual(await usernames(qs('username', '\\')), ['c:\\dir']);
      assert.deepEqual(await usernames(qs('username', "'")), ["it's", "robert'); drop table users;--"]);
      assert.deepEqual(await usernames(qs('username', '"')), ['say"hi"']);
      assert.deepEqual(await usernames(qs('username', '🦄')), ['🦄unicorn']);
      assert.deepEqual(await usernames(qs('username', '👩‍👩‍👧')), ['family👩‍👩‍👧']);
      assert.deepEqual(await usernames(qs('name', 'DROP TABLE users;')), ["robert'); drop table users;--"]);
    });

    it('a composed and a decomposed accent match each other, both ways', async () => {
      for (const needle of ['zoëy', 'zoe\u0308y', 'ZOËY', 'ZOE\u0308Y']) {
        const res = await list(qs('username', needle));
        assert.deepEqual(
          res.json().results.map((u: WireUser) => u.username),
          ['zoe\u0308y'],
          needle,
        );
      }
      for (const needle of ['chloé', 'chloe\u0301', 'CHLOE\u0301']) {
        const res = await list(qs('username', needle));
        assert.deepEqual(
          res.json().results.map((u: WireUser) => u.username),
          ['chloé.nfc'],
          needle,
        );
        assert.ok(
          (await list(qs('name', needle))).json().results.some((u: WireUser) => u.username === 'chloé.nfc'),
          `name=${needle}`,
        );
      }
      assert.equal((await list(qs('name', 'ZOË DECOMPOSED'))).json().paging.total, 1);
      assert.equal((await list(qs('name', 'σοφία'))).json().paging.total, 1, 'ΣΟΦΊΑ found lower-cased');
    });

    it('Greek sigma: a needle ending in Σ finds it inside a word and at its end', async () => {
      const usernames = async (query: string) =>
        (await list(query))
          .json()
          .results.map((u: WireUser) => u.username)
          .sort();
      assert.deepEqual(await usernames(qs('name', 'ΝΙΚΟΣ')), ['νικοσθένης'], 'ΝΙΚΟΣ → νικος finds νικοσθένης');
      assert.deepEqual(await usernames(qs('name', 'νικοσ')), ['νικοσθένης']);
      assert.deepEqual(await usernames(qs('name', 'ΠΑΠΑΔΌΠΟΥΛΟΣ')), ['νικοσθένης']);
      assert.deepEqual(
        await usernames(qs('name', 'παπαδόπουλοσ')),
        ['νικοσθένης'],
        'a needle typed with σ finds a final ς',
      );
      assert.deepEqual(await usernames(qs('name', 'ΟΔΥΣ')), ['οδυσσεας']);
      assert.deepEqual(await usernames(qs('name', 'ΕΛΎΤΗΣ')), ['οδυσσεας']);
      assert.deepEqual(await usernames(qs('username', 'ΟΔΥΣΣΕΑΣ')), ['οδυσσεας']);
    });

    it('NUL in any search parameter is a 400 naming it', async () => {
      for (const value of WITH_NUL) {
        for (const param of [
          'username',
          'name',
          'status',
          'role',
          'billing_group',
          'group_owner',
          'sortby',
          'pagesize',
        ]) {
          const res = await list(qs(param, value));
          assertSafe(res, `${param} with NUL`);
          assert.equal(res.statusCode, 400, `${param} with NUL`);
          assert.equal(res.json().errors[0].parameter, param);
        }
      }
      const raw = await list('username=%00');
      assert.equal(raw.statusCode, 400);
    });

    it('hostile values in the exact parameters, sort and paging are 400s (or match nothing), never a 5xx', async () => {
      for (const value of HOSTILE) {
        for (const param of [
          'status',
          'role',
          'billing_group',
          'group_owner',
          'sortby',
          'sortorder',
          'pagenumber',
          'pagesize',
        ]) {
          const res = await list(qs(param, value));
          assertSafe(res, `${param}=${value}`);
          if (mayBe414(value, res.statusCode)) continue;
          if (res.statusCode === 400)
            assert.equal(res.json().errors[0].parameter, param, `${param}=${value.slice(0, 40)}`);
          else assert.equal(res.statusCode, 200, `${param}=${value.slice(0, 40)}`);
        }
      }
    });

    it('hostile values as parameter names are 400s naming an unknown parameter', async () => {
      for (const value of ['%', "'", '"', '\\', '🦄', "' OR 1=1 --", LONG]) {
        const res = await list(`${encodeURIComponent(value)}=1`);
        assertSafe(res, `name ${value.slice(0, 20)}`);
        if (!mayBe414(value, res.statusCode)) assert.equal(res.statusCode, 400);
      }
    });

    it('badly encoded query strings are decoded leniently, never a 5xx', async () => {
      for (const raw of [
        'username=%ED%A0%80',
        'username=%',
        'username=%zz',
        'name=%E0%A4%A',
        'username=%C0%AF',
        'username=a%2',
        'username=%FF%FE',
      ]) {
        const res = await list(raw);
        assertSafe(res, raw);
        assert.equal(res.statusCode, 200, raw);
      }
    });

    it('{user}: hostile values are 404 (or 400/414), never a 5xx, never another organization', async () => {
      for (const value of [...HOSTILE, ...WITH_NUL]) {
        if (value === '' || value === '.' || value === '..') continue;
        const res = await one(encodeURIComponent(value));
        assertSafe(res, `{user}=${value}`);
        const known = demoUsers.find((u) => foldUsername(u.username) === foldUsername(value));
        if (known) {
          assert.equal(res.statusCode, 200, value);
          assert.equal(res.json().user_id, known.user_id);
        } else {
          assert.ok([400, 404, 414].includes(res.statusCode), `{user}=${value.slice(0, 40)} → ${res.statusCode}`);
        }
      }
    });

    it('{user}: the stored hostile usernames are found exactly, in either normalization form', async () => {
      for (const username of [
        '100%',
        'under_score',
        "it's",
        'say"hi"',
        'c:\\dir',
        'star*',
        '🦄unicorn',
        'family👩‍👩‍👧',
        "robert'); drop table users;--",
        'zoëy',
        'zoe\u0308y',
        'ZOËY',
        'chloe\u0301.nfc',
      ]) {
        const res = await one(encodeURIComponent(username));
        assert.equal(res.statusCode, 200, username);
        assert.equal(foldUsername(res.json().username), foldUsername(username));
      }
      // Wildcards in the path are not wildcards.
      for (const ref of ['100_', '10%25', 'under%25', 'under_scor_', '*', 'star%2A%2A']) {
        assert.equal((await one(ref)).statusCode, 404, ref);
      }
    });

    it("{user}: a username another organization also has is this organization's user", async () => {
      const mine = await one('rsmith');
      assert.equal(mine.json().user_id, '627b4c86-1ff1-4ca7-8827-95c214666636');
      const theirs = await one('rsmith', t.other.admin);
      assert.equal(theirs.json().user_id, otherIds[0]);
      assert.equal((await one(encodeURIComponent('🦄unicorn'), t.other.admin)).json().user_id, otherIds[3]);
      assert.equal((await one(otherIds[1]!)).statusCode, 404, "another organization's user_id is a 404");
    });

    it('{user}: malformed percent-encoding and over-long segments are 4xx problems', async () => {
      for (const raw of [
        '%ED%A0%80',
        '%',
        '%zz',
        '%E0%A4%A',
        'a%2',
        '%C0%AF',
        'x'.repeat(5000),
        encodeURIComponent(LONG),
      ]) {
        const res = await one(raw);
        assertSafe(res, `{user} raw ${raw.slice(0, 20)}`);
        assert.ok([400, 404, 414].includes(res.statusCode), `${raw.slice(0, 20)} → ${res.statusCode}`);
        assert.ok(res.headers['x-request-id']);
      }
    });

    it('the other organization, searching with the same hostile values, sees only its own users', async () => {
      for (const value of ['%', '_', "'", '"', '🦄', '', 'rsmith', "' OR '1'='1"]) {
        const res = await list(qs('username', value), t.other.admin);
        assert.equal(res.statusCode, 200);
        const ids: string[] = res.json().results.map((u: WireUser) => u.user_id);
        assert.ok(
          ids.every((id) => otherIds.includes(id)),
          `other org, username=${value}`,
        );
        for (const u of demoUsers) assert.ok(!res.body.includes(u.user_id));
      }
    });

    it('after all of it the directory is intact', async () => {
      const res = await list('');
      assert.equal(res.json().paging.total, 182);
      assert.equal((await list('', t.other.admin)).json().paging.total, 4);
    });
  });
}
