import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findUsersByUserIds } from '../../src/users/user.repository.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

// SQLite's connection.readNow reads rows as arrays and makes them objects itself (src/db/connect.ts): its
// rows must be the ones Kysely reads, and the statement it shares with Kysely must stay in object mode.

if (DIALECTS.includes('sqlite'))
  describe('a read at once on SQLite (connection.readNow)', () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp('sqlite');
    });
    after(() => t.close());

    const someUserIds = async () =>
      (
        await t.conn.db
          .selectFrom('users')
          .select('user_id')
          .where('org_id', '=', t.demo.orgId)
          .orderBy('id')
          .limit(5)
          .execute()
      ).map((r) => r.user_id);

    it('gives the rows, columns and values Kysely gives, and leaves the statement to Kysely as it was', async () => {
      const ids = await someUserIds();
      assert.equal(ids.length, 5);
      const viaKysely = await findUsersByUserIds(t.conn.db, t.demo.orgId, ids);
      const now = findUsersByUserIds(t.conn.db, t.demo.orgId, ids, t.conn.readNow);
      assert.ok(Array.isArray(now), 'read without a promise');
      assert.deepEqual(now, viaKysely);
      assert.deepEqual(
        now.map((row) => Object.keys(row)),
        viaKysely.map((row) => Object.keys(row)),
      );
      // The same statement through Kysely again: objects, not arrays.
      const again = await findUsersByUserIds(t.conn.db, t.demo.orgId, ids);
      assert.deepEqual(again, viaKysely);
      assert.ok(!Array.isArray(again[0]));
    });

    it('says to wait (undefined) while a transaction holds the connection', async () => {
      const ids = await someUserIds();
      await t.conn.db.transaction().execute(async () => {
        const now = findUsersByUserIds(t.conn.db, t.demo.orgId, ids, t.conn.readNow);
        assert.ok(now instanceof Promise, 'not read at once inside a transaction');
        // Kysely's one connection is the transaction's: the read waits for it, so leave it pending here.
        now.catch(() => {});
      });
    });

    it('reads nothing of another organization', async () => {
      const ids = await someUserIds();
      const now = findUsersByUserIds(t.conn.db, t.other.orgId, ids, t.conn.readNow);
      assert.deepEqual(now, []);
    });
  });
