import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { connect, type Connection } from '../../src/db/connect.js';
import { createKeyService } from '../../src/auth/key.service.js';
import { parseKeyExpiry } from '../../src/auth/key.rules.js';
import { OrgError } from '../../src/orgs/org.service.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { rosterArgs } from '../support/cli.js';

const run = promisify(execFile);
const USERS = '/api/v1/users?pagesize=1';

/** Runs the real `roster` CLI (from source) against a database. */
async function roster(databaseUrl: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, rosterArgs(...args), {
    env: { ...process.env, DATABASE_URL: databaseUrl, ROSTER_DEMO: '0' },
  });
}

describe('--expires', () => {
  const now = new Date('2026-11-29T12:00:00Z');
  it('takes a duration from now or a timestamp, in the future', () => {
    assert.equal(parseKeyExpiry('30d', now), '2026-12-29T12:00:00.0000000');
    assert.equal(parseKeyExpiry('90m', now), '2026-11-29T13:30:00.0000000');
    assert.equal(parseKeyExpiry('2w', now), '2026-12-13T12:00:00.0000000');
    assert.equal(parseKeyExpiry('2027-01-31T00:00:00+01:00', now), '2027-01-30T23:00:00.0000000');
  });
  it('refuses anything else with a message saying what it accepts', () => {
    for (const bad of ['tomorrow', '30', '30y', '0d', '2020-01-01T00:00:00Z', '2026-11-29T12:00:00', '']) {
      assert.throws(
        () => parseKeyExpiry(bad, now),
        (e: unknown) => e instanceof OrgError && /--expires/.test(e.message),
        bad,
      );
    }
  });
});

for (const dialect of DIALECTS) {
  describe(`key lifecycle across processes (${dialect})`, () => {
    let t: TestApp;
    let b: { app: FastifyInstance; conn: Connection };
    before(async () => {
      t = await buildTestApp(dialect);
      const config = loadConfig({ DATABASE_URL: t.database.target.url, LOG_LEVEL: 'silent' });
      const conn = connect(config.database);
      b = { app: await buildApp(config, conn), conn };
    });
    after(async () => {
      await b.app.close();
      await b.conn.close();
      await t.close();
    });

    it('an expired key is refused at once by every process; a key before its expiry works', async () => {
      const past = await createKeyService(t.conn.db).createApiKey(t.demo.orgId, 'read', '2001-01-01T00:00:00.0000000');
      const future = await createKeyService(t.conn.db).createApiKey(
        t.demo.orgId,
        'read',
        '2999-01-01T00:00:00.0000000',
      );
      for (const app of [t.app, b.app]) {
        const refused = await app.inject({ url: USERS, headers: bearer(past.key) });
        assert.equal(refused.statusCode, 401);
        assert.match(String(refused.headers['www-authenticate']), /^Bearer/);
        assert.equal((await app.inject({ url: USERS, headers: bearer(future.key) })).statusCode, 200);
      }
      // Its expiry passing (set here by another connection, as time would) takes effect on the next request everywhere.
      await b.conn.db
        .updateTable('api_keys')
        .set({ expires_at: '2002-01-01T00:00:00.0000000' })
        .where('id', '=', future.id)
        .execute();
      for (const app of [t.app, b.app])
        assert.equal((await app.inject({ url: USERS, headers: bearer(future.key) })).statusCode, 401);
    });

    it('the CLI creates (with --expires), lists, revokes and audits keys; revocation takes effect at once in every process', async () => {
      const url = t.database.target.url;
      const created = await roster(url, 'keys', 'create', '--org', 'other', '--scope', 'read', '--expires', '30d');
      const key = created.stdout.trim();
      assert.match(key, /^rst_[A-Za-z0-9_-]{32}$/);
      assert.equal(created.stdout, `${key}\n`);
      const prefix = key.slice(0, 12);
      for (const app of [t.app, b.app])
        assert.equal((await app.inject({ url: USERS, headers: bearer(key) })).statusCode, 200);

      await roster(url, 'keys', 'revoke', prefix);
      for (const app of [t.app, b.app])
        assert.equal((await app.inject({ url: USERS, headers: bearer(key) })).statusCode, 401);

      const listed = (await roster(url, 'keys', 'list', '--org', 'other')).stdout;
      const lines = listed.trim().split('\n');
      assert.match(lines[0]!, /^ID\s+PREFIX\s+SCOPE\s+CREATED\s+LAST_USED\s+EXPIRES\s+REVOKED$/);
      assert.equal(lines.length, 3, listed);
      const row = lines.find((l) => l.includes(prefix))!.split(/\s+/);
      assert.equal(row[2], 'read');
      assert.match(row[3]!, /^\d{4}-\d\d-\d\dT/);
      assert.match(row[4]!, /^\d{4}-\d\d-\d\dT/, 'last used is recorded');
      const expires = Date.parse(`${row[5]}Z`);
      assert.ok(Math.abs(expires - (Date.now() + 30 * 86_400_000)) < 600_000, row[5]);
      assert.match(row[6]!, /^\d{4}-\d\d-\d\dT/, 'revoked is shown');
      const adminRow = lines.find((l) => !l.includes(prefix) && !l.startsWith('ID'))!.split(/\s+/);
      assert.deepEqual([adminRow[2], adminRow[5], adminRow[6]], ['admin', '-', '-']);
      assert.ok(!listed.includes(key) && !listed.includes(t.other.admin), 'keys list shows a key');

      const audit = await roster(
        url,
        'audit',
        '--org',
        'other',
        '--action',
        'key.create',
        '--action',
        'key.revoke',
        '--target-type',
        'API_KEY',
        '--since',
        '2000-01-01T00:00:00Z',
        '--desc',
      );
      const entries = audit.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.deepEqual(
        entries.map((e) => e.action),
        ['key.revoke', 'key.create', 'key.create'],
      );
      assert.equal(entries[1].changes.prefix.after, prefix);
      assert.ok(entries[1].changes.expires_at.after);
      assert.ok(!audit.stdout.includes(key));
      assert.match(audit.stderr, /entries 1–3 of 3/);
      // The same entries as GET audit.
      const api = (
        await t.app.inject({
          url: '/api/v1/audit?action=key.create&action=key.revoke&sortorder=desc',
          headers: bearer(t.other.admin),
        })
      ).json();
      assert.deepEqual(api.results, entries);
    });
  });
}
