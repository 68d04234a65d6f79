import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { CHANGE_LOG_VERSIONS_KEPT } from '../../src/db/migrations/010_change_log.js';
import { findWriteVersion } from '../../src/orgs/org.repository.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

// The change log keeps an organization's last CHANGE_LOG_VERSIONS_KEPT versions: each write_version bump
// deletes the versions it moves out of that window, and only those (migration 012), so another
// organization's log and the kept versions stay whole.

const KEPT = CHANGE_LOG_VERSIONS_KEPT;

for (const dialect of DIALECTS) {
  describe(`the change log's pruning (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(dialect);
    });
    after(() => t.close());

    const versions = async (orgId: number) =>
      (
        await t.conn.db
          .selectFrom('user_changes')
          .select('version')
          .distinct()
          .where('org_id', '=', orgId)
          .orderBy('version')
          .execute()
      ).map((r) => Number(r.version));
    it('keeps exactly the last versions of the window, one change each, as writes go on', async () => {
      const { orgId } = t.demo;
      const otherBefore = await versions(t.other.orgId);
      const user = await t.conn.db
        .selectFrom('users')
        .select('id')
        .where('org_id', '=', orgId)
        .orderBy('id')
        .executeTakeFirstOrThrow();
      const writes = KEPT + 150;
      await t.conn.db.transaction().execute(async (trx) => {
        for (let i = 0; i < writes; i++) {
          await sql`update organizations set write_version = write_version + 1 where id = ${orgId}`.execute(trx);
          await sql`update users set phone = ${`206-555-${String(i).padStart(4, '0')}`}, version = version + 1
            where org_id = ${orgId} and id = ${user.id}`.execute(trx);
        }
      });
      const current = await findWriteVersion(t.conn.db, orgId);
      const kept = await versions(orgId);
      // The window is the versions after current - KEPT; every one of them had a change.
      assert.equal(kept.length, KEPT);
      assert.equal(kept[0], current - KEPT + 1);
      assert.equal(kept.at(-1), current);
      assert.deepEqual(await versions(t.other.orgId), otherBefore, "another organization's log is untouched");
    });
  });
}
