import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { fold } from '../../src/shared/text.js';
import { foldUsername } from '../../src/db/username-keys.js';
import { compactUserCounts, findUsers, NO_FILTER } from '../../src/users/user.list.repository.js';
import { userRowToJson, userRowToUser } from '../../src/users/user.mapper.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { awaitSearchIndex, searchIndexAnswers } from '../support/search-index.js';
import { insertTestUsers } from '../support/users.js';
import { caller, newUser } from '../support/writes.js';

// Usernames and names built to trip an index: LIKE and GLOB metacharacters, FTS5 query syntax, quotes,
// backslashes, Unicode case pairs and compositions, scripts without case, astral characters, repeats.
const HOSTILE = [
  ['pct%under_score', '100% _real_'],
  ['star*question?', 'Glob [a-z]* ?'],
  ['brackets[x]y', 'Brackets ] [ ^!'],
  ['quote"double', 'Say "hello" there'],
  ["quote'single", "O'Brien D’Angelo"],
  ['back\\slash', 'C:\\Users\\émile'],
  ['near.and.or.not', 'NEAR AND OR NOT ( ) { } : ^ - +'],
  ['ÉMILE.ZOLA', 'ÉMILE Zola'],
  ['straße', 'Große Straße'],
  ['i̇stanbul', 'İstanbul Şahin'],
  ['日本語テキスト', '山田 太郎'],
  ['emoji😀smile', 'Smile 😀😀 Face'],
  ['aaaaaaa', 'aaa aaa'],
  ['abcxbca', 'abcabc'],
  ['dot.dot..dot', '... ...'],
] as const;

const NEEDLES = [
  '%',
  '_',
  '\\',
  '*',
  '?',
  '[',
  ']',
  '"',
  "'",
  '""',
  '%_',
  '\\%',
  '_s',
  'r_s',
  '% _',
  '*q',
  'r*q',
  '[x]',
  'x]',
  '[a-z]',
  '"d',
  'e"h',
  '"hello"',
  "'s",
  "o'b",
  'k\\s',
  '\\u',
  'near',
  'NEAR',
  'and.or',
  ' or ',
  '(',
  ') {',
  '^',
  '^!',
  '- +',
  'é',
  'É',
  'émi',
  'ÉMILE',
  'emile',
  'e\u0301mi',
  'ß',
  'SS',
  'straße',
  'STRASSE',
  'İ',
  'i̇',
  'i̇st',
  'şah',
  'ŞAH',
  '日本',
  '本語テ',
  'テキスト',
  '山田',
  '😀',
  '😀😀',
  'e😀s',
  'aaa',
  'aaaa',
  'aaaaaaaa',
  'abca',
  'bca',
  'xbc',
  '..',
  '...',
  '..d',
  'a',
  'ab',
  'zz',
  'rsmith',
  'RSMITH',
  'smi',
  'x'.repeat(3000),
];

const BULK = 1200;

// Answered by the database, then by the in-memory search index (no answer cache in front of it).
const MODES = [
  { by: 'the database', env: { ROSTER_SEARCH_INDEX: '0' } },
  { by: 'the in-memory index', env: { ROSTER_SEARCH_INDEX_MIN_USERS: '0', ROSTER_CACHE_BYTES: '0' } },
] as const;

for (const dialect of DIALECTS)
  for (const mode of MODES) {
    describe(`indexed substring search and maintained counts, by ${mode.by} (${dialect})`, () => {
      let t: TestApp;
      let api: ReturnType<typeof caller>;
      before(async () => {
        t = await buildTestApp(dialect, mode.env);
        api = caller(t, t.demo.write);
        await insertTestUsers(
          t.conn,
          t.demo.orgId,
          HOSTILE.map(([username, name]) => ({ username, name })),
        );
        // Enough users that the default page (10,000) streams in several chunks.
        await insertTestUsers(
          t.conn,
          t.demo.orgId,
          Array.from({ length: BULK }, (_, i) => ({
            username: `bulk.${String(i).padStart(4, '0')}`,
            name: `Bulk Person ${i}`,
            status: (['activated', 'deactivated', 'awaiting_approval'] as const)[i % 3],
          })),
        );
        if (mode.by === 'the in-memory index') await awaitSearchIndex(t.app, t.demo.read);
      });
      after(() => t.close());

      const list = async (query: string) => {
        const res = await t.app.inject({ url: `/api/v1/users?${query}`, headers: bearer(t.demo.read) });
        assert.equal(res.statusCode, 200, `${query}: ${res.body}`);
        return res.json<{
          paging: { total: number };
          results: { username: string; name: string; status: string; roles: string[] }[];
        }>();
      };

      it('answers every hostile needle exactly as a literal, Unicode case-insensitive substring (username and name)', async () => {
        const everyone = (await list('pagesize=10000')).results;
        assert.equal(everyone.length, 165 + HOSTILE.length + BULK);
        for (const needle of NEEDLES) {
          for (const field of ['username', 'name'] as const) {
            // Usernames under full case folding (STRASSE finds straße), names under the NFC lower case of shared/text.ts.
            const f = field === 'username' ? foldUsername : fold;
            const expected = everyone.filter((u) => f(u[field]).includes(f(needle))).map((u) => u.username);
            const got = await list(`${field}=${encodeURIComponent(needle)}&pagesize=10000`);
            assert.deepEqual(
              got.results.map((u) => u.username),
              expected,
              `${field}=${JSON.stringify(needle)}`,
            );
            assert.equal(got.paging.total, expected.length, `${field}=${JSON.stringify(needle)} total`);
          }
        }
      });

      it('gives the indexed search the plain scan’s answers: OR of needles, AND with other filters, short and long needles, paging', async () => {
        const everyone = (await list('pagesize=10000')).results;
        const cases: [string, (u: (typeof everyone)[number]) => boolean][] = [
          [
            'username=smi&username=aaa',
            (u) => foldUsername(u.username).includes('smi') || foldUsername(u.username).includes('aaa'),
          ],
          ['username=an&name=an', (u) => foldUsername(u.username).includes('an') && fold(u.name).includes('an')],
          ['name=son&status=activated', (u) => fold(u.name).includes('son') && u.status === 'activated'],
          ['name=ère&role=reporting', (u) => fold(u.name).includes('ère') && u.roles.includes('reporting')],
          // One short needle alone: its gram's list is counted in place (OrgSearchIndex.countedGram).
          ['username=an', (u) => foldUsername(u.username).includes('an')],
          ['name=son', (u) => fold(u.name).includes('son')],
          ['username=an&sortorder=desc', (u) => foldUsername(u.username).includes('an')],
        ];
        for (const [query, match] of cases) {
          const expected = everyone.filter(match).map((u) => u.username);
          if (query.includes('sortorder=desc')) expected.reverse();
          const pages: string[] = [];
          let total = -1;
          for (let n = 1; n <= Math.max(1, Math.ceil(expected.length / 4)); n++) {
            const page = await list(`${query}&pagesize=4&pagenumber=${n}`);
            total = page.paging.total;
            pages.push(...page.results.map((u) => u.username));
          }
          assert.deepEqual(pages, expected, query);
          assert.equal(total, expected.length, `${query} total`);
        }
      });

      it('keeps totals exact, and pages fresh, after every kind of write (API, repository, raw SQL)', async () => {
        const filters = [
          '',
          'status=activated',
          'status=deactivated&role=reporting',
          'role=administrator&role=rescue',
          'status=awaiting_approval',
        ];
        const check = async (what: string) => {
          const everyone = (await list('pagesize=10000&name=')).results; // a different URL: not the same cache entry
          for (const f of filters) {
            const params = new URLSearchParams(f);
            const statuses = params.getAll('status');
            const roles = params.getAll('role');
            const expected = everyone.filter(
              (u) =>
                (statuses.length === 0 || statuses.includes(u.status)) &&
                (roles.length === 0 || roles.some((r) => u.roles.includes(r))),
            );
            const got = await list(`${f}&pagesize=1`);
            assert.equal(got.paging.total, expected.length, `${what}: total of "${f}"`);
          }
          const scan = await t.conn.db
            .selectFrom('users')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('org_id', '=', t.demo.orgId)
            .executeTakeFirstOrThrow();
          assert.equal((await list('pagesize=1')).paging.total, Number(scan.n), `${what}: unfiltered total`);
        };
        await check('as seeded');
        await list('pagesize=1'); // cached now
        const created = await api('POST', 'users', {
          body: newUser('counted.one', { roles: ['rescue', 'reporting'] }),
        });
        assert.equal(created.statusCode, 201, created.body);
        await check('after POST');
        assert.equal((await api('DELETE', 'users/counted.one/deactivate')).statusCode, 200);
        await check('after deactivate');
        assert.equal((await api('PATCH', 'users/counted.one', { body: { roles: ['administrator'] } })).statusCode, 200);
        await check('after PATCH roles');
        assert.equal(
          (await api('PATCH', 'users/counted.one', { body: { username: 'Renamed.One', name: 'Zanzibar Quux' } }))
            .statusCode,
          200,
        );
        assert.deepEqual(
          (await list('username=named.o')).results.map((u) => u.username),
          ['Renamed.One'],
          'the trigram index follows a rename',
        );
        assert.deepEqual(
          (await list('name=zanzib')).results.map((u) => u.username),
          ['Renamed.One'],
        );
        assert.equal((await list('username=counted')).paging.total, 0, 'the old username is gone from the index');
        // A writer that bypasses the API (a manual fix): the triggers still keep the counts.
        await sql`update users set status = 'activated', roles = 'rescue', roles_mask = 128 where org_id = ${t.demo.orgId} and username_fold = 'ewoods'`.execute(
          t.conn.db,
        );
        await sql`update organizations set write_version = write_version + 1 where id = ${t.demo.orgId}`.execute(
          t.conn.db,
        );
        await check('after raw SQL update');
        await sql`delete from user_billing_groups where user_pk in (select id from users where username_fold = 'mhopper')`.execute(
          t.conn.db,
        );
        await sql`delete from user_group_owners where user_pk in (select id from users where username_fold = 'mhopper')`.execute(
          t.conn.db,
        );
        await sql`delete from users where org_id = ${t.demo.orgId} and username_fold = 'mhopper'`.execute(t.conn.db);
        await sql`update organizations set write_version = write_version + 1 where id = ${t.demo.orgId}`.execute(
          t.conn.db,
        );
        await check('after raw SQL delete');
        await compactUserCounts(t.conn.db, t.demo.orgId);
        await check('after compaction');
        const other = await t.app.inject({ url: '/api/v1/users?pagesize=1', headers: bearer(t.other.admin) });
        assert.equal(other.json().paging.total, 0, 'counts stay per organization');
      });

      it('serializes rows byte for byte like the mapper', async () => {
        const rows = await findUsers(
          t.conn.db,
          t.demo.orgId,
          { usernames: [], names: [], statuses: [], roles: [], billingGroups: [], groupOwners: [] },
          { field: 'username', order: 'asc' },
          10000,
          0,
        );
        assert.ok(rows.length > 1000);
        for (const row of rows) assert.equal(userRowToJson(row), JSON.stringify(userRowToUser(row)), row.username);
      });

      it('streams a big page whole: the same users and bytes as small pages put together, in every order', async () => {
        for (const sort of [
          '',
          '&sortby=name&sortorder=desc',
          '&sortby=last_login_date',
          '&sortby=last_login_date&sortorder=desc',
        ]) {
          const everyone = await list(`pagesize=10000${sort}`);
          assert.ok(everyone.results.length > 1000);
          const small: string[] = [];
          for (let n = 1; n <= Math.ceil(everyone.paging.total / 400); n++)
            small.push(...(await list(`pagesize=400&pagenumber=${n}${sort}`)).results.map((u) => JSON.stringify(u)));
          assert.deepEqual(
            everyone.results.map((u) => JSON.stringify(u)),
            small,
            sort,
          );
          const middle = await list(`pagesize=700&pagenumber=2${sort}`);
          assert.deepEqual(
            middle.results.map((u) => JSON.stringify(u)),
            small.slice(700, 1400),
            `${sort} page 2 of 700`,
          );
        }
      });

      if (mode.by === 'the in-memory index') {
        it('answered those searches from the index (the tests above would pass on the database alone)', async () => {
          assert.ok((await searchIndexAnswers(t.app)).index > 100);
        });

        it("reads a page by its rows' ids, and a row put back under a new id by its user_id", async () => {
          // bulk.0003 deleted and inserted again by raw SQL: the same user_id and indexed columns, another
          // phone and a new id, which the change log (the index's only news of it) does not carry.
          await t.conn.db.transaction().execute(async (trx) => {
            await sql`update organizations set write_version = write_version + 1 where id = ${t.demo.orgId}`.execute(
              trx,
            );
            const row = await trx
              .selectFrom('users')
              .selectAll()
              .where('org_id', '=', t.demo.orgId)
              .where('username_fold', '=', 'bulk.0003')
              .executeTakeFirstOrThrow();
            await trx.deleteFrom('users').where('id', '=', row.id).execute();
            const { id, ...rest } = row;
            await trx
              .insertInto('users')
              .values({ ...rest, phone: '206-555-0199' })
              .execute();
            const again = await trx
              .selectFrom('users')
              .select('id')
              .where('user_id', '=', row.user_id)
              .executeTakeFirstOrThrow();
            assert.notEqual(again.id, id);
          });
          const before = await searchIndexAnswers(t.app);
          const res = await t.app.inject({
            url: '/api/v1/users?username=bulk.000&pagesize=25',
            headers: bearer(t.demo.read),
          });
          assert.equal(res.statusCode, 200, res.body);
          const { results } = res.json<{ results: { username: string; phone: string }[] }>();
          assert.equal((await searchIndexAnswers(t.app)).index, before.index + 1, 'the index answered it');
          assert.equal(results.find((u) => u.username === 'bulk.0003')?.phone, '206-555-0199');
          const rows = await findUsers(
            t.conn.db,
            t.demo.orgId,
            { usernames: ['bulk.000'], names: [], statuses: [], roles: [], billingGroups: [], groupOwners: [] },
            { field: 'username', order: 'asc' },
            25,
            0,
          );
          assert.equal(rows.length, 10);
          assert.deepEqual(
            results.map((u) => JSON.stringify(u)),
            rows.map((row) => userRowToJson(row)),
          );
        });

        it("keeps a row's answer only until the log brings a change of it, even of a column it does not index", async () => {
          const page = async () => {
            const res = await t.app.inject({
              url: '/api/v1/users?username=bulk.001&pagesize=25',
              headers: bearer(t.demo.read),
            });
            assert.equal(res.statusCode, 200, res.body);
            return res.json<{ results: { username: string; phone: string }[] }>().results;
          };
          const phoneOf = async (username: string) => (await page()).find((u) => u.username === username)?.phone;
          const first = await phoneOf('bulk.0012');
          assert.ok(first !== undefined && first !== '206-555-0142');
          // The phone alone, by raw SQL (last_updated_date untouched): the row keeps its place in the index.
          for (const phone of ['206-555-0142', '206-555-0143']) {
            await t.conn.db.transaction().execute(async (trx) => {
              await sql`update users set phone = ${phone} where org_id = ${t.demo.orgId} and username_fold = 'bulk.0012'`.execute(
                trx,
              );
              await sql`update organizations set write_version = write_version + 1 where id = ${t.demo.orgId}`.execute(
                trx,
              );
            });
            const before = await searchIndexAnswers(t.app);
            assert.equal(await phoneOf('bulk.0012'), phone);
            assert.equal((await searchIndexAnswers(t.app)).index, before.index + 1, 'the index answered it');
          }
          const rows = await findUsers(
            t.conn.db,
            t.demo.orgId,
            { ...NO_FILTER, usernames: ['bulk.001'] },
            { field: 'username', order: 'asc' },
            25,
            0,
          );
          assert.deepEqual(
            (await page()).map((u) => JSON.stringify(u)),
            rows.map((row) => userRowToJson(row)),
          );
        });
      }
    });
  }
