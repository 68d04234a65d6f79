import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKeyService } from '../../src/auth/key.service.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

const AUDIT = '/api/v1/audit';

for (const dialect of DIALECTS) {
  describe(`GET audit and the audit entries of key writes (${dialect})`, () => {
    let t: TestApp;
    let created: { key: string; prefix: string; id: number }[];
    before(async () => {
      t = await buildTestApp(dialect);
      // "other" holds one key.create already (its admin key); add three keys and revoke the second.
      created = [];
      for (const scope of ['read', 'write', 'admin'] as const)
        created.push(await createKeyService(t.conn.db).createApiKey(t.other.orgId, scope));
      await createKeyService(t.conn.db).revokeApiKey(created[1]!.prefix);
    });
    after(async () => t.close());

    const get = (url: string, key = t.other.admin) => t.app.inject({ url, headers: bearer(key) });

    it('pages the entries like GET users, oldest first, with who did what and never the key', async () => {
      const res = await get(AUDIT);
      assert.equal(res.statusCode, 200);
      const body = res.json();
      assert.deepEqual(Object.keys(body), ['paging', 'results']);
      assert.deepEqual(body.paging, { pageNumber: 1, pageSize: 10000, total: 5 });
      assert.deepEqual(
        body.results.map((e: { action: string }) => e.action),
        ['key.create', 'key.create', 'key.create', 'key.create', 'key.revoke'],
      );
      const entry = body.results[1];
      assert.deepEqual(Object.keys(entry), [
        'audit_id',
        'at',
        'actor',
        'actor_key_id',
        'request_id',
        'action',
        'target_type',
        'target_id',
        'changes',
      ]);
      assert.equal(entry.actor, 'cli');
      assert.equal(entry.actor_key_id, null);
      assert.equal(entry.target_type, 'api_key');
      assert.equal(entry.target_id, String(created[0]!.id));
      assert.deepEqual(entry.changes, {
        prefix: { before: null, after: created[0]!.prefix },
        scope: { before: null, after: 'read' },
      });
      assert.match(entry.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?$/);
      const revoke = body.results[4];
      assert.equal(revoke.target_id, String(created[1]!.id));
      assert.deepEqual(Object.keys(revoke.changes), ['revoked_at']);
      for (const { key } of created) assert.ok(!res.body.includes(key), 'an audit entry holds a key');
      assert.ok(!res.body.includes(t.other.admin));
    });

    it('filters by target_id, action, target_type, since (inclusive) and until (exclusive), ANDed; repeats are ORed', async () => {
      const all = (await get(AUDIT)).json().results as { audit_id: number; at: string; target_id: string }[];
      const ids = (url: string) =>
        get(url).then((r) => {
          assert.equal(r.statusCode, 200, r.body);
          return (r.json().results as { audit_id: number }[]).map((e) => e.audit_id);
        });
      assert.deepEqual(await ids(`${AUDIT}?target_id=${created[1]!.id}`), [all[2]!.audit_id, all[4]!.audit_id]);
      assert.deepEqual(await ids(`${AUDIT}?action=key.revoke`), [all[4]!.audit_id]);
      assert.deepEqual(await ids(`${AUDIT}?Action=key.revoke&action=key.create&target_id=${created[1]!.id}`), [
        all[2]!.audit_id,
        all[4]!.audit_id,
      ]);
      assert.deepEqual(await ids(`${AUDIT}?target_type=API_KEY&action=key.revoke`), [all[4]!.audit_id]);
      assert.deepEqual(await ids(`${AUDIT}?target_type=user`), []);
      assert.deepEqual(await ids(`${AUDIT}?since=${all[3]!.at}`), [all[3]!.audit_id, all[4]!.audit_id]);
      assert.deepEqual(await ids(`${AUDIT}?until=${all[1]!.at}`), [all[0]!.audit_id]);
      assert.deepEqual(await ids(`${AUDIT}?since=${all[1]!.at}Z&until=${all[2]!.at}`), [all[1]!.audit_id]);
      assert.deepEqual(await ids(`${AUDIT}?since=2999-01-01T00:00:00%2B05:00`), []);
      assert.deepEqual(await ids(`${AUDIT}?sortorder=desc&pagesize=2`), [all[4]!.audit_id, all[3]!.audit_id]);
      assert.deepEqual(
        await ids(`${AUDIT}?action=`),
        all.map((e) => e.audit_id),
      );
    });

    it('links pages and keeps the query', async () => {
      const res = await get(`${AUDIT}?pagesize=2&pagenumber=2&action=key.create`);
      assert.deepEqual(res.json().paging, { pageNumber: 2, pageSize: 2, total: 4 });
      const link = String(res.headers.link);
      assert.match(link, /<\/api\/v1\/audit\?action=key.create&pagenumber=1&pagesize=2>; rel="first"/);
      assert.match(link, /pagenumber=1&pagesize=2>; rel="prev"/);
      assert.match(link, /pagenumber=2&pagesize=2>; rel="last"/);
      assert.doesNotMatch(link, /rel="next"/);
    });

    it('answers 400 naming the parameter for a bad since/until, an unknown parameter, a bad number or a repeat', async () => {
      const cases: [string, string][] = [
        ['since=yesterday', 'since'],
        ['until=2026-13-01T00:00:00', 'until'],
        ['since=2026-01-01&since=2026-02-01T00:00:00', 'since'],
        ['targetid=1', 'targetid'],
        ['pagesize=0', 'pagesize'],
        ['pagenumber=x', 'pagenumber'],
        ['target_type=person', 'target_type'],
        ['sortorder=up', 'sortorder'],
      ];
      for (const [query, parameter] of cases) {
        const res = await get(`${AUDIT}?${query}`);
        assert.equal(res.statusCode, 400, query);
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
        assert.equal(res.json().errors[0].parameter, parameter, query);
      }
    });

    it('needs the admin scope', async () => {
      assert.equal((await get(AUDIT, t.demo.read)).statusCode, 403);
      assert.equal((await get(AUDIT, t.demo.write)).statusCode, 403);
      assert.equal((await t.app.inject({ url: AUDIT })).statusCode, 401);
      assert.equal((await get(AUDIT, t.demo.admin)).statusCode, 200);
    });

    it("never shows another organization's entries", async () => {
      const mine = (await get(AUDIT, t.demo.admin)).json().results as { audit_id: number }[];
      const theirs = (await get(AUDIT)).json().results as { audit_id: number; target_id: string }[];
      const theirEntries = new Set(theirs.map((e) => JSON.stringify(e)));
      assert.ok(mine.every((e) => !theirEntries.has(JSON.stringify(e))));
      for (const e of theirs) {
        // Numbers are per organization: the same number read with the demo's key is the demo's own entry, if any.
        const same = await get(`${AUDIT}/${e.audit_id}`, t.demo.admin);
        const own = mine.find((m) => m.audit_id === e.audit_id);
        assert.equal(same.statusCode, own ? 200 : 404);
        if (own) assert.deepEqual(same.json(), own);
        assert.notDeepEqual(same.json(), e);
        assert.equal(
          (await get(`${AUDIT}?target_id=${e.target_id}&action=key.revoke`, t.demo.admin)).json().paging.total,
          0,
        );
      }
      const one = await get(`${AUDIT}/${theirs[0]!.audit_id}`);
      assert.equal(one.statusCode, 200);
      assert.deepEqual(one.json(), theirs[0]);
      assert.equal((await get(`${AUDIT}/99999999999`)).statusCode, 404);
      assert.equal((await get(`${AUDIT}/abc`)).statusCode, 400);
    });

    it('records an API write with its acting key (id and prefix, never the key) and request id, in the writing organization only', async () => {
      const writer = await createKeyService(t.conn.db).createApiKey(t.other.orgId, 'write');
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: { ...bearer(writer.key), 'x-request-id': 'audit-e2e-1' },
        payload: {
          username: 'audited',
          name: 'Audited User',
          email: 'audited@example.com',
          call_detail_level: 'full',
          roles: ['reporting'],
        },
      });
      assert.equal(created.statusCode, 201, created.body);
      const userId = created.json().user_id;
      const res = await get(`${AUDIT}?target_id=${userId}`);
      const [entry, ...rest] = res.json().results;
      assert.equal(rest.length, 0);
      assert.equal(entry.action, 'user.create');
      assert.equal(entry.target_type, 'user');
      assert.equal(entry.actor, writer.prefix);
      assert.equal(entry.actor_key_id, writer.id);
      assert.equal(entry.request_id, created.headers['x-request-id'], "the server's own request id");
      assert.equal(created.headers['x-client-request-id'], 'audit-e2e-1');
      assert.equal(entry.changes.username.after, 'audited');
      assert.equal(entry.changes.username.before, null);
      assert.ok(!res.body.includes(writer.key));
      assert.equal((await get(`${AUDIT}?target_id=${userId}`, t.demo.admin)).json().paging.total, 0);
    });

    it('refuses to create, change or delete entries: 405 problem+json with Allow', async () => {
      const before = (await get(AUDIT)).json();
      const id = before.results[0].audit_id;
      for (const method of ['PUT', 'PATCH', 'DELETE', 'POST'] as const) {
        for (const url of [AUDIT, `${AUDIT}/${id}`]) {
          const res = await t.app.inject({
            method,
            url,
            headers: { ...bearer(t.other.admin), 'content-type': 'application/json' },
            payload: '{}',
          });
          assert.equal(res.statusCode, 405, `${method} ${url}`);
          assert.equal(res.headers.allow, 'GET, HEAD');
          assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
          assert.equal(res.json().code, 'METHOD_NOT_ALLOWED');
        }
      }
      assert.deepEqual((await get(AUDIT)).json(), before);
    });

    it('audit ids are numbered per organization: 1, 2, 3…, with no gap from another organization', async () => {
      const numbers = async (key: string) =>
        ((await get(`${AUDIT}?pagesize=10000`, key)).json().results as { audit_id: number }[]).map((e) => e.audit_id);
      const before = await numbers(t.other.admin);
      assert.deepEqual(
        before,
        before.map((_, i) => i + 1),
      );
      // The demo organization writes in between: its entries take its own numbers, none of "other"'s.
      const demoBefore = await numbers(t.demo.admin);
      for (let i = 0; i < 3; i++) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/v1/users',
          headers: bearer(t.demo.write),
          payload: {
            username: `numbered${i}`,
            name: 'N',
            email: 'n@example.com',
            call_detail_level: 'full',
            roles: ['reporting'],
          },
        });
        assert.equal(res.statusCode, 201);
      }
      assert.deepEqual(
        (await numbers(t.demo.admin)).slice(demoBefore.length),
        [1, 2, 3].map((n) => demoBefore.length + n),
      );
      await createKeyService(t.conn.db).createApiKey(t.other.orgId, 'read');
      assert.deepEqual(await numbers(t.other.admin), [...before, before.length + 1]);
      const last = await get(`${AUDIT}/${before.length + 1}`);
      assert.equal(last.json().action, 'key.create');
    });

    it('a read or write key on PUT audit/{id} is 403 before 405, and no key is 401', async () => {
      const id = (await get(AUDIT)).json().results[0].audit_id;
      const reader = await createKeyService(t.conn.db).createApiKey(t.other.orgId, 'read');
      const writer = await createKeyService(t.conn.db).createApiKey(t.other.orgId, 'write');
      for (const url of [AUDIT, `${AUDIT}/${id}`]) {
        for (const method of ['PUT', 'POST', 'DELETE'] as const) {
          for (const key of [reader.key, writer.key]) {
            const res = await t.app.inject({
              method,
              url,
              headers: { ...bearer(key), 'content-type': 'application/json' },
              payload: '{}',
            });
            assert.equal(res.statusCode, 403, `${method} ${url}`);
            assert.equal(res.json().code, 'FORBIDDEN');
            assert.equal(res.headers.allow, undefined, 'a key that cannot read the trail is not told what it allows');
          }
          assert.equal((await t.app.inject({ method, url, payload: '{}' })).statusCode, 401);
        }
      }
    });
  });
}
