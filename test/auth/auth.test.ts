import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { sql } from 'kysely';
import { createAuthHook } from '../../src/auth/auth.hook.js';
import type { AppError } from '../../src/errors.js';
import { createKeyService } from '../../src/auth/key.service.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { insertTestUsers } from '../support/users.js';

const RSMITH_ID = '627b4c86-1ff1-4ca7-8827-95c214666636';
const KEY_FORM = /^rst_[A-Za-z0-9_-]{32}$/;

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

for (const dialect of DIALECTS) {
  describe(`API keys: 401, 403 and organizations (${dialect})`, () => {
    let t: TestApp;
    let otherUserId: string;
    const users = (headers: Record<string, string>, query = '?pagesize=1') =>
      t.app.inject({ url: `/api/v1/users${query}`, headers });

    const assert401 = (res: { statusCode: number; headers: Record<string, unknown>; body: string }, what: string) => {
      assert.equal(res.statusCode, 401, `${what}: ${res.body}`);
      assert.match(String(res.headers['www-authenticate']), /^Bearer( |$)/, what);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
      if (res.body === '') return; // HEAD
      const problem = JSON.parse(res.body);
      assert.equal(problem.status, 401);
      assert.ok(problem.detail, what);
    };

    before(async () => {
      t = await buildTestApp(dialect);
    });
    after(async () => t.close());

    describe('401 with WWW-Authenticate: Bearer', () => {
      it('without a key, on every API route', async () => {
        assert401(await users({}), 'no key');
        assert401(await t.app.inject({ url: '/api/v1/users/rsmith' }), 'no key, one user');
        assert401(await t.app.inject({ method: 'HEAD', url: '/api/v1/users/rsmith' }), 'HEAD');
        assert401(await t.app.inject({ method: 'POST', url: '/api/v1/users', payload: {} }), 'no key, POST');
      });

      it('for an unknown key, a malformed header, or an empty one', async () => {
        const attempts: Array<Record<string, string>> = [
          { authorization: 'Bearer rst_unknownunknownunknownunknownunkn' },
          { authorization: `Bearer ${t.demo.read}x` },
          { authorization: `Bearer ${t.demo.read.slice(0, -1)}` },
          { authorization: 'Bearer' },
          { authorization: 'Bearer ' },
          { authorization: `Basic ${Buffer.from(`x:${t.demo.read}`).toString('base64')}` },
          { authorization: t.demo.read },
          { authorization: `Token ${t.demo.read}` },
          { 'x-organization-token': 'nope' },
          { 'x-organization-token': '' },
          { 'x-api-key': t.demo.read },
        ];
        for (const headers of attempts) {
          assert401(await users(headers), JSON.stringify(headers));
        }
      });

      it('for a revoked key, at once', async () => {
        const { key, prefix } = await createKeyService(t.conn.db).createApiKey(t.demo.orgId, 'read');
        assert.equal((await users(bearer(key))).statusCode, 200);
        await createKeyService(t.conn.db).revokeApiKey(prefix);
        assert401(await users(bearer(key)), 'revoked, Bearer');
        assert401(await users({ 'x-organization-token': key }), 'revoked, x-organization-token');
      });

      it('keys asked for at once (one lookup) are each answered for their own organization', async () => {
        const { key: revoked, prefix } = await createKeyService(t.conn.db).createApiKey(t.demo.orgId, 'read');
        await createKeyService(t.conn.db).revokeApiKey(prefix);
        const unknown = 'rst_unknownunknownunknownunknownunkn';
        const keys = [t.demo.read, t.other.admin, revoked, unknown, t.demo.read, t.other.admin, t.demo.write];
        const answers = await Promise.all(
          keys.map((key) => t.app.inject({ url: '/api/v1/users/rsmith', headers: bearer(key) })),
        );
        assert.deepEqual(
          answers.map((a) => a.statusCode),
          [200, 404, 401, 401, 200, 404, 200],
        );
      });

      it('a lookup while a transaction holds the database sees only committed rows', async () => {
        const { key, prefix } = await createKeyService(t.conn.db).createApiKey(t.demo.orgId, 'read');
        let asked: ReturnType<typeof users> | undefined;
        await assert.rejects(
          t.conn.db.transaction().execute(async (trx) => {
            await trx
              .updateTable('api_keys')
              .set({ revoked_at: '2001-01-01T00:00:00.0000000' })
              .where('prefix', '=', prefix)
              .execute();
            asked = users(bearer(key));
            await new Promise((resolve) => setTimeout(resolve, 50));
            throw new Error('rolled back');
          }),
          /rolled back/,
        );
        assert.equal((await asked!).statusCode, 200);
      });
    });

    describe('accepted headers', () => {
      it('takes the key as Authorization: Bearer (any case of the scheme) or as x-organization-token', async () => {
        for (const headers of [
          bearer(t.demo.read),
          { authorization: `bearer ${t.demo.read}` },
          { authorization: `BEARER  ${t.demo.read}` },
          { 'x-organization-token': t.demo.read },
        ]) {
          const res = await users(headers);
          assert.equal(res.statusCode, 200, JSON.stringify(headers));
          assert.equal(res.json().paging.total, 165);
        }
      });

      it('ignores a subscription-key header, valid or not', async () => {
        assert401(await users({ 'subscription-key': t.demo.read }), 'subscription-key alone');
        assert.equal((await users({ ...bearer(t.demo.read), 'subscription-key': 'gateway-junk' })).statusCode, 200);
        assert.equal(
          (await users({ 'x-organization-token': t.demo.read, 'subscription-key': t.other.admin })).json().paging.total,
          165,
        );
      });
    });

    describe('scopes', () => {
      let routes: Array<{ method: Method; path: string }>;
      const fill = (path: string) => path.replace('{user}', 'rsmith').replace(/\{[a-z_]+\}/g, '1000');
      const call = (method: Method, path: string, key: string) =>
        t.app.inject({
          method,
          url: fill(path),
          headers: { ...bearer(key), 'content-type': 'application/json' },
          payload: method === 'GET' || method === 'HEAD' || method === 'DELETE' ? undefined : '{}',
        });

      before(async () => {
        const doc = (await t.app.inject({ url: '/openapi.json' })).json<{
          paths: Record<string, Record<string, unknown>>;
        }>();
        routes = Object.entries(doc.paths)
          .filter(([path]) => path.startsWith('/api/v1/'))
          .flatMap(([path, ops]) => Object.keys(ops).map((m) => ({ method: m.toUpperCase() as Method, path })));
      });

      it('a read key reads: every GET of users answers 200', async () => {
        for (const path of ['/api/v1/users', '/api/v1/users/{user}']) {
          assert.equal((await call('GET', path, t.demo.read)).statusCode, 200, path);
        }
      });

      it('a read key gets 403 on every non-GET route that exists, before its body is looked at', async () => {
        const writes = routes.filter((r) => r.method !== 'GET' && r.method !== 'HEAD');
        // When this test was written the write side (issue 3) had landed: POST/PUT/PATCH users, lifecycle calls, billing groups, groups.
        assert.ok(
          writes.some((r) => r.method === 'POST' && r.path === '/api/v1/users'),
          'POST users exists',
        );
        for (const { method, path } of writes) {
          const res = await call(method, path, t.demo.read);
          assert.equal(res.statusCode, 403, `${method} ${path}: ${res.body}`);
          const problem = res.json();
          assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
          assert.match(problem.detail, /"read"/, "names the key's scope");
        }
      });

      it('a write key gets 403 on billing group and group writes (admin scope)', async () => {
        const adminOnly = routes.filter(
          (r) => r.method !== 'GET' && r.method !== 'HEAD' && /\/(billinggroups|groups)(\/|$)/.test(r.path),
        );
        assert.ok(adminOnly.length > 0);
        for (const { method, path } of adminOnly) {
          const res = await call(method, path, t.demo.write);
          assert.equal(res.statusCode, 403, `${method} ${path}: ${res.body}`);
        }
      });

      it('the auth hook itself: a route naming no scope needs write for anything but GET and HEAD', async () => {
        const app = Fastify();
        app.setErrorHandler(async (error: AppError, _request, reply) =>
          reply.code(error.status ?? 500).send({ code: error.code }),
        );
        const authenticate = createAuthHook(createKeyService(t.conn.db, { readNow: t.conn.readNow }));
        app.addHook('onRequest', async (request, reply) => authenticate(request, reply));
        for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const)
          app.route({ method, url: '/x', handler: async () => ({ ok: true }) });
        app.post('/admin', { config: { scope: 'admin' } }, async () => ({ ok: true }));
        try {
          const status = async (method: Method, url: string, key: string) =>
            (await app.inject({ method, url, headers: bearer(key) })).statusCode;
          assert.equal(await status('GET', '/x', t.demo.read), 200);
          assert.equal(await status('HEAD', '/x', t.demo.read), 200);
          for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
            assert.equal(await status(method, '/x', t.demo.read), 403, method);
            assert.equal(await status(method, '/x', t.demo.write), 200, method);
          }
          assert.equal(await status('POST', '/admin', t.demo.write), 403);
          assert.equal(await status('POST', '/admin', t.demo.admin), 200);
        } finally {
          await app.close();
        }
      });

      it('a 403 never reveals whether the target exists', async () => {
        const real = await call('PUT', '/api/v1/users/{user}', t.demo.read);
        const ghost = await t.app.inject({
          method: 'PUT',
          url: '/api/v1/users/nobody-at-all',
          headers: bearer(t.demo.read),
          payload: {},
        });
        assert.equal(real.statusCode, 403);
        assert.equal(ghost.statusCode, 403);
        assert.equal(JSON.parse(real.body).detail, JSON.parse(ghost.body).detail);
      });
    });

    describe('one organization never sees another', () => {
      it("the other organization's key sees total 0 and 404 for the demo's users, by id and by username", async () => {
        const list = await users(bearer(t.other.admin), '');
        assert.deepEqual(list.json(), { paging: { pageNumber: 1, pageSize: 10000, total: 0 }, results: [] });
        assert.ok(!list.body.includes(RSMITH_ID));
        for (const query of [
          '?username=rsmith',
          '?status=deactivated',
          '?billing_group=1234',
          '?group_owner=7001',
          '?name=Rob',
        ]) {
          const res = await users(bearer(t.other.admin), query);
          assert.equal(res.statusCode, 200, query);
          assert.deepEqual(res.json(), { paging: { pageNumber: 1, pageSize: 10000, total: 0 }, results: [] }, query);
        }
        for (const ref of ['rsmith', RSMITH_ID, 'mhopper', 'ewoods', 'test1', '00f12ba7-b26a-4503-9ab4-0ec04914f71f']) {
          const res = await t.app.inject({ url: `/api/v1/users/${ref}`, headers: bearer(t.other.admin) });
          assert.equal(res.statusCode, 404, ref);
          assert.ok(!res.body.includes('Rob Smith'));
        }
      });

      it("the demo's key gets 404 for the other organization's user, exactly as for one that never existed", async () => {
        otherUserId = (await insertTestUsers(t.conn, t.other.orgId, [{ username: 'otheruser' }]))[0]!.user_id;
        assert.equal((await users(bearer(t.other.admin), '')).json().paging.total, 1);
        assert.equal(
          (await t.app.inject({ url: `/api/v1/users/${otherUserId}`, headers: bearer(t.other.admin) })).statusCode,
          200,
        );
        const theirs = await t.app.inject({ url: `/api/v1/users/${otherUserId}`, headers: bearer(t.demo.read) });
        const never = await t.app.inject({
          url: '/api/v1/users/00000000-0000-4000-8000-000000000000',
          headers: bearer(t.demo.read),
        });
        assert.equal(theirs.statusCode, 404);
        assert.equal(never.statusCode, 404);
        assert.equal(JSON.parse(theirs.body).title, JSON.parse(never.body).title);
        assert.equal(
          (await t.app.inject({ url: '/api/v1/users/otheruser', headers: bearer(t.demo.read) })).statusCode,
          404,
        );
        assert.equal((await users(bearer(t.demo.read), '?username=otheruser')).json().paging.total, 0);
      });
    });

    describe('keys at rest', () => {
      it('are random, of one form, and shown only at creation', async () => {
        const keys = await Promise.all(
          [1, 2, 3].map(async () => (await createKeyService(t.conn.db).createApiKey(t.demo.orgId, 'read')).key),
        );
        for (const key of [...keys, t.demo.read, t.demo.write, t.demo.admin, t.other.admin])
          assert.match(key, KEY_FORM);
        assert.equal(new Set(keys).size, 3);
      });

      it('are stored only as hashes: no row of any table holds a key', async () => {
        const keys = [t.demo.read, t.demo.write, t.demo.admin, t.other.admin];
        const tables = (await t.conn.db.introspection.getTables()).map((table) => table.name);
        assert.ok(tables.includes('api_keys'));
        let rows = 0;
        for (const table of tables) {
          const result = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(t.conn.db);
          rows += result.rows.length;
          const text = JSON.stringify(result.rows);
          for (const key of keys) {
            assert.ok(!text.includes(key), `${table} holds a key`);
            assert.ok(!text.includes(key.slice(12)), `${table} holds the secret part of a key`);
          }
        }
        assert.ok(rows > 165);
      });

      if (dialect === 'sqlite')
        it('SQLite: not even the database files hold a key', () => {
          const target = t.config.database;
          assert.equal(target.dialect, 'sqlite');
          const dir = dirname(target.dialect === 'sqlite' ? target.file : '');
          for (const file of readdirSync(dir)) {
            const bytes = readFileSync(`${dir}/${file}`).toString('latin1');
            for (const key of [t.demo.read, t.demo.write, t.demo.admin, t.other.admin])
              assert.ok(!bytes.includes(key.slice(4)), `${file} holds a key`);
          }
        });
    });
  });
}
