import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { auditOf, caller, newUser } from '../support/writes.js';

for (const dialect of DIALECTS) {
  describe(`groups (${dialect})`, () => {
    let t: TestApp;
    let admin: ReturnType<typeof caller>;
    before(async () => {
      t = await buildTestApp(dialect);
      admin = caller(t, t.demo.admin);
    });
    after(async () => t.close());

    it('GET groups lists them in id order, filters by billing group, has an ETag and 304', async () => {
      const res = await admin('GET', 'groups', { key: t.demo.read });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(
        res.json().map((g: { group_id: number }) => g.group_id),
        [7001, 7002, 7003, 7004, 7005, 7006],
      );
      assert.deepEqual(res.json()[0], {
        group_id: 7001,
        group_name: 'Acme Plumbing',
        billing_group_id: 1234,
        status: 'active',
      });
      assert.equal(
        (await admin('GET', 'groups', { headers: { 'if-none-match': String(res.headers.etag) } })).statusCode,
        304,
      );
      assert.deepEqual(
        (await admin('GET', 'groups?billing_group_id=1234')).json().map((g: { group_id: number }) => g.group_id),
        [7001, 7002],
      );
      assert.deepEqual((await admin('GET', 'groups?billing_group_id=424242')).json(), []);
      assert.equal((await admin('GET', 'groups?billing_group_id=')).json().length, 6);
      assert.deepEqual(
        (await admin('GET', 'groups?Billing_Group_ID=5555')).json().map((g: { group_id: number }) => g.group_id),
        [7003],
      );
      assert.equal((await admin('GET', 'groups?billing_group_id=abc')).statusCode, 400);
      assert.equal((await admin('GET', 'groups?owner=1')).statusCode, 400);
      assert.deepEqual((await caller(t, t.other.admin)('GET', 'groups')).json(), []);
    });

    it("GET groups/{id}: the object, ETag, 304; another organization's or no id is 404", async () => {
      const res = await admin('GET', 'groups/7003', { key: t.demo.read });
      assert.equal(
        res.body,
        JSON.stringify({ group_id: 7003, group_name: 'Côte d’Azur Travel', billing_group_id: 5555, status: 'active' }),
      );
      assert.equal(
        (await admin('GET', 'groups/7003', { headers: { 'if-none-match': String(res.headers.etag) } })).statusCode,
        304,
      );
      assert.equal((await caller(t, t.other.admin)('GET', 'groups/7003')).statusCode, 404);
      assert.equal((await admin('GET', 'groups/1')).statusCode, 404);
      assert.equal((await admin('GET', 'groups/99999999999')).statusCode, 404);
    });

    it('POST groups creates a group on an active leaf billing group; it can be owned at once', async () => {
      const res = await admin('POST', 'groups', {
        body: { group_name: 'Harbor Dental', billing_group_id: 5555 },
        headers: { 'x-request-id': 'req-group' },
      });
      assert.equal(res.statusCode, 201);
      const group = res.json();
      assert.deepEqual(Object.keys(group), ['group_id', 'group_name', 'billing_group_id', 'status']);
      assert.equal(group.status, 'active');
      assert.equal(res.headers.location, `/api/v1/groups/${group.group_id}`);
      assert.equal((await auditOf(t, String(group.group_id)))[0]?.action, 'group.create');
      const owner = await admin('POST', 'users', {
        body: newUser('harbor', { access: { group_owners: [String(group.group_id)] } }),
      });
      assert.equal(owner.statusCode, 201, owner.body);
      assert.equal((await admin('GET', `users?group_owner=${group.group_id}`)).json().paging.total, 1);
      // The billing group now holds groups: it stays a leaf.
      assert.equal(
        (await admin('POST', 'billinggroups/5555', { body: { billing_group_name: 'Below' } })).statusCode,
        409,
      );
    });

    it("refuses a billing group that is not a leaf, inactive, unknown or another organization's (400 naming billing_group_id)", async () => {
      const theirs = (
        await caller(t, t.other.admin)('POST', 'billinggroups', { body: { billing_group_name: 'Their leaf' } })
      ).json();
      const cases: [number, string][] = [
        [1000, 'VALIDATION_FAILED'],
        [2000, 'VALIDATION_FAILED'],
        [2002, 'VALIDATION_FAILED'],
        [424242, 'UNKNOWN_REFERENCE'],
        [theirs.billing_group_id, 'UNKNOWN_REFERENCE'],
      ];
      for (const [billingGroupId, code] of cases) {
        const res = await admin('POST', 'groups', {
          body: { group_name: 'Nowhere', billing_group_id: billingGroupId },
        });
        assert.equal(res.statusCode, 400, String(billingGroupId));
        assert.equal(res.json().code, code);
        assert.deepEqual(
          res.json().errors.map((e: { pointer: string }) => e.pointer),
          ['/billing_group_id'],
        );
      }
      assert.equal((await admin('GET', 'groups?billing_group_id=1000')).json().length, 0);
    });

    it('bad bodies: types, unknown fields, blank names, out-of-range ids, 415', async () => {
      const cases: [unknown, string][] = [
        [{ group_name: 'x' }, '/billing_group_id'],
        [{ billing_group_id: 1234 }, '/group_name'],
        [{ group_name: 'x', billing_group_id: '1234' }, '/billing_group_id'],
        [{ group_name: 'x', billing_group_id: 99999999999 }, '/billing_group_id'],
        [{ group_name: 'x', billing_group_id: 1.5 }, '/billing_group_id'],
        [{ group_name: '', billing_group_id: 1234 }, '/group_name'],
        [{ group_name: 'x', billing_group_id: 1234, status: 'paused' }, '/status'],
        [{ group_name: 'x', billing_group_id: 1234, owner: 'me' }, '/owner'],
      ];
      for (const [body, pointer] of cases) {
        const res = await admin('POST', 'groups', { body });
        assert.equal(res.statusCode, 400, JSON.stringify(body));
        assert.ok(
          res.json().errors.some((e: { pointer: string }) => e.pointer === pointer),
          res.body,
        );
      }
      assert.equal(
        (await admin('POST', 'groups', { raw: 'x', headers: { 'content-type': 'text/plain' } })).statusCode,
        415,
      );
    });

    it('PUT renames, moves to another leaf, sets the status; If-Match stale is 412; the id is read-only', async () => {
      const created = await admin('POST', 'groups', { body: { group_name: 'Movable', billing_group_id: 1234 } });
      const id = created.json().group_id;
      const moved = await admin('PUT', `groups/${id}`, {
        body: { group_name: 'Moved', billing_group_id: 2001, status: 'inactive' },
        headers: { 'if-match': String(created.headers.etag) },
      });
      assert.equal(moved.statusCode, 200);
      assert.deepEqual(moved.json(), { group_id: id, group_name: 'Moved', billing_group_id: 2001, status: 'inactive' });
      assert.notEqual(moved.headers.etag, created.headers.etag);
      const entry = (await auditOf(t, String(id))).at(-1);
      assert.equal(entry?.action, 'group.update');
      assert.deepEqual(Object.keys(JSON.parse(entry?.changes ?? '{}')).sort(), [
        'billing_group_id',
        'group_name',
        'status',
      ]);
      const stale = await admin('PUT', `groups/${id}`, {
        body: { group_name: 'Lost' },
        headers: { 'if-match': String(created.headers.etag) },
      });
      assert.equal(stale.statusCode, 412);
      assert.equal((await admin('GET', `groups/${id}`)).json().group_name, 'Moved');
      assert.equal((await admin('PUT', `groups/${id}`, { body: { billing_group_id: 2000 } })).statusCode, 400);
      assert.equal((await admin('PUT', `groups/${id}`, { body: { group_id: 1 } })).statusCode, 400);
      assert.equal(
        (
          await admin('PUT', `groups/${id}`, {
            body: { ...moved.json<Record<string, unknown>>(), group_name: 'Echoed' },
          })
        ).statusCode,
        200,
      );
      assert.equal((await admin('PUT', `groups/${id}`, { body: {} })).statusCode, 400);
      assert.equal(
        (await caller(t, t.other.admin)('PUT', `groups/${id}`, { body: { group_name: 'Hijack' } })).statusCode,
        404,
      );
      // Inactive now: it cannot be newly given to a user.
      const owner = await admin('POST', 'users', {
        body: newUser('mover', { access: { group_owners: [String(id)] } }),
      });
      assert.equal(owner.statusCode, 400);
    });

    it('writes need the admin scope', async () => {
      assert.equal(
        (await admin('POST', 'groups', { key: t.demo.write, body: { group_name: 'x', billing_group_id: 1234 } }))
          .statusCode,
        403,
      );
      assert.equal(
        (await admin('PUT', 'groups/7001', { key: t.demo.write, body: { group_name: 'x' } })).statusCode,
        403,
      );
      assert.equal((await admin('GET', 'groups/7001', { key: t.demo.read })).statusCode, 200);
    });
  });
}
