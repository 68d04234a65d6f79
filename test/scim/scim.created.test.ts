import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { connect, type Connection } from '../../src/db/connect.js';
import { migrateDown, migrateToLatest } from '../../src/db/migrator.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { filterQuery, scimCaller } from '../support/scim.js';
import { caller, newUser } from '../support/writes.js';
import { importFile, tempFile } from '../import/helpers.js';

const STORED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}$/;

for (const dialect of DIALECTS) {
  describe(`users.created_at, SCIM meta.created (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(dialect);
    });
    after(async () => t.close());

    const createdOf = async (username: string) =>
      (
        await t.conn.db
          .selectFrom('users')
          .select('created_at')
          .where('username', '=', username)
          .executeTakeFirstOrThrow()
      ).created_at;

    it('is set when the API creates a user, and no later write changes it', async () => {
      const api = caller(t, t.demo.write);
      const created = (await api('POST', 'users', { body: newUser('made.by.api') })).json();
      const at = await createdOf('made.by.api');
      assert.match(at, STORED);
      assert.equal(at.replace(/0+$/, '').replace(/\.$/, ''), created.last_updated_date);
      await api('PATCH', 'users/made.by.api', { body: { name: 'Renamed' } });
      await api('PUT', 'users/made.by.api/activate');
      assert.equal(await createdOf('made.by.api'), at);
      const scim = (
        await scimCaller(t, t.demo.read)('GET', `Users?${filterQuery('userName eq "made.by.api"')}`)
      ).json();
      assert.equal(scim.Resources[0].meta.created, `${at}Z`);
      assert.notEqual(scim.Resources[0].meta.lastModified, `${at}Z`);
    });

    it('is set for users an import creates, and kept by an import that updates them', async () => {
      const file = tempFile(
        'users.csv',
        'username,name,email,call_detail_level,roles\nimported.one,Imported One,one@example.com,full,reporting\n',
      );
      const run = await importFile(t.conn, t.demo.orgId, file);
      assert.equal(run.counts.imported, 1, run.messages.join('\n'));
      const at = await createdOf('imported.one');
      assert.match(at, STORED);
      const update = tempFile('update.csv', 'username,name\nimported.one,Imported Again\n');
      assert.equal((await importFile(t.conn, t.demo.orgId, update)).counts.updated, 1);
      assert.equal(await createdOf('imported.one'), at);
    });

    it('is never empty for the demo users', async () => {
      const empty = await t.conn.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('created_at', 'not like', '____-__-__T__:__:__._______')
        .executeTakeFirstOrThrow();
      assert.equal(Number(empty.n), 0);
    });
  });

  describe(`migration 007 backfills created_at (${dialect})`, () => {
    let database: TestDatabase;
    let conn: Connection;
    before(async () => {
      database = await createTestDatabase(dialect);
      conn = connect(database.target);
    });
    after(async () => {
      await conn.close();
      await database.drop();
    });

    it("takes each user's first audit entry, else its last_updated_date", async () => {
      await migrateToLatest(conn);
      await revertThrough(conn, '007_scim');
      const org = await sql<{
        id: number;
      }>`insert into organizations (name, created_at) values ('o', '2020-01-01T00:00:00.0000000') returning id`.execute(
        conn.db,
      );
      const orgId = org.rows[0]!.id;
      for (const [userId, username, updated] of [
        ['11111111-1111-4111-8111-111111111111', 'audited', '2024-05-05T05:05:05.5000000'],
        ['22222222-2222-4222-8222-222222222222', 'unaudited', '2023-03-03T03:03:03.3000000'],
      ] as const)
        await sql`insert into users (org_id, user_id, username, username_fold, name, name_fold, email, phone, call_detail_level,
            restrict_recording_download, status, last_login_date, last_updated_date, deactivation_date, roles, roles_mask,
            billing_groups, group_owners, version)
          values (${orgId}, ${userId}, ${username}, ${username}, 'N', 'n', '', '', 'full', 0, 'activated', null, ${updated}, null,
            'reporting', 8, '', '', 2)`.execute(conn.db);
      for (const at of ['2022-02-02T02:02:02.2000000', '2021-01-01T01:01:01.1000000'])
        await sql`insert into audit_entries (org_id, at, actor_key_id, actor, action, target_type, target_id, changes, request_id)
          values (${orgId}, ${at}, null, 'cli', 'user.create', 'user', '11111111-1111-4111-8111-111111111111', '{}', null)`.execute(
          conn.db,
        );
      assert.ok((await migrateToLatest(conn)).includes('007_scim'));
      const rows = await conn.db.selectFrom('users').select(['username', 'created_at']).orderBy('username').execute();
      assert.deepEqual(rows, [
        { username: 'audited', created_at: '2021-01-01T01:01:01.1000000' },
        { username: 'unaudited', created_at: '2023-03-03T03:03:03.3000000' },
      ]);
    });
  });
}

/** Reverts the most recent migrations until `name` is no longer applied (later ones, such as 008, first). */
async function revertThrough(conn: Connection, name: string): Promise<void> {
  for (;;) {
    const applied = await sql<{ name: string }>`select name from roster_migrations`.execute(conn.db);
    if (!applied.rows.some((r) => r.name === name)) return;
    await migrateDown(conn);
  }
}
