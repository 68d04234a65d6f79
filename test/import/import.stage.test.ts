import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createKeyService } from '../../src/auth/key.service.js';
import { connect } from '../../src/db/connect.js';
import { importUsers, type ImportCounts, type Rejection } from '../../src/import/import.service.js';
import { openImportSource } from '../../src/import/import.source.js';
import { createOrgService } from '../../src/orgs/org.service.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { caller, newUser } from '../support/writes.js';
import { tempFile } from './helpers.js';

const HEADER = 'user_id,username,name,call_detail_level,roles';
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
/** Table locks that never stop another organization's reads or writes. */
const MILD_LOCKS = new Set(['AccessShareLock', 'RowShareLock', 'RowExclusiveLock']);

for (const dialect of DIALECTS) {
  describe(`roster import: a first load, and the rest of the database meanwhile (${dialect})`, () => {
    let t: TestApp;
    let orgN = 0;
    before(async () => {
      t = await buildTestApp(dialect);
    });
    after(async () => t.close());

    const freshOrg = async () => createOrgService(t.conn.db).createOrganization(`stage${++orgN}`);
    const stored = async (orgId: number) =>
      (await t.conn.db.selectFrom('users').select('username').where('org_id', '=', orgId).execute()).map(
        (r) => r.username,
      );

    /** Imports a file with hooks of the test's own (awaited by the import between batches, inside its transaction). */
    async function load(orgId: number, path: string, onProgress: (c: Readonly<ImportCounts>) => Promise<void>) {
      const rejections: Rejection[] = [];
      const source = await openImportSource(path);
      // A connection of its own, as `roster import` has beside a running server.
      const conn = connect(t.config.database);
      let counts: ImportCounts;
      try {
        counts = await importUsers(
          conn,
          source.rows(),
          { orgId, dialect, createMissing: false, strict: false, batchSize: 500, label: 'stage' },
          { onRejected: (r) => rejections.push(r), onProgress },
        );
      } finally {
        await conn.close();
      }
      return {
        counts,
        messages: rejections.flatMap((r) => r.problems.map((p) => `line ${r.line}, ${p.field}: ${p.reason}`)),
      };
    }

    it('rejects, by line, a user or username the file named in an earlier batch and a user_id of another organization, as the row path does', async () => {
      const elsewhere = await freshOrg();
      const theirs = await load(
        elsewhere,
        tempFile('theirs.csv', `${HEADER}\n${uuid(999_999)},taken,Taken,full,reporting\n`),
        async () => {},
      );
      assert.equal(theirs.counts.imported, 1);

      const orgId = await freshOrg();
      const lines = [HEADER];
      for (let n = 2; n <= 1201; n++) lines.push(`${uuid(n)},user${n},User ${n},full,reporting`);
      lines.push(`${uuid(10)},again,Again,full,reporting`); // line 1202: the user_id of line 10 (first batch)
      lines.push(`${uuid(1203)},USER600,Upper,full,reporting`); // line 1203: line 600's username, another case
      lines.push(`${uuid(999_999)},theirs,Theirs,full,reporting`); // line 1204: another organization's user_id
      const { counts, messages } = await load(orgId, tempFile('dups.csv', `${lines.join('\n')}\n`), async () => {});
      assert.deepEqual(counts, { imported: 1200, updated: 0, unchanged: 0, rejected: 3 });
      assert.deepEqual(messages, [
        `line 1202, user_id: "${uuid(10)}" names the same user as line 10 of this file; a file may name each user once`,
        'line 1203, username: "USER600" is the username of line 600 of this file; usernames are unique, ignoring case and look-alike characters',
        `line 1204, user_id: ${uuid(999_999)} is the user_id of a user in another organization; user_ids are unique across Roster`,
      ]);
      assert.equal((await stored(orgId)).length, 1200);
    });

    it('a substring search finds the loaded users', async () => {
      const orgId = await freshOrg();
      const key = (await createKeyService(t.conn.db).createApiKey(orgId, 'read')).key;
      const lines = [HEADER];
      for (let n = 2; n <= 1501; n++) lines.push(`${uuid(200_000 + n)},pending${n},Pending Person ${n},full,reporting`);
      const { counts } = await load(orgId, tempFile('pending.csv', `${lines.join('\n')}\n`), async () => {});
      assert.equal(counts.imported, 1500);
      const found = await caller(t, key)('GET', 'users?username=ending14&name=person%20149&pagesize=50');
      assert.equal(found.statusCode, 200, found.body);
      assert.deepEqual(
        found.json().results.map((u: { username: string }) => u.username),
        ['pending149', ...Array.from({ length: 10 }, (_, i) => `pending149${i}`)],
      );
    });

    it('other organizations keep reading during a first load (and, on PostgreSQL, writing, with no table lock above ROW EXCLUSIVE)', async () => {
      const other = await freshOrg();
      const key = (await createKeyService(t.conn.db).createApiKey(other, 'admin')).key;
      const api = caller(t, key);
      const orgId = await freshOrg();
      const lines = [HEADER];
      for (let n = 2; n <= 2001; n++) lines.push(`${uuid(100_000 + n)},load${n},Load ${n},full,reporting`);
      let calls = 0;
      const seen = new Set<string>();
      const within = <T>(work: Promise<T>, what: string) =>
        Promise.race([
          work,
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} waited on the load`)), 5000)),
        ]);
      const { counts } = await load(orgId, tempFile('concurrent.csv', `${lines.join('\n')}\n`), async () => {
        calls++;
        const read = await within(api('GET', 'users?pagesize=1'), 'a read');
        assert.equal(read.statusCode, 200, read.body);
        if (dialect !== 'postgres') return;
        const write = await within(api('POST', 'users', { body: newUser(`meanwhile${calls}`) }), 'a write');
        assert.equal(write.statusCode, 201, write.body);
        const { rows } = await sql<{ relname: string; mode: string }>`select c.relname, l.mode
          from pg_locks l join pg_class c on c.oid = l.relation
          where l.locktype = 'relation' and l.pid <> pg_backend_pid() and c.relkind = 'r'
            and c.relnamespace = 'public'::regnamespace
            and l.database = (select oid from pg_database where datname = current_database())`.execute(t.conn.db);
        for (const { relname, mode } of rows) {
          assert.ok(MILD_LOCKS.has(mode), `${relname}: ${mode}`);
          seen.add(`${relname} ${mode}`);
        }
      });
      assert.deepEqual(counts, { imported: 2000, updated: 0, unchanged: 0, rejected: 0 });
      // Four batches and once more with every user moved into users, before the commit.
      assert.equal(calls, 5);
      if (dialect === 'postgres') {
        assert.ok(seen.has('users RowExclusiveLock'), [...seen].join(', '));
        assert.equal((await stored(other)).length, 5);
      }
      assert.equal((await stored(orgId)).length, 2000);
    });
  });
}
