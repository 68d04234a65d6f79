import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS, whileUsersLocked } from '../support/databases.js';
import { insertBulkUsers } from '../support/users.js';

// Every read has a time limit, and PostgreSQL reads are cancelled when their client goes away
// (docs/security.md, section 18).

const TIMEOUT_MS = 300;

/** Short needles: each one is a LIKE scan of every row (no trigram index serves under 3 characters). */
const COSTLY = `/api/v1/users?pagesize=1&${'abcdefghij'
  .split('')
  .map((c) => `name=${c}q`)
  .join('&')}`;

function assertTooCostly(res: { statusCode: number; headers: Record<string, unknown>; body: string }) {
  assert.equal(res.statusCode, 503, res.body);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  assert.equal(res.headers['retry-after'], '5');
  const problem = JSON.parse(res.body) as { code: string; detail: string };
  assert.equal(problem.code, 'QUERY_TOO_COSTLY');
  assert.match(problem.detail, /Narrow it/);
}

for (const dialect of DIALECTS) {
  describe(`a read past its time limit (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(dialect, { RATE_LIMIT: '0', ROSTER_QUERY_TIMEOUT_MS: String(TIMEOUT_MS) });
      await insertBulkUsers(t.conn, t.other.orgId, 1000);
    });
    after(() => t.close());

    const get = (url: string, key = t.demo.read) => t.app.inject({ url, headers: bearer(key) });

    if (dialect === 'postgres') {
      it('a read waiting past the limit is a 503 QUERY_TOO_COSTLY that says how to narrow it', async () => {
        // A writer holding the users table makes any read of it wait: the limit, not the data, decides.
        const took = await whileUsersLocked(t.database.target.url, async () => assertTooCostly(await get(COSTLY)));
        assert.ok(took >= TIMEOUT_MS - 50 && took < TIMEOUT_MS + 2000, `answered after ${took} ms`);
        // The limit holds only for the read's own transaction: writes and later reads go on.
        assert.equal((await get(COSTLY)).statusCode, 200);
      });

      it('a read whose client goes away is cancelled on the server', async () => {
        // A limit far beyond the test's length: only the cancel can end the read in time.
        const patient = await buildTestApp('postgres', { RATE_LIMIT: '0', ROSTER_QUERY_TIMEOUT_MS: '60000' });
        await patient.app.listen({ port: 0, host: '127.0.0.1' });
        const port = (patient.app.server.address() as AddressInfo).port;
        const admin = new pg.Client({ connectionString: patient.database.target.url });
        await admin.connect();
        const locker = new pg.Client({ connectionString: patient.database.target.url });
        await locker.connect();
        const running = async () =>
          Number(
            (
              await admin.query<{ n: string }>(
                `select count(*) as n from pg_stat_activity
                  where datname = current_database() and pid <> pg_backend_pid() and state = 'active' and query like '%name_fold%'`,
              )
            ).rows[0]!.n,
          );
        try {
          await locker.query('begin');
          await locker.query('lock table users in access exclusive mode');
          const req = request({ port, host: '127.0.0.1', path: COSTLY, headers: bearer(patient.demo.read) });
          req.on('error', () => {});
          req.end();
          for (let i = 0; i < 100 && (await running()) === 0; i++) await new Promise((r) => setTimeout(r, 20));
          assert.equal(await running(), 1, 'the read is running (waiting on the lock)');
          req.destroy();
          let left = 1;
          for (let i = 0; i < 100 && left > 0; i++) {
            await new Promise((r) => setTimeout(r, 20));
            left = await running();
          }
          assert.equal(left, 0, 'the read was cancelled within 2 s of its client going away');
        } finally {
          await locker.query('rollback');
          await Promise.all([locker.end(), admin.end()]);
          await patient.close();
        }
      });
    } else {
      it('a read past the limit is a 503 QUERY_TOO_COSTLY; the worker is replaced and reads go on', async () => {
        // The costly search takes far longer than 20 ms here; the cut comes at the limit, not at its end.
        const strict = await buildTestApp('sqlite', { RATE_LIMIT: '0', ROSTER_QUERY_TIMEOUT_MS: '20' });
        try {
          await insertBulkUsers(strict.conn, strict.demo.orgId, 150_000);
          const res = await strict.app.inject({ url: COSTLY, headers: bearer(strict.demo.read) });
          assertTooCostly(res);
          // The replaced worker serves again (a cheap read; retried, since 20 ms is tight on a loaded machine).
          let small = await strict.app.inject({ url: '/api/v1/users?pagesize=1', headers: bearer(strict.demo.read) });
          for (let i = 0; i < 10 && small.statusCode !== 200; i++)
            small = await strict.app.inject({ url: '/api/v1/users?pagesize=1', headers: bearer(strict.demo.read) });
          assert.equal(small.statusCode, 200);
          assert.equal(JSON.parse(small.body).paging.total, 165 + 150_000);
        } finally {
          await strict.close();
        }
      });
    }

    it('reads within the limit are served, and see the writes before them', async () => {
      const res = await get('/api/v1/users?pagesize=1', t.other.admin);
      assert.equal(res.statusCode, 200);
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: bearer(t.other.admin),
        payload: {
          username: 'fresh',
          name: 'Fresh',
          email: 'fresh@example.com',
          call_detail_level: 'full',
          roles: ['reporting'],
        },
      });
      assert.equal(created.statusCode, 201, created.body);
      const found = await get('/api/v1/users?username=fresh', t.other.admin);
      assert.equal(JSON.parse(found.body).paging.total, 1);
    });
  });
}
