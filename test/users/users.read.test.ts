import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKeyService } from '../../src/auth/key.service.js';
import { createOrgService } from '../../src/orgs/org.service.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { foldUsername } from '../../src/db/username-keys.js';
import { USER_KEY_ORDER, byCodePoint, foldText, insertTestUsers, parseLinks } from '../support/users.js';

interface WireUser {
  user_id: string;
  username: string;
  name: string;
  status: string;
  last_login_date: string | null;
  last_updated_date: string;
  deactivation_date?: string;
  roles: string[];
  access: { billing_groups: string[]; group_owners: string[] };
  [key: string]: unknown;
}

const SEED_ROLES = ['call_record_listen', 'reporting', 'administrator', 'ordering'];

/** The seed's four users exactly as the wire must carry them (the seed's own formatting of every value). */
const SEED_JSON: Record<string, string> = {
  rsmith: JSON.stringify({
    user_id: '627b4c86-1ff1-4ca7-8827-95c214666636',
    username: 'rsmith',
    name: 'Rob Smith',
    email: '',
    phone: '',
    call_detail_level: 'full',
    restrict_recording_download: false,
    status: 'deactivated',
    last_login_date: '2016-03-03T16:13:59.1917141',
    last_updated_date: '2015-12-03T20:06:02.083',
    deactivation_date: '2016-08-24T13:39:03.937',
    roles: SEED_ROLES,
    access: { billing_groups: ['1234'], group_owners: [] },
  }),
  mhopper: JSON.stringify({
    user_id: '9cb5bf2a-ed88-4b63-a76e-bfdb92b2121a',
    username: 'mhopper',
    name: 'Mike Hopper',
    email: '',
    phone: '',
    call_detail_level: 'full',
    restrict_recording_download: false,
    status: 'deactivated',
    last_login_date: '2015-07-07T12:24:54.423',
    last_updated_date: '2015-07-07T12:25:16.42',
    deactivation_date: '2022-05-02T13:45:59.937',
    roles: SEED_ROLES,
    access: { billing_groups: ['1234'], group_owners: [] },
  }),
  ewoods: JSON.stringify({
    user_id: 'fe3949c2-b3f5-46f8-9377-05568c748dbc',
    username: 'ewoods',
    name: 'Edward Woods',
    email: '',
    phone: '705-722-4398',
    call_detail_level: 'full',
    restrict_recording_download: false,
    status: 'activated',
    last_login_date: '2011-08-15T13:16:42.283',
    last_updated_date: '2015-11-17T14:23:53.643',
    roles: SEED_ROLES,
    access: { billing_groups: ['5555'], group_owners: [] },
  }),
  // The seed does not show test1's roles or access: the demo gives it administrator and billing group 1234 (docs/api.md).
  test1: JSON.stringify({
    user_id: '00f12ba7-b26a-4503-9ab4-0ec04914f71f',
    username: 'test1',
    name: 'test1',
    email: '',
    phone: '',
    call_detail_level: 'full',
    restrict_recording_download: false,
    status: 'activated',
    last_login_date: '2022-05-02T14:38:49.5177442',
    last_updated_date: '2021-08-03T16:14:45.8890787',
    roles: ['administrator'],
    access: { billing_groups: ['1234'], group_owners: [] },
  }),
};

/** A wire timestamp in the stored, sortable form (7 fraction digits). */
const padStamp = (s: string) =>
  s.includes('.') ? `${s.split('.')[0]}.${s.split('.')[1]!.padEnd(7, '0')}` : `${s}.0000000`;

type SortField = 'username' | 'name' | 'last_login_date' | 'last_updated_date';
const sortKey = (u: WireUser, field: SortField): string | null =>
  field === 'username'
    ? foldUsername(u.username)
    : field === 'name'
      ? foldText(u.name)
      : u[field] === null
        ? null
        : padStamp(u[field]);

/** The contract's total order: the field (nulls last either way), then user_id, in the requested direction. */
function contractOrder(field: SortField, order: 'asc' | 'desc') {
  const dir = order === 'asc' ? 1 : -1;
  return (a: WireUser, b: WireUser): number => {
    const ka = sortKey(a, field),
      kb = sortKey(b, field);
    if (ka === null && kb !== null) return 1;
    if (kb === null && ka !== null) return -1;
    if (ka !== null && kb !== null) {
      const c = byCodePoint(ka, kb);
      if (c !== 0) return dir * c;
    }
    return dir * byCodePoint(a.user_id, b.user_id);
  };
}

const ids = (users: WireUser[]) => users.map((u) => u.user_id);

for (const dialect of DIALECTS) {
  describe(`GET users: paging, search, sorting, errors (${dialect})`, () => {
    let t: TestApp;
    let all: WireUser[];
    let literalKey: string;
    const get = (query: string, key?: string) =>
      t.app.inject({ url: `/api/v1/users${query}`, headers: bearer(key ?? t.demo.read) });
    const page = async (query: string, key?: string) => {
      const res = await get(query, key);
      assert.equal(res.statusCode, 200, `${query}: ${res.body.slice(0, 300)}`);
      return res.json<{ paging: { pageNumber: number; pageSize: number; total: number }; results: WireUser[] }>();
    };
    const q = (params: Record<string, string | string[]>) => {
      const sp = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) for (const value of [v].flat()) sp.append(k, value);
      return `?${sp.toString()}`;
    };
    /** Asserts that a query answers exactly the demo users the predicate picks, in the default order. */
    const expectMatch = async (query: string, pick: (u: WireUser) => boolean) => {
      const body = await page(query);
      const expected = all.filter(pick);
      assert.equal(body.paging.total, expected.length, `total of ${query}`);
      assert.deepEqual(ids(body.results), ids(expected), `results of ${query}`);
      return expected.length;
    };
    const expect400 = async (query: string, parameter: string, says?: RegExp) => {
      const res = await get(query);
      assert.equal(res.statusCode, 400, `${query} → ${res.statusCode} ${res.body}`);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      const problem = res.json();
      assert.equal(problem.status, 400);
      assert.ok(problem.type && problem.title && problem.detail, 'a problem has type, title, detail');
      assert.ok(
        problem.errors?.some((e: { parameter?: string }) => e.parameter === parameter),
        `${query} names ${parameter}: ${res.body}`,
      );
      assert.ok(problem.detail.includes(`"${parameter}"`), `detail names the parameter: ${problem.detail}`);
      if (says) assert.match(problem.detail, says, `${query}: ${problem.detail}`);
    };

    before(async () => {
      // Over a thousand requests with one key: the rate limit (its own tests elsewhere) is off here.
      t = await buildTestApp(dialect, { RATE_LIMIT: '0' });
      all = (await page('')).results;
      // An organization of its own holding the characters a LIKE pattern or a shell would treat specially.
      const orgId = await createOrgService(t.conn.db).createOrganization('literal');
      literalKey = (await createKeyService(t.conn.db).createApiKey(orgId, 'read')).key;
      await insertTestUsers(t.conn, orgId, [
        { username: '50%off', name: 'Fifty % Off' },
        { username: '50xoff', name: 'Fifty x Off' },
        { username: 'a_b', name: 'Under_Score' },
        { username: 'axb', name: 'UnderXScore' },
        { username: 'star*', name: 'Star * Name' },
        { username: 'starx', name: 'Star x Name' },
        { username: 'back\\slash', name: 'Back\\Slash' },
        { username: 'backslash', name: 'BackSlash' },
        { username: "o'neil", name: "O'Neil" },
        { username: 'oneil', name: 'ONeil' },
        // Not o’neil: a look-alike of o'neil, which usernames refuse (docs/security.md section 14).
        { username: 'o’hara', name: 'O’Hara' },
        { username: 'dq"x', name: 'Dq"X' },
        { username: 'dqx', name: 'DqX' },
        { username: 'émile', name: 'Émile Zola' },
        { username: 'emile', name: 'Emile Plain' },
      ]);
    });
    after(async () => t.close());

    describe('paging', () => {
      it('defaults to page 1 of 10000, with the true total', async () => {
        const body = await page('');
        assert.deepEqual(body.paging, { pageNumber: 1, pageSize: 10000, total: 165 });
        assert.equal(body.results.length, 165);
      });

      it("answers pagesize=3 with exactly the seed's envelope", async () => {
        const res = await get('?pagesize=3');
        assert.ok(
          res.body.startsWith('{"paging":{"pageNumber":1,"pageSize":3,"total":165},"results":[{"user_id":'),
          res.body.slice(0, 120),
        );
        assert.deepEqual(ids(res.json().results), ids(all.slice(0, 3)));
      });

      it('serves a page size above the cap as 10000 and says so in paging.pageSize', async () => {
        for (const size of ['10000', '10001', '20000', '99999999999', '9'.repeat(400)]) {
          const body = await page(`?pagesize=${size}`);
          assert.equal(body.paging.pageSize, 10000, size.slice(0, 20));
          assert.equal(body.results.length, 165);
        }
      });

      it('answers a page past the end with 200, [] and the true total', async () => {
        for (const query of [
          '?pagenumber=3&pagesize=100',
          '?pagenumber=2',
          '?pagenumber=2147483647&pagesize=10000',
          '?pagenumber=56&pagesize=3&status=activated',
        ]) {
          const body = await page(query);
          assert.deepEqual(body.results, [], query);
          assert.ok(body.paging.total > 0, query);
        }
      });

      it('serves the right slice for a middle page, and the last partial page', async () => {
        assert.deepEqual(ids((await page('?pagenumber=4&pagesize=10')).results), ids(all.slice(30, 40)));
        assert.deepEqual(ids((await page('?pagenumber=17&pagesize=10')).results), ids(all.slice(160, 165)));
      });

      it('counts every match in total, whatever the page', async () => {
        const activated = all.filter((u) => u.status === 'activated').length;
        for (const query of [
          '?status=activated&pagesize=1',
          '?status=activated&pagesize=2&pagenumber=3',
          '?status=activated&pagenumber=999',
        ]) {
          assert.equal((await page(query)).paging.total, activated, query);
        }
      });

      it('matches parameter names case-insensitively: pagesize, pageSize and PageSize are one parameter', async () => {
        for (const name of ['pagesize', 'pageSize', 'PageSize', 'PAGESIZE']) {
          assert.equal((await page(`?${name}=3`)).paging.pageSize, 3, name);
        }
        const body = await page('?PageNumber=2&pageSize=3');
        assert.deepEqual(body.paging, { pageNumber: 2, pageSize: 3, total: 165 });
        assert.deepEqual(ids(body.results), ids(all.slice(3, 6)));
        await expect400('?pageSize=3&pagesize=4', 'pagesize', /more than once/);
        await expectMatch(
          '?UserName=SMITH&STATUS=Deactivated',
          (u) => foldText(u.username).includes('smith') && u.status === 'deactivated',
        );
        const sorted = [...all].sort(contractOrder('name', 'desc'));
        assert.deepEqual(ids((await page('?SortBy=NAME&SORTORDER=Desc')).results), ids(sorted));
      });
    });

    describe('Link header', () => {
      it('carries first, prev, next and last, keeping the query', async () => {
        const query = '?username=a&sortby=name&pagesize=10&pagenumber=2';
        const res = await get(query);
        const total = res.json().paging.total as number;
        const last = Math.ceil(total / 10);
        assert.ok(last >= 3, 'the demo has enough users whose username holds "a"');
        const links = parseLinks(res.headers.link as string);
        assert.deepEqual(Object.keys(links).sort(), ['first', 'last', 'next', 'prev']);
        for (const [rel, n] of [
          ['first', 1],
          ['prev', 1],
          ['next', 3],
          ['last', last],
        ] as const) {
          const url = new URL(links[rel]!, 'http://x');
          assert.equal(url.pathname, '/api/v1/users', rel);
          assert.equal(url.searchParams.get('username'), 'a', rel);
          assert.equal(url.searchParams.get('sortby'), 'name', rel);
          assert.equal(url.searchParams.get('pagesize'), '10', rel);
          assert.equal(url.searchParams.get('pagenumber'), String(n), rel);
        }
      });

      it('leaves out prev on the first page and next on the last; following next walks every match once', async () => {
        let next: string | undefined = '/api/v1/users?status=activated&pagesize=7&sortby=last_login_date';
        const seen: string[] = [];
        let pages = 0;
        while (next) {
          const res: { statusCode: number; headers: Record<string, unknown>; json(): { results: WireUser[] } } =
            await t.app.inject({ url: next, headers: bearer(t.demo.read) });
          assert.equal(res.statusCode, 200);
          const links = parseLinks(res.headers.link as string);
          if (pages === 0) assert.equal(links.prev, undefined);
          seen.push(...ids(res.json().results));
          next = links.next;
          if (!next)
            assert.match(links.last!, new RegExp(`pagenumber=${pages + 1}(&|$)`), 'the page without next is the last');
          pages++;
        }
        const expected = [...all].filter((u) => u.status === 'activated').sort(contractOrder('last_login_date', 'asc'));
        assert.deepEqual(seen, ids(expected));
        assert.equal(pages, Math.ceil(expected.length / 7));
      });

      it('links the capped page size, an empty result to page 1, a page past the end back to the last, and keeps a "?" in a value', async () => {
        const capped = parseLinks((await get('?pagesize=20000')).headers.link as string);
        assert.match(capped.first!, /pagesize=10000/);
        const empty = parseLinks((await get('?username=zzzzzz')).headers.link as string);
        assert.match(empty.last!, /pagenumber=1(&|$)/);
        assert.equal(empty.next, undefined);
        const past = parseLinks((await get('?pagesize=50&pagenumber=9')).headers.link as string);
        assert.match(past.prev!, /pagenumber=4(&|$)/);
        assert.match(past.last!, /pagenumber=4(&|$)/);
        assert.equal(past.next, undefined);
        const question = parseLinks((await get('?username=a?b&pagesize=1')).headers.link as string);
        assert.equal(new URL(question.first!, 'http://x').searchParams.get('username'), 'a?b');
      });
    });

    describe('search', () => {
      it('username and name: case-insensitive substrings (ÉMILE finds Émile)', async () => {
        assert.ok((await expectMatch('?username=SMITH', (u) => foldText(u.username).includes('smith'))) > 1);
        assert.ok((await expectMatch(q({ name: 'ÉMILE' }), (u) => u.name.includes('Émile'))) > 0);
        assert.ok((await expectMatch(q({ name: 'émile' }), (u) => u.name.includes('Émile'))) > 0);
        assert.ok(
          (await expectMatch(q({ name: 'E\u0301MILE' }), (u) => u.name.includes('Émile'))) > 0,
          'a decomposed É matches a composed one',
        );
        await expectMatch(q({ name: 'ob sm' }), (u) => foldText(u.name).includes('ob sm'));
        await expectMatch(q({ username: 'RSMITH' }), (u) => foldText(u.username).includes('rsmith'));
      });

      it('a repeated substring parameter matches any of its values (OR)', async () => {
        assert.ok((await expectMatch('?username=smith&username=hopper', (u) => /smith|hopper/.test(u.username))) > 2);
        await expectMatch(q({ name: ['Zoë', 'Björn'] }), (u) => /zoë|björn/i.test(u.name));
      });

      it('status and role: exact and case-insensitive; repeated values OR', async () => {
        for (const status of ['awaiting_approval', 'activated', 'deactivated']) {
          assert.ok((await expectMatch(`?status=${status}`, (u) => u.status === status)) > 0, status);
          await expectMatch(`?status=${status.toUpperCase()}`, (u) => u.status === status);
        }
        await expectMatch('?status=activated&status=Deactivated', (u) => u.status !== 'awaiting_approval');
        for (const role of [
          'administrator',
          'org_group_admin',
          'ordering',
          'reporting',
          'browse_inventory',
          'view_stop_call_data',
          'call_record_listen',
          'rescue',
        ]) {
          assert.ok((await expectMatch(`?role=${role}`, (u) => u.roles.includes(role))) > 0, role);
        }
        await expectMatch(
          '?role=ADMINISTRATOR&role=Rescue',
          (u) => u.roles.includes('administrator') || u.roles.includes('rescue'),
        );
      });

      it('status and role are exact, not substrings', async () => {
        await expect400('?status=activ', 'status');
        await expect400('?role=admin', 'role');
      });

      it('billing_group and group_owner: exact ids in access; repeated values OR', async () => {
        let matched = 0;
        for (const id of ['1000', '1234', '5555', '2000', '2001', '2002', '3000', '123', '12345']) {
          matched += await expectMatch(`?billing_group=${id}`, (u) => u.access.billing_groups.includes(id));
        }
        assert.ok(matched > 0);
        assert.ok(
          (await expectMatch('?billing_group=1234', (u) => u.access.billing_groups.includes('1234'))) >= 3,
          'rsmith, mhopper, test1 at least',
        );
        for (const id of ['7001', '7002', '7003', '7004', '7005', '7006', '700']) {
          await expectMatch(`?group_owner=${id}`, (u) => u.access.group_owners.includes(id));
        }
        assert.ok(
          (await expectMatch('?group_owner=7001&group_owner=7003', (u) =>
            u.access.group_owners.some((g) => g === '7001' || g === '7003'),
          )) > 0,
        );
        await expectMatch('?billing_group=1234&billing_group=5555', (u) =>
          u.access.billing_groups.some((b) => b === '1234' || b === '5555'),
        );
        await expectMatch('?billing_group=99999999999&billing_group=1234', (u) =>
          u.access.billing_groups.includes('1234'),
        );
        await expectMatch('?group_owner=99999999999999999999', () => false);
      });

      it('different parameters combine with AND', async () => {
        await expectMatch(
          '?status=activated&role=reporting',
          (u) => u.status === 'activated' && u.roles.includes('reporting'),
        );
        await expectMatch(
          '?billing_group=1234&billing_group=5555&status=deactivated',
          (u) => u.status === 'deactivated' && u.access.billing_groups.some((b) => b === '1234' || b === '5555'),
        );
        await expectMatch(
          '?username=a&name=e&role=ordering&role=rescue',
          (u) =>
            u.username.includes('a') &&
            foldText(u.name).includes('e') &&
            (u.roles.includes('ordering') || u.roles.includes('rescue')),
        );
        await expectMatch(
          '?username=smith&status=deactivated&role=administrator&billing_group=1234',
          (u) =>
            u.username.includes('smith') &&
            u.status === 'deactivated' &&
            u.roles.includes('administrator') &&
            u.access.billing_groups.includes('1234'),
        );
        await expectMatch(
          '?status=activated&group_owner=7001&group_owner=7002&group_owner=7003&group_owner=7004',
          (u) =>
            u.status === 'activated' && u.access.group_owners.some((g) => ['7001', '7002', '7003', '7004'].includes(g)),
        );
      });

      it('an empty value is the same as leaving the parameter out', async () => {
        await expectMatch(
          '?username=&name=&status=&role=&billing_group=&group_owner=&sortby=&sortorder=&pagenumber=&pagesize=',
          () => true,
        );
        await expectMatch('?status=&status=activated', (u) => u.status === 'activated');
      });

      it('substring search is literal: % _ * \\ and quotes match only themselves', async () => {
        const users = (await page('', literalKey)).results;
        assert.equal(users.length, 15);
        const cases: Array<[string, string[]]> = [
          ['%', ['50%off']],
          ['_', ['a_b']],
          ['*', ['star*']],
          ['\\', ['back\\slash']],
          ["'", ["o'neil"]],
          ['"', ['dq"x']],
          ['50%', ['50%off']],
          ['%off', ['50%off']],
          ['a_b', ['a_b']],
          ['k\\s', ['back\\slash']],
          ["o'n", ["o'neil"]],
          ['’', ['o’hara']],
          ['%%', []],
          ['_b', ['a_b']],
          ['a%b', []],
          ['*x', []],
          ['\\\\', []],
          ['ÉMILE', ['émile']],
          ['E\u0301MILE', ['émile']],
        ];
        for (const [needle, expected] of cases) {
          const byUsername = await page(q({ username: needle }), literalKey);
          assert.deepEqual(
            byUsername.results.map((u) => u.username).sort(),
            [...expected].sort(),
            `username=${needle}`,
          );
          assert.equal(byUsername.paging.total, expected.length, `username=${needle}`);
          // The names hold the same characters: the expectation is the plain folded substring test.
          const byName = await page(q({ name: needle }), literalKey);
          const names = users.filter((u) => foldText(u.name).includes(foldText(needle))).map((u) => u.name);
          assert.deepEqual(byName.results.map((u) => u.name).sort(), names.sort(), `name=${needle}`);
        }
        for (const special of ['%', '_', '*', '\\', "'", '"']) {
          assert.equal(
            (await page(q({ name: special }), literalKey)).paging.total,
            1,
            `name=${special} finds only the name holding it`,
          );
        }
      });
    });

    describe('sorting', () => {
      const fields: SortField[] = ['username', 'name', 'last_login_date', 'last_updated_date'];

      it('the demo data has the ties and nulls that make the order total worth testing', () => {
        const names = all.map((u) => foldText(u.name));
        assert.ok(new Set(names).size < names.length, 'some users share a name');
        assert.ok(all.some((u) => u.last_login_date === null) && all.some((u) => u.last_login_date !== null));
      });

      it('defaults to username ascending', async () => {
        assert.deepEqual(ids(all), ids([...all].sort(contractOrder('username', 'asc'))));
        assert.deepEqual(ids((await page('?sortby=username&sortorder=asc')).results), ids(all));
      });

      for (const field of fields) {
        for (const order of ['asc', 'desc'] as const) {
          it(`sortby=${field}&sortorder=${order}: total order (ties on user_id, null dates last), paging never repeats or skips`, async () => {
            const expected = [...all].sort(contractOrder(field, order));
            const full = (await page(`?sortby=${field}&sortorder=${order}`)).results;
            assert.deepEqual(ids(full), ids(expected));
            if (field === 'last_login_date') {
              const firstNull = full.findIndex((u) => u.last_login_date === null);
              assert.ok(firstNull > 0 && full.slice(firstNull).every((u) => u.last_login_date === null), 'nulls last');
            }
            const walked: string[] = [];
            for (let n = 1; n <= Math.ceil(165 / 7); n++)
              walked.push(
                ...ids((await page(`?sortby=${field}&sortorder=${order}&pagesize=7&pagenumber=${n}`)).results),
              );
            assert.deepEqual(walked, ids(expected));
            assert.equal(new Set(walked).size, 165);
          });
        }
      }
    });

    describe('pages bigger than one read chunk (an organization of 1,100 users)', () => {
      let bigKey: string;
      let bigAll: WireUser[];
      before(async () => {
        const orgId = await createOrgService(t.conn.db).createOrganization('big');
        bigKey = (await createKeyService(t.conn.db).createApiKey(orgId, 'read')).key;
        const stamp = (n: number) =>
          `2020-01-${String(1 + (n % 28)).padStart(2, '0')}T00:00:0${n % 10}.${String(n % 7).padStart(7, '0')}`;
        await insertTestUsers(
          t.conn,
          orgId,
          Array.from({ length: 1100 }, (_, i) => ({
            username: `u${String((i * 7919) % 1100).padStart(4, '0')}`,
            // Few distinct names and dates: long runs of ties that only user_id can order.
            name: ['Ann', 'ann', 'Bob', 'Émile', 'Zoë'][i % 5]!,
            last_login_date: i % 3 === 0 ? null : stamp(i % 13),
            last_updated_date: stamp(i % 4),
            status: (['activated', 'deactivated', 'awaiting_approval'] as const)[i % 3],
          })),
        );
        const res = await get('?pagesize=10000', bigKey);
        bigAll = res.json().results;
      });

      it('serves the whole organization in one page, keys and values as for small pages', () => {
        assert.equal(bigAll.length, 1100);
        assert.equal(new Set(ids(bigAll)).size, 1100);
        assert.deepEqual(ids(bigAll), ids([...bigAll].sort(contractOrder('username', 'asc'))));
      });

      for (const field of ['username', 'name', 'last_login_date', 'last_updated_date'] as const) {
        for (const order of ['asc', 'desc'] as const) {
          it(`sortby=${field}&sortorder=${order}: one big page, and pages of 600, in the contract's total order`, async () => {
            const expected = ids([...bigAll].sort(contractOrder(field, order)));
            const whole = await page(`?sortby=${field}&sortorder=${order}`, bigKey);
            assert.deepEqual(ids(whole.results), expected);
            const first = await page(`?sortby=${field}&sortorder=${order}&pagesize=600`, bigKey);
            const second = await page(`?sortby=${field}&sortorder=${order}&pagesize=600&pagenumber=2`, bigKey);
            assert.deepEqual([...ids(first.results), ...ids(second.results)], expected);
            const filtered = await page(
              `?sortby=${field}&sortorder=${order}&status=activated&status=deactivated&name=n`,
              bigKey,
            );
            const picked = new Set(
              bigAll
                .filter((u) => u.status !== 'awaiting_approval' && foldText(u.name).includes('n'))
                .map((u) => u.user_id),
            );
            assert.deepEqual(
              ids(filtered.results),
              expected.filter((id) => picked.has(id)),
            );
            assert.equal(filtered.paging.total, picked.size);
          });
        }
      }

      it('answers a write at once: totals and pages are never stale', async () => {
        const before = await page('?pagesize=2&status=activated', bigKey);
        const orgId = (
          await t.conn.db.selectFrom('organizations').select('id').where('name', '=', 'big').executeTakeFirstOrThrow()
        ).id;
        await insertTestUsers(t.conn, orgId, [{ username: '0000first', status: 'activated' }]);
        const after = await page('?pagesize=2&status=activated', bigKey);
        assert.equal(after.paging.total, before.paging.total + 1);
        assert.equal(after.results[0]!.username, '0000first');
        assert.equal((await page('', bigKey)).paging.total, 1101);
      });
    });

    describe('400 problem+json naming the parameter', () => {
      it('malformed numbers', async () => {
        for (const parameter of ['pagenumber', 'pagesize']) {
          for (const value of ['1.5', 'abc', '1e2', '0x10', ' 5', '5 ', '+5', '1,000', '１']) {
            await expect400(q({ [parameter]: value }), parameter, /integer/);
          }
        }
      });

      it('values below the minimum, and a page number beyond the largest', async () => {
        for (const parameter of ['pagenumber', 'pagesize']) {
          for (const value of ['0', '-1', '-0', '-99999999999999999999'])
            await expect400(q({ [parameter]: value }), parameter, /≥ 1/);
        }
        await expect400('?pagenumber=2147483648', 'pagenumber', /≤ 2147483647/);
      });

      it('unknown enum values, listing what is accepted', async () => {
        await expect400('?status=active', 'status', /awaiting_approval, activated, deactivated/);
        await expect400('?status=activated&status=gone', 'status');
        await expect400('?role=admin', 'role', /administrator/);
        await expect400('?sortby=email', 'sortby', /last_updated_date/);
        await expect400('?sortby=user_id', 'sortby');
        await expect400('?sortorder=up', 'sortorder', /asc, desc/);
        await expect400('?sortorder=ascending', 'sortorder');
        await expect400('?billing_group=abc', 'billing_group');
        await expect400('?group_owner=-1', 'group_owner');
      });

      it('unknown parameters, even empty ones, listing the accepted names', async () => {
        for (const name of ['foo', 'page', 'limit', 'user_name', 'q', 'offset', 'email']) {
          await expect400(`?${name}=1`, name, /pagenumber, pagesize, username/);
          await expect400(`?${name}=`, name);
        }
        await expect400('?username=a&bogus=1', 'bogus');
      });
    });

    describe("the seed's examples, field for field", () => {
      for (const username of ['rsmith', 'mhopper', 'ewoods', 'test1']) {
        it(`${username} byte for byte, alone and in the list`, async () => {
          const one = await t.app.inject({ url: `/api/v1/users/${username}`, headers: bearer(t.demo.read) });
          assert.equal(one.statusCode, 200);
          assert.equal(one.body, SEED_JSON[username]);
          const byId = await t.app.inject({
            url: `/api/v1/users/${JSON.parse(SEED_JSON[username]!).user_id}`,
            headers: bearer(t.demo.read),
          });
          assert.equal(byId.body, SEED_JSON[username]);
          const list = await get('');
          assert.ok(list.body.includes(SEED_JSON[username]!), `the list carries ${username} exactly`);
        });
      }

      it('keeps 2016-03-03T16:13:59.1917141 and the other timestamps exactly', async () => {
        const body = await page(
          '?username=rsmith&username=mhopper&username=ewoods&username=test1&sortby=last_login_date&sortorder=desc',
        );
        const byName = Object.fromEntries(body.results.map((u) => [u.username, u]));
        assert.equal(byName.rsmith!.last_login_date, '2016-03-03T16:13:59.1917141');
        assert.equal(byName.test1!.last_login_date, '2022-05-02T14:38:49.5177442');
        assert.equal(byName.test1!.last_updated_date, '2021-08-03T16:14:45.8890787');
        assert.equal(byName.mhopper!.last_updated_date, '2015-07-07T12:25:16.42');
      });

      it('every user: keys in the contract order, deactivation_date present exactly when deactivated, seed timestamp form', async () => {
        const stamp = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{0,6}[1-9])?$/;
        for (const u of all) {
          assert.deepEqual(
            Object.keys(u),
            USER_KEY_ORDER.filter((k) => k !== 'deactivation_date' || u.status === 'deactivated'),
            u.username,
          );
          assert.equal('deactivation_date' in u, u.status === 'deactivated', u.username);
          for (const value of [u.last_updated_date, u.last_login_date, u.deactivation_date]) {
            if (typeof value === 'string') assert.match(value, stamp, u.username);
          }
          assert.deepEqual(Object.keys(u.access), ['billing_groups', 'group_owners']);
        }
      });

      it('every demo user obeys the user object rules of §1', () => {
        const roles = [
          'administrator',
          'org_group_admin',
          'ordering',
          'reporting',
          'browse_inventory',
          'view_stop_call_data',
          'call_record_listen',
          'rescue',
        ];
        for (const u of all) {
          assert.match(u.user_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
          assert.ok(
            u.username.length >= 1 &&
              u.username.length <= 128 &&
              !/[\u0000-\u001f\u007f/]/.test(u.username) &&
              u.username.trim() === u.username,
            u.username,
          );
          assert.ok(u.name.length >= 1 && u.name.length <= 256, u.username);
          assert.equal(typeof u.email, 'string');
          assert.ok(
            u.email === '' || /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(u.email as string),
            `${String(u.username)}: ${String(u.email)}`,
          );
          const phone = u.phone as string;
          assert.ok(
            phone === '' || (/^[0-9 ().-]+$/.test(phone) && phone.replace(/\D/g, '').length === 10),
            `${u.username}: ${phone}`,
          );
          assert.ok(['full', 'no_caller', 'no_call'].includes(u.call_detail_level as string));
          assert.equal(typeof u.restrict_recording_download, 'boolean');
          assert.ok(
            u.roles.length >= 1 && new Set(u.roles).size === u.roles.length && u.roles.every((r) => roles.includes(r)),
            u.username,
          );
          for (const id of u.access.billing_groups)
            assert.ok(
              ['1000', '1234', '5555', '2000', '2001', '2002', '3000'].includes(id),
              `${u.username}: billing group ${id}`,
            );
          for (const id of u.access.group_owners)
            assert.ok(['7001', '7002', '7003', '7004', '7005', '7006'].includes(id), `${u.username}: group ${id}`);
        }
      });

      it('the demo covers every status, role and call detail level, access patterns, null and non-null logins, Unicode names', () => {
        assert.equal(new Set(all.map((u) => u.status)).size, 3);
        assert.equal(new Set(all.flatMap((u) => u.roles)).size, 8);
        assert.equal(new Set(all.map((u) => u.call_detail_level)).size, 3);
        assert.ok(new Set(all.flatMap((u) => u.access.billing_groups)).size >= 3);
        assert.ok(new Set(all.flatMap((u) => u.access.group_owners)).size >= 3);
        assert.ok(
          all.some((u) => u.access.billing_groups.length === 0) && all.some((u) => u.access.billing_groups.length > 1),
        );
        assert.ok(all.some((u) => /[^\x00-\x7f]/.test(u.name)) && all.some((u) => /[^\x00-\x7f]/.test(u.username)));
        assert.equal(
          new Set(all.map((u) => foldText(u.username))).size,
          165,
          'usernames are unique case-insensitively',
        );
      });
    });
  });
}
