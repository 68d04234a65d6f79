import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { SCIM_USER, filterQuery, scimCaller } from '../support/scim.js';
import { caller } from '../support/writes.js';

interface ApiUser {
  user_id: string;
  username: string;
  name: string;
  email: string;
  status: string;
  roles: string[];
  last_updated_date: string;
}

const byUserName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

for (const dialect of DIALECTS) {
  describe(`SCIM Users lists: filters, paging, sorting, projection (${dialect})`, () => {
    let t: TestApp;
    let scim: ReturnType<typeof scimCaller>;
    let users: ApiUser[];
    before(async () => {
      t = await buildTestApp(dialect);
      scim = scimCaller(t, t.demo.read);
      const write = scimCaller(t, t.demo.write);
      for (const [userName, given, family, externalId] of [
        ['Zoe.Quinn', 'Zoë', 'Quinn', 'EXT-100'],
        ['zack.quill', 'Zack', 'Quill', 'ext-101'],
        ['ΝΙΚΟΣΘΕΝΗΣ', 'Νίκος', 'Θένης', undefined],
        ['Straße.Ost', 'Anna', 'Ost', undefined],
      ] as const) {
        const res = await write('POST', 'Users', {
          body: {
            schemas: [SCIM_USER],
            userName,
            externalId,
            name: { givenName: given, familyName: family },
            emails: [{ value: `${userName}@Example.com`, type: 'work' }],
          },
        });
        assert.equal(res.statusCode, 201, res.body);
      }
      users = (await caller(t, t.demo.read)('GET', 'users?pagesize=10000')).json().results as ApiUser[];
    });
    after(async () => t.close());

    /** The userNames a filter selects, in userName order. */
    const select = async (filter: string, extra = '&count=1000'): Promise<string[]> => {
      const res = await scim('GET', `Users?${filterQuery(filter, extra)}`);
      assert.equal(res.statusCode, 200, `${filter}: ${res.body}`);
      const body = res.json();
      assert.equal(body.totalResults, body.Resources.length, `${filter}: one page holds every match`);
      return body.Resources.map((r: { userName: string }) => r.userName);
    };
    const expect = (keep: (u: ApiUser) => boolean) =>
      users
        .filter(keep)
        .map((u) => u.username)
        .sort((a, b) => byUserName(a.toLowerCase(), b.toLowerCase()));
    const lower = (s: string) => s.toLowerCase();

    it('filters userName with every operator, case-insensitively', async () => {
      assert.deepEqual(await select('userName eq "ZOE.QUINN"'), ['Zoe.Quinn']);
      assert.deepEqual(
        await select('userName ne "rsmith"'),
        expect((u) => u.username !== 'rsmith'),
      );
      assert.deepEqual(
        await select('userName co "SMI"'),
        expect((u) => lower(u.username).includes('smi')),
      );
      assert.deepEqual(
        await select('userName co "s"'),
        expect((u) => lower(u.username).includes('s')),
      );
      assert.deepEqual(
        await select('userName sw "Z"'),
        expect((u) => lower(u.username).startsWith('z')),
      );
      assert.deepEqual(
        await select('userName ew "N"'),
        expect((u) => lower(u.username).endsWith('n')),
      );
      assert.deepEqual(
        await select('userName gt "x"'),
        expect((u) => lower(u.username) > 'x'),
      );
      assert.deepEqual(
        await select('userName ge "rsmith"'),
        expect((u) => lower(u.username) >= 'rsmith'),
      );
      assert.deepEqual(
        await select('userName lt "b"'),
        expect((u) => lower(u.username) < 'b'),
      );
      assert.deepEqual(
        await select('userName le "aarav.dubois"'),
        expect((u) => lower(u.username) <= 'aarav.dubois'),
      );
      assert.deepEqual(
        await select('userName pr'),
        expect(() => true),
      );
    });

    it('folds userName as the API does (full case folding): STRASSE finds Straße', async () => {
      assert.deepEqual(await select('userName eq "STRASSE.OST"'), ['Straße.Ost']);
      assert.deepEqual(await select('userName sw "strasse"'), ['Straße.Ost']);
      assert.deepEqual(await select('userName co "RASSE.O"'), ['Straße.Ost']);
    });

    it('combines with and, or, not and parentheses', async () => {
      assert.deepEqual(
        await select('userName sw "z" and not (userName eq "zack.quill")'),
        expect((u) => lower(u.username).startsWith('z') && u.username !== 'zack.quill'),
      );
      assert.deepEqual(
        await select('(userName eq "rsmith" or userName eq "mhopper") and active eq true'),
        expect((u) => ['rsmith', 'mhopper'].includes(u.username) && u.status === 'activated'),
      );
      assert.deepEqual(
        await select('not (active eq true) and userName sw "a"'),
        expect((u) => u.status !== 'activated' && lower(u.username).startsWith('a')),
      );
    });

    it('filters emails (plain and by work type), names, displayName, externalId, id, roles and active', async () => {
      const rsmith = users.find((u) => u.username === 'rsmith')!;
      const mailed = users.find(
        (u) => u.email !== '' && users.filter((v) => lower(v.email) === lower(u.email)).length === 1,
      )!;
      assert.deepEqual(await select(`emails.value eq "${mailed.email.toUpperCase()}"`), [mailed.username]);
      assert.deepEqual(await select(`emails[type eq "work"].value eq "${mailed.email}"`), [mailed.username]);
      assert.deepEqual(
        await select('emails pr and userName sw "z"'),
        expect((u) => u.email !== '' && lower(u.username).startsWith('z')),
      );
      assert.deepEqual(
        await select('not (emails pr)'),
        expect((u) => u.email === ''),
      );
      assert.deepEqual(await select('emails[type eq "home"].value pr'), []);
      assert.deepEqual(
        await select('emails co "@example.com"'),
        expect((u) => lower(u.email).includes('@example.com')),
      );
      assert.deepEqual(
        await select(`name.formatted eq "${rsmith.name.toUpperCase()}"`),
        expect((u) => lower(u.name) === lower(rsmith.name)),
      );
      assert.deepEqual(
        await select(`displayName sw "${rsmith.name.slice(0, 3)}"`),
        expect((u) => lower(u.name).startsWith(lower(rsmith.name.slice(0, 3)))),
      );
      assert.deepEqual(await select('name.givenName eq "ZACK"'), ['zack.quill']);
      assert.deepEqual(await select('name.familyName sw "qu"'), ['zack.quill', 'Zoe.Quinn']);
      assert.deepEqual(await select('externalId eq "EXT-100"'), ['Zoe.Quinn']);
      assert.deepEqual(await select('externalId eq "ext-100"'), [], 'externalId is case-exact');
      assert.deepEqual(await select('externalId pr'), ['zack.quill', 'Zoe.Quinn']);
      assert.deepEqual(await select('externalId sw "EXT"'), ['Zoe.Quinn'], 'sw on externalId is case-exact');
      assert.deepEqual(await select('externalId co "xt-10"'), ['zack.quill']);
      assert.deepEqual(await select('externalId ew "-100"'), ['Zoe.Quinn']);
      assert.deepEqual(await select('externalId ew "a-very-long-suffix-ext-101"'), []);
      assert.deepEqual(await select(`id eq "${rsmith.user_id.toUpperCase()}"`), ['rsmith']);
      assert.deepEqual(
        await select('roles.value eq "administrator"'),
        expect((u) => u.roles.includes('administrator')),
      );
      assert.deepEqual(
        await select('roles.value ne "reporting" and userName sw "b"'),
        expect((u) => !u.roles.includes('reporting') && lower(u.username).startsWith('b')),
      );
      assert.deepEqual(
        await select('active eq false'),
        expect((u) => u.status !== 'activated'),
      );
      assert.deepEqual(await select('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "rsmith"'), ['rsmith']);
    });

    it('filters meta.lastModified by time', async () => {
      const times = users.map((u) => u.last_updated_date).sort();
      const middle = times[Math.floor(times.length / 2)]!;
      const stamp = `${middle.replace(/(\.\d+)?$/, (f) => (f || '.').padEnd(8, '0'))}Z`;
      const expected = expect(
        (u) => `${u.last_updated_date.replace(/(\.\d+)?$/, (f) => (f || '.').padEnd(8, '0'))}Z` > stamp,
      );
      assert.deepEqual(await select(`meta.lastModified gt "${stamp}"`), expected);
    });

    it('answers 400 invalidFilter for bad syntax, an unknown attribute or a bad date', async () => {
      for (const filter of [
        'userName eq',
        'userName xx "a"',
        'favouriteColour eq "blue"',
        'meta.lastModified gt "yesterday"',
        'active gt true',
      ]) {
        const res = await scim('GET', `Users?${filterQuery(filter)}`);
        assert.equal(res.statusCode, 400, filter);
        assert.equal(res.json().scimType, 'invalidFilter', filter);
      }
      const named = await scim('GET', `Users?${filterQuery('favouriteColour eq "blue"')}`);
      assert.match(named.json().detail, /favouriteColour/);
    });

    it('pages from startIndex 1 (below 1 counts as 1); count=0 gives only the total; a count above the maximum is served as the maximum', async () => {
      const all = expect(() => true);
      const page = (await scim('GET', 'Users?startIndex=3&count=4')).json();
      assert.deepEqual([page.totalResults, page.itemsPerPage, page.startIndex], [all.length, 4, 3]);
      assert.deepEqual(
        page.Resources.map((r: { userName: string }) => r.userName),
        all.slice(2, 6),
      );
      const zero = (await scim('GET', 'Users?startIndex=0&count=2')).json();
      assert.equal(zero.startIndex, 1);
      assert.deepEqual(
        zero.Resources.map((r: { userName: string }) => r.userName),
        all.slice(0, 2),
      );
      assert.equal((await scim('GET', 'Users?startIndex=-5&count=1')).json().startIndex, 1);
      const totalOnly = (await scim('GET', 'Users?count=0')).json();
      assert.deepEqual(
        [totalOnly.totalResults, totalOnly.itemsPerPage, totalOnly.Resources.length],
        [all.length, 0, 0],
      );
      const big = (await scim('GET', 'Users?count=5000')).json();
      assert.equal(big.itemsPerPage, Math.min(all.length, 1000));
      const past = (await scim('GET', `Users?startIndex=${all.length + 1}`)).json();
      assert.deepEqual([past.totalResults, past.itemsPerPage], [all.length, 0]);
    });

    it('sorts by sortBy and sortOrder', async () => {
      const desc = (await scim('GET', 'Users?sortBy=userName&sortOrder=descending&count=5')).json();
      assert.deepEqual(
        desc.Resources.map((r: { userName: string }) => r.userName),
        expect(() => true)
          .reverse()
          .slice(0, 5),
      );
      const byTime = (await scim('GET', 'Users?sortBy=meta.lastModified&count=1000')).json().Resources as Array<{
        meta: { lastModified: string };
      }>;
      const stamps = byTime.map((r) => r.meta.lastModified);
      assert.deepEqual(stamps, [...stamps].sort());
      const bad = await scim('GET', 'Users?sortBy=favouriteColour');
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().scimType, 'invalidValue');
    });

    it('POST /Users/.search takes the same parameters in its body', async () => {
      const res = await scim('POST', 'Users/.search', {
        body: {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
          filter: 'userName sw "z"',
          attributes: ['userName'],
          startIndex: 1,
          count: 1,
          sortOrder: 'descending',
        },
      });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.totalResults, expect((u) => lower(u.username).startsWith('z')).length);
      assert.deepEqual(Object.keys(body.Resources[0]).sort(), ['id', 'schemas', 'userName']);
      assert.equal(body.Resources[0].userName, 'Zoe.Quinn');
    });

    it('honours attributes and excludedAttributes on lists', async () => {
      const only = (
        await scim('GET', `Users?${filterQuery('userName eq "rsmith"', '&attributes=userName,active')}`)
      ).json();
      assert.deepEqual(Object.keys(only.Resources[0]), ['schemas', 'id', 'userName', 'active']);
      const without = (
        await scim('GET', `Users?${filterQuery('userName eq "rsmith"', '&excludedAttributes=meta,name')}`)
      ).json();
      assert.equal(without.Resources[0].meta, undefined);
      assert.equal(without.Resources[0].name, undefined);
      assert.equal(without.Resources[0].userName, 'rsmith');
    });
  });
}
