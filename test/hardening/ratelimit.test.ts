import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { connect, type Connection } from '../../src/db/connect.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

const USERS = '/api/v1/users?pagesize=1';
const REDIS_URL = process.env.ROSTER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A second Roster app (as another process would run it) on the same database as `t`. */
async function secondApp(t: TestApp, env: Record<string, string>): Promise<{ app: FastifyInstance; conn: Connection }> {
  const config = loadConfig({ DATABASE_URL: t.database.target.url, LOG_LEVEL: 'silent', ...env });
  const conn = connect(config.database);
  const app = await buildApp(config, conn);
  await app.ready();
  return { app, conn };
}

let addressCounter = Math.floor(Math.random() * 200);
/** A client address no other test uses (the Redis budget outlives a test's database). */
const freshAddress = () => `10.${process.pid % 250}.${Math.floor(Math.random() * 250)}.${(addressCounter++ % 250) + 1}`;

function assertTooMany(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, policy: string) {
  assert.equal(res.statusCode, 429);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const retryAfter = Number(res.headers['retry-after']);
  assert.ok(
    Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60,
    `Retry-After ${String(res.headers['retry-after'])}`,
  );
  assert.match(String(res.headers.ratelimit), new RegExp(`^"${policy}";r=0;t=\\d+$`));
  const body = res.json() as { status: number; code: string; type: string; detail: string };
  assert.equal(body.status, 429);
  assert.equal(body.code, 'RATE_LIMITED');
  assert.equal(body.type, 'urn:roster:problem:rate-limited');
  assert.match(body.detail, /retry after \d+ second/);
}

const STORES = [
  { name: 'database', env: {} as Record<string, string> },
  { name: 'redis', env: { REDIS_URL } },
];

for (const dialect of DIALECTS) {
  for (const store of STORES) {
    describe(`rate limits, counters in ${store.name} (${dialect})`, () => {
      const env = { RATE_LIMIT: '5', ...store.env };
      let t: TestApp;
      let b: { app: FastifyInstance; conn: Connection };
      before(async () => {
        t = await buildTestApp(dialect, env);
        b = await secondApp(t, env);
      });
      after(async () => {
        await b.app.close();
        await b.conn.close();
        await t.close();
      });

      it('states the policy and what is left of it on every API response (IETF RateLimit headers)', async () => {
        const res = await t.app.inject({ url: USERS, headers: bearer(t.demo.admin) });
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['ratelimit-policy'], '"per-key";q=5;w=60');
        assert.match(String(res.headers.ratelimit), /^"per-key";r=4;t=(60|59)$/);
      });

      it('shares one budget per key between two app instances, and a second key is unaffected', async () => {
        const key = t.demo.read;
        const statuses: number[] = [];
        for (const app of [t.app, b.app, t.app, b.app, t.app])
          statuses.push((await app.inject({ url: USERS, headers: bearer(key) })).statusCode);
        assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
        assertTooMany(await b.app.inject({ url: USERS, headers: bearer(key) }), 'per-key');
        assertTooMany(await t.app.inject({ url: USERS, headers: bearer(key) }), 'per-key');
        // The noisy key's budget is its own: another key of the same organization, and another organization, go on.
        const other = await b.app.inject({ url: USERS, headers: bearer(t.demo.write) });
        assert.equal(other.statusCode, 200);
        assert.match(String(other.headers.ratelimit), /^"per-key";r=4;/);
        assert.equal((await t.app.inject({ url: USERS, headers: bearer(t.other.admin) })).statusCode, 200);
      });

      it('counts requests without a valid key per client address, apart from the keys', async () => {
        const address = freshAddress();
        for (let i = 0; i < 5; i++) {
          const res = await (i % 2 ? b.app : t.app).inject({
            url: USERS,
            remoteAddress: address,
            headers: bearer('rst_not_a_real_key'),
          });
          assert.equal(res.statusCode, 401);
          assert.match(String(res.headers.ratelimit), /^"per-address";r=\d;/);
        }
        assertTooMany(await t.app.inject({ url: USERS, remoteAddress: address }), 'per-address');
        assert.equal((await t.app.inject({ url: USERS, remoteAddress: freshAddress() })).statusCode, 401);
        // A valid key from the same address has its own budget.
        const keyed = await b.app.inject({ url: USERS, remoteAddress: address, headers: bearer(t.other.admin) });
        assert.equal(keyed.statusCode, 200);
      });

      it('counts a request refused for its scope against its key', async () => {
        const res = await t.app.inject({ url: '/api/v1/audit', headers: bearer(t.demo.write) });
        assert.equal(res.statusCode, 403);
        assert.match(String(res.headers.ratelimit), /^"per-key";r=\d;/);
      });
    });
  }

  describe(`rate limits off and failing open (${dialect})`, () => {
    let off: TestApp;
    before(async () => {
      off = await buildTestApp(dialect, { RATE_LIMIT: '0' });
    });
    after(async () => off.close());

    it('RATE_LIMIT=0 turns limiting off: no headers, no 429', async () => {
      for (let i = 0; i < 30; i++) {
        const res = await off.app.inject({ url: USERS, headers: bearer(off.demo.read) });
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers.ratelimit, undefined);
        assert.equal(res.headers['ratelimit-policy'], undefined);
      }
    });

    it('serves requests (unlimited) when Redis cannot be reached, without waiting for it', async () => {
      const down = await secondApp(off, { RATE_LIMIT: '1', REDIS_URL: 'redis://127.0.0.1:1' });
      try {
        for (let i = 0; i < 3; i++)
          assert.equal((await down.app.inject({ url: USERS, headers: bearer(off.demo.read) })).statusCode, 200);
      } finally {
        await down.app.close();
        await down.conn.close();
      }
    });
  });
}

describe(
  'rate limits on SQLite do not wait behind a long directory write',
  { skip: !DIALECTS.includes('sqlite') && 'ROSTER_TEST_DIALECTS has no sqlite' },
  () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp('sqlite', { RATE_LIMIT: '100' });
    });
    after(async () => t.close());

    it('serves reads while another connection holds the write lock (counters live in their own file)', async () => {
      const SQLite = (await import('better-sqlite3')).default;
      const target = t.database.target;
      assert.equal(target.dialect, 'sqlite');
      // Used once first: the key's last-used time is written at most once a minute, and that write would wait.
      assert.equal((await t.app.inject({ url: USERS, headers: bearer(t.demo.read) })).statusCode, 200);
      const writer = new SQLite(target.dialect === 'sqlite' ? target.file : '');
      writer.pragma('busy_timeout = 0');
      writer.exec('begin immediate');
      try {
        const res = await t.app.inject({ url: USERS, headers: bearer(t.demo.read) });
        assert.equal(res.statusCode, 200, res.body);
        assert.match(String(res.headers.ratelimit), /^"per-key";r=98;/);
      } finally {
        writer.exec('rollback');
        writer.close();
      }
    });
  },
);
