import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { auditCount, auditOf, caller, writeVersionOf } from '../support/writes.js';

for (const dialect of DIALECTS) {
  describe(`billing groups (${dialect})`, () => {
    let t: TestApp;
    let admin: ReturnType<typeof caller>;
    before(async () => {
      t = await buildTestApp(dialect);
      admin = caller(t, t.demo.admin);
    });
    after(async () => t.close());

    it("GET billinggroups lists the organization's billing groups in id order, with an ETag and 304", async () => {
      const res = await admin('GET', 'billinggroups', { key: t.demo.read });
      assert.equal(res.statusCode, 200);
      const list = res.json();
      assert.deepEqual(
        list.map((b: { billing_group_id: number }) => b.billing_group_id),
        [1000, 1234, 2000, 2001, 2002, 3000, 5555],
      );
      assert.deepEqual(list[0], {
        billing_group_id: 1000,
        billing_group_name: 'Marchex Demo',
        status: 'active',
        parent_id: null,
      });
      assert.deepEqual(list[1], {
        billing_group_id: 1234,
        billing_group_name: 'Sales',
        status: 'active',
        parent_id: 1000,
      });
      const etag = String(res.headers.etag);
      assert.equal(
        (await admin('GET', 'billinggroups', { key: t.demo.read, headers: { 'if-none-match': etag } })).statusCode,
        304,
      );
      await admin('POST', 'billinggroups', { body: { billing_group_name: 'Changes the list' } });
      const fresh = await admin('GET', 'billinggroups', { key: t.demo.read, headers: { 'if-none-match': etag } });
      assert.equal(fresh.statusCode, 200);
      assert.equal(fresh.json().length, 8);
      assert.equal((await admin('GET', 'billinggroups?status=active', { key: t.demo.read })).statusCode, 400);
      assert.deepEqual((await caller(t, t.other.admin)('GET', 'billinggroups')).json(), []);
    });

    it("GET billinggroups/{id}: the object with an ETag, 304, 404 for another organization's or no id, 400 for a non-number", async () => {
      const res = await admin('GET', 'billinggroups/2001', { key: t.demo.read });
      assert.equal(res.statusCode, 200);
      assert.equal(
        res.body,
        JSON.stringify({
          billing_group_id: 2001,
          billing_group_name: 'Marketing East',
          status: 'active',
          parent_id: 2000,
        }),
      );
      assert.equal(
        (await admin('GET', 'billinggroups/2001', { headers: { 'if-none-match': String(res.headers.etag) } }))
          .statusCode,
        304,
      );
      const theirs = (
        await caller(t, t.other.admin)('POST', 'billinggroups', { body: { billing_group_name: 'Theirs' } })
      ).json();
      assert.ok(theirs.billing_group_id > 5555, 'ids are unique across organizations');
      assert.equal((await admin('GET', `billinggroups/${theirs.billing_group_id}`)).statusCode, 404);
      assert.equal((await admin('GET', 'billinggroups/424242')).statusCode, 404);
      assert.equal((await admin('GET', 'billinggroups/99999999999')).statusCode, 404);
      const bad = await admin('GET', 'billinggroups/sales');
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().errors[0].parameter, 'id');
    });

    it('POST billinggroups creates a root; POST billinggroups/{parent_id} a child, up to three levels; a fourth is 400', async () => {
      const root = await admin('POST', 'billinggroups', {
        body: { billing_group_name: 'West Region' },
        headers: { 'x-request-id': 'req-bg-root' },
      });
      assert.equal(root.statusCode, 201);
      const r = root.json();
      assert.deepEqual(Object.keys(r), ['billing_group_id', 'billing_group_name', 'status', 'parent_id']);
      assert.equal(r.status, 'active');
      assert.equal(r.parent_id, null);
      assert.equal(root.headers.location, `/api/v1/billinggroups/${r.billing_group_id}`);
      assert.ok(root.headers.etag);
      const [entry] = await auditOf(t, String(r.billing_group_id));
      assert.equal(entry?.action, 'billing_group.create');
      assert.equal(entry?.request_id, root.headers['x-request-id']);

      const child = await admin('POST', `billinggroups/${r.billing_group_id}`, {
        body: { billing_group_name: 'Seattle', status: 'inactive' },
      });
      assert.equal(child.statusCode, 201);
      assert.equal(child.json().parent_id, r.billing_group_id);
      assert.equal(child.json().status, 'inactive');
      assert.equal(child.headers.location, `/api/v1/billinggroups/${child.json().billing_group_id}`);
      const mid = (
        await admin('POST', `billinggroups/${r.billing_group_id}`, { body: { billing_group_name: 'Portland' } })
      ).json();
      const leaf = await admin('POST', `billinggroups/${mid.billing_group_id}`, {
        body: { billing_group_name: 'Downtown' },
      });
      assert.equal(leaf.statusCode, 201);
      const audits = await auditCount(t, t.demo.orgId);
      const fourth = await admin('POST', `billinggroups/${leaf.json().billing_group_id}`, {
        body: { billing_group_name: 'Too deep' },
      });
      assert.equal(fourth.statusCode, 400);
      assert.match(fourth.json().detail, /at most 3 levels/);
      assert.equal(
        (await admin('POST', 'billinggroups/2001', { body: { billing_group_name: 'Too deep' } })).statusCode,
        400,
      );
      assert.equal(await auditCount(t, t.demo.orgId), audits);
      assert.equal((await admin('GET', `billinggroups/${mid.billing_group_id}`)).json().billing_group_name, 'Portland');
    });

    it("a child under a billing group that holds groups is 409, and under an inactive one; another organization's parent is 404", async () => {
      const holds = await admin('POST', 'billinggroups/1234', { body: { billing_group_name: 'Under Sales' } });
      assert.equal(holds.statusCode, 409);
      assert.match(holds.json().detail, /holds groups/);
      const inactive = (
        await admin('POST', 'billinggroups', { body: { billing_group_name: 'Dormant', status: 'inactive' } })
      ).json();
      const under = await admin('POST', `billinggroups/${inactive.billing_group_id}`, {
        body: { billing_group_name: 'Under dormant' },
      });
      assert.equal(under.statusCode, 409);
      assert.match(under.json().detail, /inactive/);
      const theirs = (
        await caller(t, t.other.admin)('POST', 'billinggroups', { body: { billing_group_name: 'Their root' } })
      ).json();
      assert.equal(
        (await admin('POST', `billinggroups/${theirs.billing_group_id}`, { body: { billing_group_name: 'Sneaky' } }))
          .statusCode,
        404,
      );
    });

    it('bad bodies: unknown fields, wrong types, blank names, bad status, malformed JSON, 415, 413', async () => {
      const cases: [unknown, string][] = [
        [{}, '/billing_group_name'],
        [{ billing_group_name: '' }, '/billing_group_name'],
        [{ billing_group_name: '  ' }, '/billing_group_name'],
        [{ billing_group_name: 42 }, '/billing_group_name'],
        [{ billing_group_name: 'x', status: 'closed' }, '/status'],
        [{ billing_group_name: 'x', parent_id: 1000 }, '/parent_id'],
        [{ billing_group_name: 'x', billing_group_id: 1 }, '/billing_group_id'],
      ];
      for (const [body, pointer] of cases) {
        const res = await admin('POST', 'billinggroups', { body });
        assert.equal(res.statusCode, 400, JSON.stringify(body));
        assert.ok(
          res.json().errors.some((e: { pointer: string }) => e.pointer === pointer),
          res.body,
        );
      }
      assert.equal(
        (
          await admin('POST', 'billinggroups', {
            raw: '{"billing_group_name":',
            headers: { 'content-type': 'application/json' },
          })
        ).statusCode,
        400,
      );
      assert.equal(
        (
          await admin('POST', 'billinggroups', {
            raw: 'name=x',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          })
        ).statusCode,
        415,
      );
      assert.equal(
        (await admin('POST', 'billinggroups', { raw: 'x', headers: { 'content-type': 'text/plain' } })).statusCode,
        415,
      );
      assert.equal(
        (await admin('POST', 'billinggroups', { body: { billing_group_name: 'x'.repeat(t.config.bodyLimit) } }))
          .statusCode,
        413,
      );
    });

    it('PUT renames and sets the status; the ETag changes; If-Match stale is 412 and changes nothing', async () => {
      const created = await admin('POST', 'billinggroups', { body: { billing_group_name: 'Old name' } });
      const id = created.json().billing_group_id;
      const version = await writeVersionOf(t, t.demo.orgId);
      const renamed = await admin('PUT', `billinggroups/${id}`, {
        body: { billing_group_name: 'New name' },
        headers: { 'if-match': String(created.headers.etag) },
      });
      assert.equal(renamed.statusCode, 200);
      assert.deepEqual(renamed.json(), {
        billing_group_id: id,
        billing_group_name: 'New name',
        status: 'active',
        parent_id: null,
      });
      assert.notEqual(renamed.headers.etag, created.headers.etag);
      assert.equal(await writeVersionOf(t, t.demo.orgId), version + 1);
      const stale = await admin('PUT', `billinggroups/${id}`, {
        body: { status: 'inactive' },
        headers: { 'if-match': String(created.headers.etag) },
      });
      assert.equal(stale.statusCode, 412);
      assert.equal((await admin('GET', `billinggroups/${id}`)).json().status, 'active');
      const echoed = await admin('PUT', `billinggroups/${id}`, {
        body: { ...renamed.json<Record<string, unknown>>(), status: 'inactive' },
        headers: { 'if-match': String(renamed.headers.etag) },
      });
      assert.equal(echoed.statusCode, 200);
      assert.equal(echoed.json().status, 'inactive');
      const entry = (await auditOf(t, String(id))).at(-1);
      assert.equal(entry?.action, 'billing_group.update');
      assert.deepEqual(JSON.parse(entry?.changes ?? '{}'), { status: { before: 'active', after: 'inactive' } });
      for (const [body, pointer] of [
        [{}, ''],
        [{ parent_id: 1000 }, '/parent_id'],
        [{ billing_group_id: 1 }, '/billing_group_id'],
        [{ status: 'gone' }, '/status'],
        [{ color: 'red' }, '/color'],
      ] as const) {
        const res = await admin('PUT', `billinggroups/${id}`, { body });
        assert.equal(res.statusCode, 400, JSON.stringify(body));
        assert.ok(
          res.json().errors.some((e: { pointer: string }) => e.pointer === pointer),
          res.body,
        );
      }
      assert.equal(
        (await admin('PUT', `billinggroups/${id}`, { body: { status: 'active' }, headers: { 'if-match': 'stale' } }))
          .statusCode,
        400,
      );
      assert.equal((await admin('PUT', 'billinggroups/424242', { body: { status: 'active' } })).statusCode, 404);
    });

    it("inactivating a billing group leaves users' access and its groups as they are", async () => {
      const before = (await admin('GET', 'users?billing_group=5555', { key: t.demo.read })).json().paging.total;
      assert.equal((await admin('PUT', 'billinggroups/5555', { body: { status: 'inactive' } })).statusCode, 200);
      assert.equal((await admin('GET', 'users?billing_group=5555', { key: t.demo.read })).json().paging.total, before);
      assert.equal((await admin('GET', 'groups/7003')).json().billing_group_id, 5555);
      assert.equal((await admin('PUT', 'billinggroups/5555', { body: { status: 'active' } })).statusCode, 200);
    });

    it('writes need the admin scope; reads the read scope', async () => {
      assert.equal(
        (await admin('POST', 'billinggroups', { key: t.demo.write, body: { billing_group_name: 'x' } })).statusCode,
        403,
      );
      assert.equal(
        (await admin('POST', 'billinggroups/1000', { key: t.demo.read, body: { billing_group_name: 'x' } })).statusCode,
        403,
      );
      assert.equal(
        (await admin('PUT', 'billinggroups/1000', { key: t.demo.write, body: { status: 'inactive' } })).statusCode,
        403,
      );
      assert.equal((await admin('GET', 'billinggroups/1000', { key: t.demo.read })).statusCode, 200);
      assert.equal((await t.app.inject({ url: '/api/v1/billinggroups' })).statusCode, 401);
    });

    it('the OpenAPI document describes the operations with their errors', async () => {
      const spec = (await t.app.inject({ url: '/openapi.json' })).json();
      const path = spec.paths['/api/v1/billinggroups/{id}'];
      assert.ok(path.get && path.post && path.put);
      assert.ok(path.post.responses['400'] && path.post.responses['404'] && path.post.responses['409']);
      assert.ok(path.put.responses['412']);
      assert.ok(spec.paths['/api/v1/billinggroups'].get.responses['304']);
    });
  });
}
