import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { SCIM_ERROR, SCIM_ROSTER, SCIM_USER, scimCaller } from '../support/scim.js';

type Attribute = { name: string; caseExact?: boolean; uniqueness: string; mutability: string; returned: string };

for (const dialect of DIALECTS) {
  describe(`SCIM protocol: discovery, keys, media types, errors, tenancy (${dialect})`, () => {
    let t: TestApp;
    let scim: ReturnType<typeof scimCaller>;
    before(async () => {
      t = await buildTestApp(dialect);
      scim = scimCaller(t, t.demo.write);
    });
    after(async () => t.close());

    it('serves ServiceProviderConfig without a key: patch, filter with maxResults, etag and sort supported; bulk and changePassword not; bearer', async () => {
      const res = await scim('GET', 'ServiceProviderConfig', { key: null });
      assert.equal(res.statusCode, 200, res.body);
      assert.match(String(res.headers['content-type']), /^application\/scim\+json/);
      const config = res.json();
      assert.equal(config.patch.supported, true);
      assert.deepEqual(config.filter, { supported: true, maxResults: 1000 });
      assert.equal(config.etag.supported, true);
      assert.equal(config.sort.supported, true);
      assert.equal(config.bulk.supported, false);
      assert.equal(config.changePassword.supported, false);
      assert.equal(config.authenticationSchemes[0].type, 'oauthbearertoken');
    });

    it('lists ResourceTypes and Schemas as ListResponses with User, Group and the Roster extension', async () => {
      const types = (await scim('GET', 'ResourceTypes', { key: null })).json();
      assert.equal(types.schemas[0], 'urn:ietf:params:scim:api:messages:2.0:ListResponse');
      assert.deepEqual(
        types.Resources.map((r: { id: string }) => r.id),
        ['User', 'Group'],
      );
      assert.equal(types.Resources[0].schemaExtensions[0].schema, SCIM_ROSTER);
      const schemas = (await scim('GET', 'Schemas', { key: null })).json();
      assert.equal(schemas.totalResults, 3);
      assert.deepEqual(
        schemas.Resources.map((s: { id: string }) => s.id),
        [SCIM_USER, 'urn:ietf:params:scim:schemas:core:2.0:Group', SCIM_ROSTER],
      );
      const one = await scim('GET', `Schemas/${SCIM_USER}`, { key: null });
      assert.equal(one.statusCode, 200);
      const attributes = one.json().attributes as Attribute[];
      const userName = attributes.find((a) => a.name === 'userName')!;
      assert.equal(userName.caseExact, false);
      assert.equal(userName.uniqueness, 'server');
      const id = attributes.find((a) => a.name === 'id')!;
      assert.deepEqual([id.mutability, id.returned], ['readOnly', 'always']);
      const extension = schemas.Resources[2].attributes as Attribute[];
      assert.equal(extension.find((a) => a.name === 'status')!.mutability, 'readOnly');
    });

    it('answers 401 as a SCIM error without a key or with a wrong one', async () => {
      for (const key of [null, 'rst_wrongwrongwrongwrongwrongwrong']) {
        const res = await scim('GET', 'Users', { key });
        assert.equal(res.statusCode, 401);
        assert.match(String(res.headers['content-type']), /^application\/scim\+json/);
        const body = res.json();
        assert.deepEqual(body.schemas, [SCIM_ERROR]);
        assert.equal(body.status, '401');
        assert.ok(body.detail.length > 0);
      }
    });

    it('lets a read key GET and POST /Users/.search, and refuses its writes with 403', async () => {
      const read = { key: t.demo.read };
      assert.equal((await scim('GET', 'Users?count=1', read)).statusCode, 200);
      assert.equal((await scim('GET', 'Groups?excludedAttributes=members', read)).statusCode, 200);
      const search = await scim('POST', 'Users/.search', { ...read, body: { filter: 'userName eq "rsmith"' } });
      assert.equal(search.statusCode, 200, search.body);
      assert.equal(search.json().totalResults, 1);
      const create = await scim('POST', 'Users', { ...read, body: { userName: 'nope' } });
      assert.equal(create.statusCode, 403);
      assert.equal(create.json().status, '403');
      const id = search.json().Resources[0].id as string;
      assert.equal((await scim('PATCH', `Users/${id}`, { ...read, body: { Operations: [] } })).statusCode, 403);
      assert.equal((await scim('DELETE', `Users/${id}`, read)).statusCode, 403);
      assert.equal((await scim('GET', `Users/${id}`, { key: t.demo.admin })).statusCode, 200);
    });

    it('accepts application/json bodies as well, refuses other media types with 415, malformed JSON with 400 invalidSyntax', async () => {
      const json = await scim('POST', 'Users/.search', {
        body: { filter: 'userName eq "rsmith"' },
        type: 'application/json',
      });
      assert.equal(json.statusCode, 200, json.body);
      const charset = await scim('POST', 'Users/.search', {
        body: { filter: 'userName eq "rsmith"' },
        type: 'application/scim+json; charset=utf-8',
      });
      assert.equal(charset.statusCode, 200, charset.body);
      const text = await scim('POST', 'Users', { body: 'userName', type: 'text/plain' });
      assert.equal(text.statusCode, 415);
      assert.deepEqual(text.json().schemas, [SCIM_ERROR]);
      const broken = await t.app.inject({
        method: 'POST',
        url: '/scim/v2/Users',
        headers: { authorization: `Bearer ${t.demo.write}`, 'content-type': 'application/scim+json' },
        payload: '{"userName":',
      });
      assert.equal(broken.statusCode, 400);
      assert.equal(broken.json().scimType, 'invalidSyntax');
    });

    it('answers NUL characters and over-long values with 400, never 500', async () => {
      const nulId = await scim('POST', 'Users', { body: { userName: 'nul.ext', externalId: 'a\u0000b' } });
      assert.equal(nulId.statusCode, 400, nulId.body);
      assert.equal(nulId.json().scimType, 'invalidValue');
      assert.match(nulId.json().detail, /externalId/);
      const nulName = await scim('POST', 'Users', { body: { userName: 'nul.name', name: { givenName: 'a\u0000' } } });
      assert.equal(nulName.statusCode, 400);
      const long = await scim('POST', 'Users', { body: { userName: 'long.ext', externalId: 'x'.repeat(257) } });
      assert.equal(long.statusCode, 400);
      const filter = await scim('GET', `Users?filter=${encodeURIComponent('externalId eq "a\u0000b"')}`);
      assert.equal(filter.statusCode, 400);
      assert.equal(filter.json().scimType, 'invalidFilter');
      const member = await scim('PATCH', 'Groups/reporting', {
        body: { Operations: [{ op: 'add', path: 'members', value: [{ value: 'x\u0000y' }] }] },
      });
      assert.equal(member.statusCode, 400);
      assert.equal(member.json().scimType, 'invalidValue');
    });

    it('answers an unknown SCIM path with a SCIM 404', async () => {
      const res = await scim('GET', 'Widgets');
      assert.equal(res.statusCode, 404);
      assert.deepEqual(res.json().schemas, [SCIM_ERROR]);
      assert.match(res.json().detail, /Widgets/);
    });

    it("answers the router's own errors (an over-long path segment, bad percent-encoding) as SCIM errors", async () => {
      for (const [segment, status] of [
        ['u'.repeat(3000), 414],
        ['%E0%A4%A', 400],
      ] as const) {
        const res = await scim('GET', `Users/${segment}`);
        assert.equal(res.statusCode, status, res.body);
        assert.match(String(res.headers['content-type']), /^application\/scim\+json/);
        assert.deepEqual(res.json().schemas, [SCIM_ERROR]);
        assert.equal(res.json().status, String(status));
      }
    });

    it("keeps tenancy: another organization's ids are 404 and its users are never listed or made members", async () => {
      const other = { key: t.other.admin };
      const created = await scim('POST', 'Users', {
        ...other,
        body: { userName: 'outsider', emails: [{ value: 'o@example.com', type: 'work' }] },
      });
      assert.equal(created.statusCode, 201, created.body);
      const outsider = created.json().id as string;
      assert.equal((await scim('GET', `Users/${outsider}`)).statusCode, 404);
      assert.equal((await scim('PUT', `Users/${outsider}`, { body: { userName: 'x' } })).statusCode, 404);
      assert.equal((await scim('DELETE', `Users/${outsider}`)).statusCode, 404);
      const listed = (await scim('GET', `Users?filter=${encodeURIComponent('userName eq "outsider"')}`)).json();
      assert.equal(listed.totalResults, 0);
      const member = await scim('PATCH', 'Groups/reporting', {
        body: { Operations: [{ op: 'add', path: 'members', value: [{ value: outsider }] }] },
      });
      assert.equal(member.statusCode, 400);
      assert.equal(member.json().scimType, 'invalidValue');
      assert.match(member.json().detail, new RegExp(outsider));
      const mine = (await scim('GET', 'Users?count=0', other)).json();
      assert.equal(mine.totalResults, 1);
    });

    it('describes the SCIM routes in /openapi.json', async () => {
      const doc = (await t.app.inject({ url: '/openapi.json' })).json();
      for (const path of [
        '/scim/v2/Users',
        '/scim/v2/Users/{id}',
        '/scim/v2/Users/.search',
        '/scim/v2/Groups/{id}',
        '/scim/v2/ServiceProviderConfig',
      ])
        assert.ok(doc.paths[path], `${path} is in the document`);
      assert.ok(doc.paths['/scim/v2/Users'].post.responses['409'].content['application/scim+json']);
      assert.deepEqual(doc.paths['/scim/v2/Users'].get.tags, ['scim']);
      assert.ok(doc.paths['/scim/v2/Users/{id}'].patch.security.some((s: Record<string, unknown>) => 'bearer' in s));
      assert.deepEqual(doc.paths['/scim/v2/ServiceProviderConfig'].get.security, [], 'discovery needs no key');
    });
  });

  describe(`SCIM rate limits (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(dialect, { RATE_LIMIT: '3' });
    });
    after(async () => t.close());

    it('counts SCIM requests against the key and answers 429 as a SCIM error when the budget is spent', async () => {
      const scim = scimCaller(t, t.demo.read);
      for (let i = 0; i < 3; i++) assert.equal((await scim('GET', 'Users?count=0')).statusCode, 200);
      const limited = await scim('GET', 'Users?count=0');
      assert.equal(limited.statusCode, 429);
      assert.deepEqual(limited.json().schemas, [SCIM_ERROR]);
      assert.equal(limited.json().status, '429');
      assert.ok(limited.headers['retry-after']);
    });
  });
}
