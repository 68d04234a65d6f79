import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.js';
import { connect, type Connection } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrator.js';
import { COPIED_TABLES } from '../../src/copy/copy.tables.js';
import { countOrgRows } from '../../src/copy/copy.repository.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, DIALECTS, PG_ADMIN_URL, type TestDatabase } from '../support/databases.js';
import { insertTestUsers } from '../support/users.js';
import { caller, newUser } from '../support/writes.js';
import { runCopy } from './helpers.js';
import { rosterArgs } from '../support/cli.js';

/** Every copied table's row count in the whole database (any organization). */
async function countEverything(conn: Connection): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of COPIED_TABLES) {
    const { rows } = await sql<{ n: number }>`select count(*) as n from ${sql.table(table.name)}`.execute(conn.db);
    counts[table.name] = Number(rows[0]?.n);
  }
  return counts;
}

/** A fresh, migrated database and a connection to it. */
async function freshTarget(dialect: (typeof DIALECTS)[number]) {
  const database = await createTestDatabase(dialect);
  const conn = connect(loadConfig({ DATABASE_URL: database.target.url }).database);
  await migrateToLatest(conn);
  return { database, conn, url: database.target.url };
}

async function refusal(from: string, to: string, org?: string): Promise<string> {
  try {
    await runCopy(from, to, org);
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail('the copy was not refused');
}

for (const dialect of DIALECTS) {
  const other = DIALECTS.find((d) => d !== dialect) ?? dialect;
  describe(`roster copy ${dialect} → ${other}: --org, refusals, an interrupted copy`, () => {
    let source: TestApp;
    const targets: { database: TestDatabase; conn: Connection }[] = [];
    const target = async () => {
      const t = await freshTarget(other);
      targets.push(t);
      return t;
    };
    before(async () => {
      source = await buildTestApp(dialect, { RATE_LIMIT: '0' });
    });
    after(async () => {
      for (const t of targets) {
        await t.conn.close();
        await t.database.drop();
      }
      await source.close();
    });

    it('--org copies that organization alone; copying it again is refused naming it, with nothing written', async () => {
      const t = await target();
      const { report, out } = await runCopy(source.database.target.url, t.url, 'other');
      assert.match(out, /^reading the source as one (SQLite read transaction|PostgreSQL REPEATABLE READ, READ ONLY)/m);
      assert.match(
        out,
        new RegExp(`^copied "other" \\(id ${source.other.orgId}\\): organizations 1, api_keys 1,`, 'm'),
      );
      assert.match(out, /^copied 1 organization\(s\), \d+ rows in [\d.]+ s; verified: every table's count/m);
      assert.deepEqual(
        report.organizations.map((o) => o.name),
        ['other'],
      );
      const before = await countEverything(t.conn);
      assert.equal(before.organizations, 1);
      assert.equal(before.api_keys, 1);
      assert.equal(before.users, 0);
      assert.match(
        await refusal(source.database.target.url, t.url, 'other'),
        /^the target already has an organization with name "other" \(the source's "other"\); nothing was written/,
      );
      // The whole database: demo would fit, other does not; refused before demo is written.
      assert.match(await refusal(source.database.target.url, t.url), /organization with name "other"/);
      assert.deepEqual(await countEverything(t.conn), before);
      assert.match(
        await refusal(source.database.target.url, t.url, 'nobody'),
        /the source has no organization named "nobody"/,
      );
    });

    it('an --org the source lacks is refused before the target is opened: no file, no schema', async () => {
      const database = await createTestDatabase(other);
      try {
        assert.match(
          await refusal(source.database.target.url, database.target.url, 'nobody'),
          /^the source has no organization named "nobody"$/,
        );
        if (database.target.dialect === 'sqlite') {
          assert.equal(existsSync(database.target.file), false, 'the SQLite target file was created');
          return;
        }
        const conn = connect(database.target);
        try {
          const { rows } = await sql<{ n: number }>`
            select count(*) as n from information_schema.tables where table_schema = current_schema()`.execute(conn.db);
          assert.equal(Number(rows[0]?.n), 0, 'the PostgreSQL target was migrated');
        } finally {
          await conn.close();
        }
      } finally {
        await database.drop();
      }
    });

    it('the source itself as the target, spelled another way, is refused with nothing written', async () => {
      const { url } = source.database.target;
      // Another path to the same SQLite file; the same PostgreSQL database with a connection parameter.
      const same = dialect === 'sqlite' ? url.replace(/\/roster\.db$/, '/./roster.db') : `${url}?connect_timeout=10`;
      assert.notEqual(same, url);
      const before = await countEverything(source.conn);
      assert.equal(
        await refusal(url, same),
        '--to names the source database itself (DATABASE_URL): name another database',
      );
      assert.deepEqual(await countEverything(source.conn), before);
    });

    it('a target that cannot be reached, or does not exist, is named as the target', async () => {
      const absent = new URL(PG_ADMIN_URL);
      absent.pathname = '/roster_test_absent';
      for (const [to, reason] of [
        ['postgres://postgres@127.0.0.1:1/roster', 'connect ECONNREFUSED 127.0.0.1:1'],
        [absent.toString(), 'database "roster_test_absent" does not exist'],
      ] as const) {
        assert.equal(
          await refusal(source.database.target.url, to),
          `the target database (--to): cannot migrate the database: ${reason}`,
        );
      }
    });

    it('a target holding an organization id, or a user_id, of the copy is refused naming it, with nothing written', async () => {
      const t = await target();
      await t.conn.db
        .insertInto('organizations')
        .values({ id: source.demo.orgId, name: 'acme', created_at: '2026-01-01T00:00:00.0000000' })
        .execute();
      assert.match(
        await refusal(source.database.target.url, t.url, 'demo'),
        new RegExp(`organization with id ${source.demo.orgId} \\(the source's "demo"\\)`),
      );
      const rsmith = await source.conn.db
        .selectFrom('users')
        .select('user_id')
        .where('username', '=', 'rsmith')
        .executeTakeFirstOrThrow();
      const u = await target();
      await u.conn.db
        .insertInto('organizations')
        .values({ id: 900, name: 'acme', created_at: '2026-01-01T00:00:00.0000000' })
        .execute();
      await insertTestUsers(u.conn, 900, [{ username: 'someone', user_id: rsmith.user_id }]);
      // Past the source's internal ids: the user_id alone collides.
      await u.conn.db.updateTable('users').set({ id: 999_999 }).execute();
      const before = await countEverything(u.conn);
      assert.equal(
        await refusal(source.database.target.url, u.url),
        `the target already has users.user_id "${rsmith.user_id}", which the source's organization "demo" also holds; nothing was written. Copy into a database without it, or pick another organization with --org`,
      );
      assert.deepEqual(await countEverything(u.conn), before);
    });

    it('a copy killed (-9) mid-way leaves the target without the organization; the source stayed writable meanwhile', async () => {
      const t = await target();
      const child = spawn(process.execPath, rosterArgs('copy', '--to', t.url, '--org', 'demo'), {
        env: {
          ...process.env,
          DATABASE_URL: source.database.target.url,
          LOG_LEVEL: 'silent',
          ROSTER_COPY_PAUSE_AFTER: 'users',
        },
      });
      // Never left running, whatever fails below.
      after(() => child.kill('SIGKILL'));
      let stderr = '';
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on('exit', (_code, signal) => resolve(signal)),
      );
      await new Promise<void>((resolve, reject) => {
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (stderr.includes('paused after the first batch of users')) resolve();
        });
        child.on('exit', () => reject(new Error(`the copy ended before pausing: ${stderr}`)));
      });
      // Mid-copy the source takes writes while its snapshot is read. (The target is not read here: a copy into
      // a PostgreSQL database without organizations holds its tables locked while it rebuilds their indexes.)
      const created = await caller(source, source.demo.admin)('POST', 'users', { body: newUser('during.copy') });
      assert.equal(created.statusCode, 201);
      child.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL');

      // Reopened after the kill: nothing of the organization, in any table.
      await t.conn.close();
      const reopened = connect(loadConfig({ DATABASE_URL: t.url }).database);
      t.conn = reopened;
      for (const [table, n] of Object.entries(await countEverything(reopened))) assert.equal(n, 0, table);

      // Run again, the copy completes from a new snapshot, which holds the user written meanwhile.
      const { report } = await runCopy(source.database.target.url, t.url, 'demo');
      const users = report.organizations[0]?.tables.find((x) => x.table === 'users');
      assert.equal(users?.rows, await countOrgRows(source.conn.db, COPIED_TABLES[4]!, source.demo.orgId));
      assert.ok(
        await reopened.db.selectFrom('users').select('id').where('username', '=', 'during.copy').executeTakeFirst(),
      );
    });
  });
}
