import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { migrateDown, migrateToLatest, MigrationError } from '../../src/db/migrator.js';
import { fold } from '../../src/shared/text.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

const create = (t: TestApp, username: string) =>
  t.app.inject({
    method: 'POST',
    url: '/api/v1/users',
    headers: bearer(t.demo.write),
    payload: { username, name: 'Folded', email: 'f@example.com', call_detail_level: 'full', roles: ['reporting'] },
  });

for (const dialect of DIALECTS) {
  describe(`usernames under full Unicode case folding and look-alikes (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(dialect);
    });
    after(async () => t.close());

    it('usernames are unique under full case folding: final sigma, ß → ss, ligatures, U+0130', async () => {
      for (const [first, second] of [
        ['ΟΔΥΣΣΕΥΣ', 'οδυσσευσ'],
        ['Straße', 'STRASSE'],
        ['ﬁle', 'FILE'],
        ['İnci', 'i\u0307nci'],
      ] as const) {
        assert.equal((await create(t, first)).statusCode, 201, first);
        const res = await create(t, second);
        assert.equal(res.statusCode, 409, `${second} after ${first}: ${res.body}`);
        assert.deepEqual(res.json().errors, [{ pointer: '/username', message: 'is already taken' }]);
      }
    });

    it('look-alike usernames are refused with a 409 naming the existing one', async () => {
      assert.equal((await create(t, 'admin')).statusCode, 201);
      for (const lookalike of ['\u0430dmin', 'adm\u0131n', 'ＡＤＭＩＮ', 'admi\u200dn']) {
        const res = await create(t, lookalike);
        assert.equal(res.statusCode, 409, `${JSON.stringify(lookalike)}: ${res.body}`);
        const [item] = res.json().errors;
        assert.equal(item.pointer, '/username');
        assert.match(item.message, /^(is already taken|looks like the existing username "admin")$/);
      }
      const cyrillic = (await create(t, '\u0430dmin')).json();
      assert.match(cyrillic.detail, /looks like "admin"/);
    });

    it('ASCII pairs that UTS #39 calls confusable stay distinct usernames (bam and barn, r0b and rob)', async () => {
      for (const username of ['bam', 'barn', 'r0b', 'rob', 'l1ly', 'lily']) {
        assert.equal((await create(t, username)).statusCode, 201, username);
      }
    });

    it('GET users/{user} and username search use the same folding: STRASSE finds Straße', async () => {
      const read = (ref: string) =>
        t.app.inject({ url: `/api/v1/users/${encodeURIComponent(ref)}`, headers: bearer(t.demo.read) });
      assert.equal((await read('STRASSE')).json().username, 'Straße');
      assert.equal((await read('FILE')).json().username, 'ﬁle');
      assert.equal((await read('οδυσσευς')).json().username, 'ΟΔΥΣΣΕΥΣ');
      const search = async (needle: string) =>
        (
          await t.app.inject({
            url: `/api/v1/users?username=${encodeURIComponent(needle)}`,
            headers: bearer(t.demo.read),
          })
        )
          .json()
          .results.map((u: { username: string }) => u.username);
      assert.deepEqual(await search('STRASSE'), ['Straße']);
      assert.deepEqual(await search('rasse'), ['Straße']);
      assert.deepEqual(await search('ΣΕΥΣ'), ['ΟΔΥΣΣΕΥΣ']);
      assert.deepEqual(await search('fil'), ['ﬁle']);
    });

    it('migration 008 stops on usernames that now collide, lists them with how to fix, and changes nothing', async () => {
      // Back to before 008, with usernames the old rule (NFC + toLowerCase) let through side by side.
      while (!(await migrateDown(t.conn)).includes('008_username_fold'));
      const { db } = t.conn;
      const rename = async (from: string, to: string) => {
        await db
          .updateTable('users')
          .set({ username: to, username_fold: fold(to) })
          .where('org_id', '=', t.demo.orgId)
          .where('username', '=', from)
          .execute();
      };
      for (const [from, to] of [
        ['Straße', 'Straße'],
        ['ΟΔΥΣΣΕΥΣ', 'ΟΔΥΣΣΕΥΣ'],
        ['bam', 'STRASSE'],
        ['barn', 'οδυσσευσ'],
        ['rob', '\u0430dmin'],
      ] as const)
        await rename(from, to);
      await assert.rejects(migrateToLatest(t.conn), (error: Error) => {
        assert.ok(error instanceof MigrationError);
        assert.match(error.message, /^migration 008_username_fold failed: 3 group\(s\) of usernames/);
        assert.ok(error.message.includes('organization "demo": "Straße", "STRASSE"'), error.message);
        assert.ok(error.message.includes('organization "demo": "ΟΔΥΣΣΕΥΣ", "οδυσσευσ"'), error.message);
        assert.ok(error.message.includes('organization "demo": "\u0430dmin", "admin"'), error.message);
        assert.match(error.message, /Rename all but one user of each group .* then run "roster migrate" again/);
        return true;
      });
      const columns = (await db.introspection.getTables()).find((table) => table.name === 'users')!.columns;
      assert.ok(!columns.some((c) => c.name === 'username_skeleton'), 'nothing was changed');
      const strasse = await db.selectFrom('users').select('username_fold').where('username', '=', 'Straße').execute();
      assert.deepEqual(strasse, [{ username_fold: 'straße' }]);

      // Renamed as the message says, the migration applies and recomputes the folds.
      await rename('STRASSE', 'strasse2');
      await rename('οδυσσευσ', 'odysseus');
      await rename('\u0430dmin', 'administrator');
      assert.equal((await migrateToLatest(t.conn))[0], '008_username_fold');
      const row = await db
        .selectFrom('users')
        .select(['username_fold', 'username_skeleton'])
        .where('username', '=', 'Straße')
        .executeTakeFirstOrThrow();
      assert.deepEqual(row, { username_fold: 'strasse', username_skeleton: 'strasse' });
      const read = await t.app.inject({ url: '/api/v1/users/STRASSE', headers: bearer(t.demo.read) });
      assert.equal(read.json().username, 'Straße');
      // The per-organization unique index is there: a raw insert of a look-alike is refused by the database.
      await assert.rejects(
        sql`update users set username_skeleton = 'admin' where username = 'administrator'`.execute(db),
        /unique|UNIQUE/,
      );
    });
  });
}
