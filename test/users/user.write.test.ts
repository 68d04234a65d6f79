import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { auditCount, auditOf, caller, newUser, writeVersionOf } from '../support/writes.js';

const WIRE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?$/;

for (const dialect of DIALECTS) {
  describe(`user writes: POST, PUT, PATCH (${dialect})`, () => {
    let t: TestApp;
    let call: ReturnType<typeof caller>;
    before(async () => {
      t = await buildTestApp(dialect);
      call = caller(t, t.demo.write);
    });
    after(async () => t.close());

    const pointers = (res: { json(): { errors?: { pointer?: string }[] } }) =>
      (res.json().errors ?? []).map((e) => e.pointer);

    describe('POST users', () => {
      it('creates an awaiting_approval user: 201, Location, ETag, defaults, and it is readable at once', async () => {
        const res = await call('POST', 'users', { body: newUser('alice') });
        assert.equal(res.statusCode, 201);
        const user = res.json();
        assert.match(user.user_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        assert.equal(res.headers.location, `/api/v1/users/${user.user_id}`);
        assert.ok(res.headers.etag);
        assert.deepEqual(Object.keys(user), [
          'user_id',
          'username',
          'name',
          'email',
          'phone',
          'call_detail_level',
          'restrict_recording_download',
          'status',
          'last_login_date',
          'last_updated_date',
          'roles',
          'access',
        ]);
        assert.equal(user.status, 'awaiting_approval');
        assert.equal(user.phone, '');
        assert.equal(user.restrict_recording_download, false);
        assert.equal(user.last_login_date, null);
        assert.match(user.last_updated_date, WIRE_TIME);
        assert.deepEqual(user.access, { billing_groups: [], group_owners: [] });

        const read = await call('GET', `users/${user.user_id}`, { key: t.demo.read });
        assert.equal(read.statusCode, 200);
        assert.equal(read.body, res.body);
        assert.equal(read.headers.etag, res.headers.etag);
        const notModified = await call('GET', 'users/ALICE', {
          key: t.demo.read,
          headers: { 'if-none-match': String(res.headers.etag) },
        });
        assert.equal(notModified.statusCode, 304);

        const search = await call('GET', 'users?username=alic', { key: t.demo.read });
        assert.equal(search.json().paging.total, 1);
        assert.equal(search.json().results[0].user_id, user.user_id);
      });

      it('keeps every field as given: phone, roles in order, access in order, timestamps in either form', async () => {
        const body = newUser('bob', {
          phone: '(705) 722.4398',
          restrict_recording_download: true,
          call_detail_level: 'no_caller',
          last_login_date: '2020-01-01T10:00:00.1234567+02:00',
          roles: ['rescue', 'administrator', 'reporting'],
          access: { billing_groups: ['5555', '1234'], group_owners: ['7003', '7001'] },
        });
        const res = await call('POST', 'users', { body });
        assert.equal(res.statusCode, 201, res.body);
        const user = res.json();
        assert.equal(user.phone, '(705) 722.4398');
        assert.equal(user.restrict_recording_download, true);
        assert.equal(user.call_detail_level, 'no_caller');
        assert.equal(user.last_login_date, '2020-01-01T08:00:00.1234567');
        assert.deepEqual(user.roles, ['rescue', 'administrator', 'reporting']);
        assert.deepEqual(user.access, { billing_groups: ['5555', '1234'], group_owners: ['7003', '7001'] });
        const seedForm = await call('POST', 'users', {
          body: newUser('bob2', { last_login_date: '2016-03-03T16:13:59.1917141' }),
        });
        assert.equal(seedForm.json().last_login_date, '2016-03-03T16:13:59.1917141');
        const owners = await call('GET', 'users?group_owner=7003&username=bob', { key: t.demo.read });
        assert.deepEqual(
          owners.json().results.map((u: { username: string }) => u.username),
          ['bob'],
        );
      });

      it('counts the new users in total at once', async () => {
        const before = (await call('GET', 'users?pagesize=1', { key: t.demo.read })).json().paging.total;
        assert.equal((await call('POST', 'users', { body: newUser('carol') })).statusCode, 201);
        const afterTotal = (await call('GET', 'users?pagesize=1', { key: t.demo.read })).json().paging.total;
        assert.equal(afterTotal, before + 1);
      });

      it('answers 409 for a username taken case-insensitively (also Unicode), changing nothing', async () => {
        const audits = await auditCount(t, t.demo.orgId);
        const version = await writeVersionOf(t, t.demo.orgId);
        for (const username of ['RSMITH', 'rSmith', 'Alice']) {
          const res = await call('POST', 'users', { body: newUser(username) });
          assert.equal(res.statusCode, 409, username);
          assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
          assert.deepEqual(pointers(res), ['/username']);
        }
        assert.equal((await call('POST', 'users', { body: newUser('Émile') })).statusCode, 201);
        assert.equal((await call('POST', 'users', { body: newUser('émile'.normalize('NFD')) })).statusCode, 409);
        assert.equal((await call('POST', 'users', { body: newUser('ÉMILE') })).statusCode, 409);
        assert.equal(await auditCount(t, t.demo.orgId), audits + 1);
        assert.equal(await writeVersionOf(t, t.demo.orgId), version + 1);
        const elsewhere = await caller(t, t.other.admin)('POST', 'users', { body: newUser('RSmith') });
        assert.equal(elsewhere.statusCode, 201, 'usernames are unique per organization only');
        assert.equal(
          (await call('GET', 'users/rsmith', { key: t.demo.read })).json().user_id,
          '627b4c86-1ff1-4ca7-8827-95c214666636',
        );
      });

      it('rejects every broken field with a 400 naming it', async () => {
        const cases: [Record<string, unknown>, string][] = [
          [{ username: undefined }, '/username'],
          [{ name: undefined }, '/name'],
          [{ email: undefined }, '/email'],
          [{ call_detail_level: undefined }, '/call_detail_level'],
          [{ roles: undefined }, '/roles'],
          [{ username: '' }, '/username'],
          [{ username: 'x'.repeat(129) }, '/username'],
          [{ username: 'a/b' }, '/username'],
          [{ username: ' lead' }, '/username'],
          [{ username: 'trail ' }, '/username'],
          [{ username: 'tab\there' }, '/username'],
          [{ username: 'nul\u0000' }, '/username'],
          [{ username: '..' }, '/username'],
          [{ username: 42 }, '/username'],
          [{ name: '' }, '/name'],
          [{ name: 'n'.repeat(257) }, '/name'],
          [{ name: '   ' }, '/name'],
          [{ email: 'not-an-address' }, '/email'],
          [{ email: '' }, '/email'],
          [{ email: 'a@b' }, '/email'],
          [{ phone: '123' }, '/phone'],
          [{ phone: '12345678901' }, '/phone'],
          [{ phone: '705-722-439x' }, '/phone'],
          [{ phone: null }, '/phone'],
          [{ call_detail_level: 'partial' }, '/call_detail_level'],
          [{ restrict_recording_download: 'yes' }, '/restrict_recording_download'],
          [{ roles: [] }, '/roles'],
          [{ roles: ['reporting', 'reporting'] }, '/roles'],
          [{ roles: ['boss'] }, '/roles/0'],
          [{ roles: 'reporting' }, '/roles'],
          [{ last_login_date: 'yesterday' }, '/last_login_date'],
          [{ last_login_date: '2021-02-30T00:00:00' }, '/last_login_date'],
          [{ access: { billing_groups: [1234] } }, '/access/billing_groups/0'],
          [{ access: { billing_groups: ['abc'] } }, '/access/billing_groups/0'],
          [{ access: { billing_groups: ['1234', '1234'] } }, '/access/billing_groups'],
          [{ access: { groups: [] } }, '/access/groups'],
          [{ access: [] }, '/access'],
          [{ status: 'activated' }, '/status'],
          [{ user_id: '627b4c86-1ff1-4ca7-8827-95c214666636' }, '/user_id'],
          [{ nickname: 'x' }, '/nickname'],
        ];
        let n = 0;
        for (const [override, pointer] of cases) {
          const body = newUser(`broken${n++}`, override);
          for (const [k, v] of Object.entries(override)) if (v === undefined) delete body[k];
          const res = await call('POST', 'users', { body });
          assert.equal(res.statusCode, 400, `${JSON.stringify(override)}: ${res.body}`);
          const problem = res.json();
          assert.equal(problem.status, 400);
          assert.ok(pointers(res).includes(pointer), `${JSON.stringify(override)} → ${JSON.stringify(problem.errors)}`);
          assert.ok(problem.detail.includes(pointer), problem.detail);
        }
        const none = await call('GET', 'users?username=broken', { key: t.demo.read });
        assert.equal(none.json().paging.total, 0);
      });

      it('accepts the edge values: 128-character username, 256-character name, separators in phones', async () => {
        for (const [i, phone] of ['7057224398', '705 722 4398', '705.722.4398', '(705)722-4398', ''].entries()) {
          const res = await call('POST', 'users', {
            body: newUser(`edge${i}${'x'.repeat(i === 0 ? 123 : 0)}`, {
              phone,
              name: 'N'.repeat(256),
              email: `edge${i}@example.com`,
            }),
          });
          assert.equal(res.statusCode, 201, res.body);
          assert.equal(res.json().phone, phone);
        }
      });

      it("answers 400 naming ids that do not exist in this organization, including another organization's", async () => {
        const admin = caller(t, t.other.admin);
        const otherBg = (await admin('POST', 'billinggroups', { body: { billing_group_name: 'Theirs' } })).json()
          .billing_group_id;
        const otherGroup = (
          await admin('POST', 'groups', { body: { group_name: 'Their group', billing_group_id: otherBg } })
        ).json().group_id;
        const res = await call('POST', 'users', {
          body: newUser('dave', {
            access: {
              billing_groups: ['1234', String(otherBg), '99999999999'],
              group_owners: [String(otherGroup), '7001', '424242'],
            },
          }),
        });
        assert.equal(res.statusCode, 400);
        const problem = res.json();
        assert.equal(problem.code, 'UNKNOWN_REFERENCE');
        assert.deepEqual(pointers(res), [
          '/access/billing_groups/1',
          '/access/billing_groups/2',
          '/access/group_owners/0',
          '/access/group_owners/2',
        ]);
        assert.match(problem.detail, new RegExp(`billing group ${otherBg}`));
        assert.match(problem.detail, /group 424242/);
        assert.equal((await call('GET', 'users/dave', { key: t.demo.read })).statusCode, 404);
      });

      it('refuses to newly give an inactive billing group or group (400)', async () => {
        const res = await call('POST', 'users', {
          body: newUser('erin', { access: { billing_groups: ['2002'], group_owners: ['7005'] } }),
        });
        assert.equal(res.statusCode, 400);
        assert.deepEqual(pointers(res), ['/access/billing_groups/0', '/access/group_owners/0']);
        assert.match(res.json().detail, /inactive/);
      });

      it('needs the write scope (admin also writes); no key is 401', async () => {
        assert.equal((await call('POST', 'users', { key: t.demo.read, body: newUser('frank') })).statusCode, 403);
        assert.equal((await call('POST', 'users', { key: t.demo.admin, body: newUser('frank') })).statusCode, 201);
        const anonymous = await t.app.inject({ method: 'POST', url: '/api/v1/users', payload: newUser('gina') });
        assert.equal(anonymous.statusCode, 401);
      });

      it('appends an audit entry with the key, the request id and the fields', async () => {
        const res = await call('POST', 'users', {
          body: newUser('hank'),
          headers: { 'x-request-id': 'req-create-hank' },
        });
        const [entry, ...rest] = await auditOf(t, res.json().user_id);
        assert.equal(rest.length, 0);
        assert.equal(entry?.action, 'user.create');
        assert.equal(entry?.target_type, 'user');
        // The server's own id (its X-Request-Id answer), never the client's (docs/security.md section 16).
        assert.equal(entry?.request_id, res.headers['x-request-id']);
        assert.notEqual(entry?.request_id, 'req-create-hank');
        assert.equal(entry?.actor, t.demo.write.slice(0, 12));
        assert.ok(entry?.actor_key_id);
        const changes = JSON.parse(entry?.changes ?? '{}');
        assert.deepEqual(changes.username, { before: null, after: 'hank' });
      });
    });

    it('the OpenAPI document describes every user write with its errors', async () => {
      const spec = (await t.app.inject({ url: '/openapi.json' })).json();
      const users = spec.paths['/api/v1/users'];
      const one = spec.paths['/api/v1/users/{user}'];
      for (const code of ['201', '400', '401', '403', '409', '413', '415'])
        assert.ok(users.post.responses[code], `POST ${code}`);
      assert.ok(users.post.requestBody.content['application/json'].schema.$ref.endsWith('UserCreate'));
      for (const code of ['400', '404', '409', '412', '415']) {
        assert.ok(one.put.responses[code], `PUT ${code}`);
        assert.ok(one.patch.responses[code], `PATCH ${code}`);
      }
      assert.deepEqual(Object.keys(one.patch.requestBody.content).sort(), [
        'application/json',
        'application/merge-patch+json',
      ]);
      assert.ok(
        one.put.parameters.some((p: { in: string; name: string }) => p.in === 'header' && p.name === 'if-match'),
      );
      assert.ok(spec.paths['/api/v1/users/{user}/activate'].put.responses['412']);
      const deactivate = spec.paths['/api/v1/users/{user}/deactivate'];
      assert.ok(deactivate.put.requestBody.content['application/json'].schema.$ref.endsWith('UserDeactivation'));
      assert.ok(deactivate.delete.responses['200']);
      for (const name of ['UserCreate', 'UserReplace', 'UserPatch', 'UserDeactivation', 'BillingGroup', 'Group'])
        assert.ok(spec.components.schemas[name], name);
    });

    describe('bad bodies', () => {
      it('wrong content types are 415', async () => {
        for (const type of [
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/merge-patch+json',
          'application/xml',
        ]) {
          const res = await call('POST', 'users', {
            raw: JSON.stringify(newUser('ivy')),
            headers: { 'content-type': type },
          });
          assert.equal(res.statusCode, 415, type);
          assert.equal(res.json().code, 'UNSUPPORTED_MEDIA_TYPE');
        }
        const unreadable: Record<string, string>[] = [
          { 'content-type': 'application/json', 'content-encoding': 'gzip' },
          { 'content-type': 'application/json; charset=utf-16' },
          { 'content-type': 'application/json; charset=latin1' },
        ];
        for (const headers of unreadable) {
          const res = await call('POST', 'users', { raw: JSON.stringify(newUser('ivy')), headers });
          assert.equal(res.statusCode, 415, JSON.stringify(headers));
          assert.match(res.json().detail, /uncompressed|UTF-8/);
        }
        const charset = await call('POST', 'users', {
          raw: JSON.stringify(newUser('ivy')),
          headers: { 'content-type': 'application/json; charset=UTF-8' },
        });
        assert.equal(charset.statusCode, 201);
      });

      it('malformed, empty, non-object and poisoned JSON are 400', async () => {
        for (const raw of ['{"username": "x",', '', '[]', '"text"', 'null', '{"__proto__": {"x": 1}}']) {
          const res = await call('POST', 'users', { raw, headers: { 'content-type': 'application/json' } });
          assert.equal(res.statusCode, 400, `${raw}: ${res.body}`);
          assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
          assert.ok(res.json().detail.length > 10);
        }
      });

      it('a malformed body is told by what is wrong and the text where it is, an empty one as empty', async () => {
        const detail = async (
          raw: string,
          type = 'application/json',
          method: 'POST' | 'PATCH' = 'POST',
          path = 'users',
        ) => {
          const res = await call(method, path, { raw, headers: { 'content-type': type } });
          assert.equal(res.statusCode, 400, `${raw}: ${res.body}`);
          assert.equal(res.json().code, 'MALFORMED_JSON');
          return String(res.json().detail);
        };
        assert.match(await detail('{"username": "x", oops}'), /at position 18\b.*, near "oops}"/);
        assert.match(await detail('{"username": "x",'), /at position 17\b.*\(the end of the body\)|end of JSON input/);
        assert.match(await detail('{"a": 1}}'), /at position 8\b.*, near "}"/);
        assert.equal(await detail(''), 'The body is empty: send one JSON object.');
        assert.equal(await detail('   '), 'The body is empty: send one JSON object.');
        assert.match(await detail('{"__proto__": {"x": 1}}'), /"__proto__"/);
        // A long body shows a shortened stretch of itself, not all of it.
        const long = await detail(`{"name": ${'x'.repeat(5000)}}`);
        assert.ok(long.length < 300, long);
        // PATCH's merge-patch type is parsed the same way.
        assert.match(
          await detail('{"phone": 1 2}', 'application/merge-patch+json', 'PATCH', 'users/rsmith'),
          /near "2}"/,
        );
      });

      it('an oversized body is 413', async () => {
        const big = newUser('jack', { name: 'x'.repeat(t.config.bodyLimit + 10) });
        const res = await call('POST', 'users', { body: big });
        assert.equal(res.statusCode, 413);
        assert.equal(res.json().code, 'BODY_TOO_LARGE');
      });
    });

    describe('PUT users/{user}', () => {
      it('replaces the whole user: absent optional fields are reset, ETag and last_updated_date change', async () => {
        const created = await call('POST', 'users', {
          body: newUser('kate', {
            phone: '705-722-4398',
            restrict_recording_download: true,
            access: { billing_groups: ['1234'] },
          }),
        });
        const before = created.json();
        const res = await call('PUT', 'users/kate', {
          body: newUser('kate', { name: 'Kate Replaced', roles: ['ordering', 'rescue'] }),
        });
        assert.equal(res.statusCode, 200, res.body);
        const user = res.json();
        assert.equal(user.user_id, before.user_id);
        assert.equal(user.name, 'Kate Replaced');
        assert.equal(user.phone, '');
        assert.equal(user.restrict_recording_download, false);
        assert.deepEqual(user.roles, ['ordering', 'rescue']);
        assert.deepEqual(user.access, { billing_groups: [], group_owners: [] });
        assert.equal(user.status, 'awaiting_approval');
        assert.notEqual(res.headers.etag, created.headers.etag);
        assert.ok(user.last_updated_date > before.last_updated_date);
        assert.equal(
          (await call('GET', 'users?billing_group=1234&username=kate', { key: t.demo.read })).json().paging.total,
          0,
        );
        assert.equal((await auditOf(t, user.user_id)).at(-1)?.action, 'user.replace');
      });

      it('renames when the new username is free, 409 when taken; a case-only rename of oneself is fine', async () => {
        const id = (await call('POST', 'users', { body: newUser('liam') })).json().user_id;
        const renamed = await call('PUT', `users/${id}`, { body: newUser('liam2') });
        assert.equal(renamed.statusCode, 200);
        assert.equal(renamed.json().username, 'liam2');
        assert.equal((await call('GET', 'users/liam', { key: t.demo.read })).statusCode, 404);
        assert.equal((await call('GET', 'users/LIAM2', { key: t.demo.read })).json().user_id, id);
        assert.equal((await call('GET', 'users?username=liam2', { key: t.demo.read })).json().paging.total, 1);
        const taken = await call('PUT', `users/${id}`, { body: newUser('EWOODS') });
        assert.equal(taken.statusCode, 409);
        assert.equal((await call('GET', `users/${id}`, { key: t.demo.read })).json().username, 'liam2');
        const caseOnly = await call('PUT', 'users/liam2', { body: newUser('Liam2') });
        assert.equal(caseOnly.statusCode, 200);
        assert.equal(caseOnly.json().username, 'Liam2');
      });

      it('takes back a GET body unchanged (read-only fields echoed), keeps a never-set email empty', async () => {
        const got = await call('GET', 'users/ewoods', { key: t.demo.read });
        const res = await call('PUT', 'users/ewoods', { body: got.json() });
        assert.equal(res.statusCode, 200, res.body);
        const { last_updated_date: a, ...same } = res.json();
        const { last_updated_date: b, ...was } = got.json();
        assert.deepEqual(same, was);
        assert.ok(a > b);
        const deactivated = (await call('GET', 'users/rsmith', { key: t.demo.read })).json();
        assert.equal((await call('PUT', 'users/rsmith', { body: deactivated })).statusCode, 200);
        assert.ok((await call('GET', 'users/rsmith', { key: t.demo.read })).json().deactivation_date);
      });

      it('refuses changed read-only fields and an email emptied (400), changing nothing', async () => {
        const user = (await call('POST', 'users', { body: newUser('mia') })).json();
        const cases: [Record<string, unknown>, string][] = [
          [{ status: 'activated' }, '/status'],
          [{ user_id: '627b4c86-1ff1-4ca7-8827-95c214666636' }, '/user_id'],
          [{ email: '' }, '/email'],
          [{ access: { billing_groups: ['777777'] } }, '/access/billing_groups/0'],
          [{ last_login_date: '2020-13-01T00:00:00' }, '/last_login_date'],
          [{ extra: true }, '/extra'],
        ];
        for (const [override, pointer] of cases) {
          const res = await call('PUT', 'users/mia', { body: { ...user, ...override } });
          assert.equal(res.statusCode, 400, JSON.stringify(override));
          assert.ok(pointers(res).includes(pointer), res.body);
        }
        assert.deepEqual((await call('GET', 'users/mia', { key: t.demo.read })).json(), user);
      });

      it('keeps an inactive billing group the user already has, but does not add one', async () => {
        const admin = caller(t, t.demo.admin);
        const leaf = (
          await admin('POST', 'billinggroups/2000', { body: { billing_group_name: 'Soon inactive' } })
        ).json().billing_group_id;
        await call('POST', 'users', { body: newUser('noah', { access: { billing_groups: [String(leaf)] } }) });
        assert.equal((await admin('PUT', `billinggroups/${leaf}`, { body: { status: 'inactive' } })).statusCode, 200);
        const kept = await call('PUT', 'users/noah', {
          body: newUser('noah', { name: 'Noah Kept', access: { billing_groups: [String(leaf)] } }),
        });
        assert.equal(kept.statusCode, 200, kept.body);
        assert.deepEqual(kept.json().access.billing_groups, [String(leaf)]);
        const added = await call('PUT', 'users/noah', {
          body: newUser('noah', { access: { billing_groups: [String(leaf), '2002'] } }),
        });
        assert.equal(added.statusCode, 400);
        assert.deepEqual(pointers(added), ['/access/billing_groups/1']);
      });

      it('404 for a user of another organization or none; 403 without the write scope', async () => {
        const other = caller(t, t.other.admin);
        assert.equal((await other('PUT', 'users/ewoods', { body: newUser('ewoods') })).statusCode, 404);
        assert.equal(
          (await other('PUT', 'users/fe3949c2-b3f5-46f8-9377-05568c748dbc', { body: newUser('ewoods') })).statusCode,
          404,
        );
        assert.equal((await call('PUT', 'users/nobody-here', { body: newUser('nobody-here') })).statusCode, 404);
        assert.equal(
          (await call('PUT', 'users/ewoods', { key: t.demo.read, body: newUser('ewoods') })).statusCode,
          403,
        );
      });
    });

    describe('If-Match', () => {
      it('a stale ETag is 412 and changes nothing; the current one, a list holding it, or * succeed', async () => {
        const created = await call('POST', 'users', { body: newUser('olga') });
        const first = String(created.headers.etag);
        const second = await call('PUT', 'users/olga', {
          body: newUser('olga', { name: 'Olga Two' }),
          headers: { 'if-match': first },
        });
        assert.equal(second.statusCode, 200);
        const etag = String(second.headers.etag);
        assert.notEqual(etag, first);

        const audits = await auditCount(t, t.demo.orgId);
        const version = await writeVersionOf(t, t.demo.orgId);
        for (const method of ['PUT', 'PATCH'] as const) {
          const stale = await call(method, 'users/olga', {
            body: newUser('olga', { name: 'Lost update' }),
            headers: { 'if-match': first },
          });
          assert.equal(stale.statusCode, 412, method);
          assert.equal(stale.json().code, 'PRECONDITION_FAILED');
          assert.equal(stale.headers.etag, etag);
        }
        assert.equal((await call('PUT', 'users/olga/activate', { headers: { 'if-match': first } })).statusCode, 412);
        assert.equal(
          (await call('DELETE', 'users/olga/deactivate', { headers: { 'if-match': first } })).statusCode,
          412,
        );
        const weak = await call('PUT', 'users/olga', {
          body: newUser('olga', { name: 'Weak' }),
          headers: { 'if-match': `W/${etag}` },
        });
        assert.equal(weak.statusCode, 412, 'a weak tag never matches strongly');
        const now = await call('GET', 'users/olga', { key: t.demo.read });
        assert.equal(now.json().name, 'Olga Two');
        assert.equal(now.headers.etag, etag);
        assert.equal(await auditCount(t, t.demo.orgId), audits);
        assert.equal(await writeVersionOf(t, t.demo.orgId), version);

        const listed = await call('PUT', 'users/olga', {
          body: newUser('olga', { name: 'Olga Three' }),
          headers: { 'if-match': `"zzz", ${etag}` },
        });
        assert.equal(listed.statusCode, 200);
        const star = await call('PATCH', 'users/olga', { body: { name: 'Olga Four' }, headers: { 'if-match': '*' } });
        assert.equal(star.statusCode, 200);
        assert.equal(star.json().name, 'Olga Four');
      });

      it('an If-Match that is not an entity tag is 400 naming the header', async () => {
        for (const value of ['abc', 'W/abc', '"unterminated', '"a" "b"', '*, "a"']) {
          const res = await call('PUT', 'users/olga', { body: newUser('olga'), headers: { 'if-match': value } });
          assert.equal(res.statusCode, 400, value);
          assert.deepEqual(res.json().errors, [{ header: 'if-match', message: res.json().errors[0].message }]);
        }
      });

      it('If-Match on a user that does not exist is 404', async () => {
        assert.equal(
          (await call('PUT', 'users/ghost', { body: newUser('ghost'), headers: { 'if-match': '*' } })).statusCode,
          404,
        );
      });
    });

    describe('PATCH users/{user} (JSON Merge Patch)', () => {
      it('changes only the members sent; null resets optional fields; arrays and nested members replace', async () => {
        const created = (
          await call('POST', 'users', {
            body: newUser('paul', {
              phone: '705-722-4398',
              restrict_recording_download: true,
              last_login_date: '2020-01-01T00:00:00',
              roles: ['reporting', 'ordering'],
              access: { billing_groups: ['1234'], group_owners: ['7001'] },
            }),
          })
        ).json();
        const res = await call('PATCH', 'users/paul', {
          raw: JSON.stringify({
            name: 'Paul Patched',
            phone: null,
            restrict_recording_download: null,
            last_login_date: null,
            roles: ['rescue'],
            access: { group_owners: ['7002', '7003'] },
          }),
          headers: { 'content-type': 'application/merge-patch+json' },
        });
        assert.equal(res.statusCode, 200, res.body);
        const user = res.json();
        assert.equal(user.name, 'Paul Patched');
        assert.equal(user.username, 'paul');
        assert.equal(user.email, created.email);
        assert.equal(user.phone, '');
        assert.equal(user.restrict_recording_download, false);
        assert.equal(user.last_login_date, null);
        assert.deepEqual(user.roles, ['rescue']);
        assert.deepEqual(user.access, { billing_groups: ['1234'], group_owners: ['7002', '7003'] });
        assert.equal((await auditOf(t, user.user_id)).at(-1)?.action, 'user.patch');
        const changes = JSON.parse((await auditOf(t, user.user_id)).at(-1)?.changes ?? '{}');
        assert.deepEqual(Object.keys(changes).sort(), [
          'access',
          'last_login_date',
          'last_updated_date',
          'name',
          'phone',
          'restrict_recording_download',
          'roles',
        ]);
        const cleared = await call('PATCH', 'users/paul', { body: { access: null } });
        assert.deepEqual(cleared.json().access, { billing_groups: [], group_owners: [] });
      });

      it('accepts application/json and merge-patch+json with a charset; refuses other types (415)', async () => {
        const json = await call('PATCH', 'users/paul', { body: { name: 'By JSON' } });
        assert.equal(json.statusCode, 200);
        const charset = await call('PATCH', 'users/paul', {
          raw: '{"name":"By charset"}',
          headers: { 'content-type': 'application/merge-patch+json; charset=utf-8' },
        });
        assert.equal(charset.statusCode, 200, charset.body);
        assert.equal(charset.json().name, 'By charset');
        assert.equal(
          (await call('PATCH', 'users/paul', { raw: '{"name":"x"}', headers: { 'content-type': 'text/plain' } }))
            .statusCode,
          415,
        );
        assert.equal(
          (
            await call('PATCH', 'users/paul', {
              raw: '{"name":',
              headers: { 'content-type': 'application/merge-patch+json' },
            })
          ).statusCode,
          400,
        );
      });

      it('refuses removing a required field, a non-object patch, a taken username and status changes', async () => {
        const cases: [unknown, number, string][] = [
          [{ username: null }, 400, '/username'],
          [{ email: null }, 400, '/email'],
          [{ roles: null }, 400, '/roles'],
          [{ roles: [] }, 400, '/roles'],
          [{ access: { billing_groups: ['9'] } }, 400, '/access/billing_groups/0'],
          [{ status: 'activated' }, 400, '/status'],
          [{ deactivation_date: '2020-01-01T00:00:00', bogus: 1 }, 400, '/bogus'],
          [['name'], 400, ''],
          [{ username: 'EWOODS' }, 409, '/username'],
        ];
        const before = (await call('GET', 'users/paul', { key: t.demo.read })).json();
        for (const [patch, status, pointer] of cases) {
          const res = await call('PATCH', 'users/paul', { body: patch });
          assert.equal(res.statusCode, status, `${JSON.stringify(patch)}: ${res.body}`);
          assert.ok(pointers(res).includes(pointer), `${JSON.stringify(patch)} → ${res.body}`);
        }
        assert.deepEqual((await call('GET', 'users/paul', { key: t.demo.read })).json(), before);
      });

      it('an empty patch is a write (new ETag and last_updated_date), a rename through PATCH is searchable at once', async () => {
        const before = await call('GET', 'users/paul', { key: t.demo.read });
        const res = await call('PATCH', 'users/paul', { body: {} });
        assert.equal(res.statusCode, 200);
        assert.notEqual(res.headers.etag, before.headers.etag);
        assert.ok(res.json().last_updated_date > before.json().last_updated_date);
        await call('PATCH', 'users/paul', { body: { username: 'paula' } });
        assert.equal((await call('GET', 'users?username=paula', { key: t.demo.read })).json().paging.total, 1);
        assert.equal(
          (await call('GET', 'users?username=paul&username=zzzz', { key: t.demo.read })).json().results[0].username,
          'paula',
        );
      });
    });
  });
}
