import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { openCommitStamp, type CommitStamp } from '../../src/db/commit-stamp.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';

// The commit stamp (src/db/commit-stamp.ts) stands in for a read transaction on the API key's lookup: it must
// change with every commit to the file, by this process or another, and with nothing else.

if (DIALECTS.includes('sqlite'))
  describe('the commit stamp of a SQLite file', () => {
    let database: TestDatabase;
    let file: string;
    let mine: SQLite.Database;
    let stamp: CommitStamp;
    before(async () => {
      database = await createTestDatabase('sqlite');
      file = database.target.dialect === 'sqlite' ? database.target.file : '';
      mine = new SQLite(file);
      mine.pragma('journal_mode = WAL');
      mine.exec('create table t (id integer primary key, v text)');
      stamp = openCommitStamp(file);
    });
    after(async () => {
      stamp.close();
      mine.close();
      await database.drop();
    });

    /** Runs SQL in another process on the same file. */
    const elsewhere = (statement: string): void => {
      const script = `const db = new (require('better-sqlite3'))(process.argv[1]); db.exec(process.argv[2]); db.close();`;
      execFileSync(process.execPath, ['-e', script, file, statement], { cwd: process.cwd() });
    };

    it('stays the same while nothing commits, reads by any connection included', () => {
      const first = stamp.read();
      assert.ok(first !== undefined);
      mine.prepare('select count(*) from t').get();
      const reader = new SQLite(file, { readonly: true });
      reader.prepare('select * from t').all();
      reader.close();
      assert.equal(stamp.read(), first);
    });

    it("changes with this process's commit, and only when it commits", () => {
      const before = stamp.read();
      mine.exec('begin immediate');
      mine.prepare('insert into t (v) values (?)').run('x'.repeat(10_000));
      assert.equal(stamp.read(), before, 'an open transaction is no commit');
      mine.exec('commit');
      const after = stamp.read();
      assert.ok(after !== undefined && after !== before);
    });

    it("changes with another process's commit, after a checkpoint too", () => {
      let before = stamp.read();
      elsewhere("update t set v = 'y'");
      const after = stamp.read();
      assert.ok(after !== undefined && after !== before);
      // A checkpoint that empties the log, then a commit that starts it again from its first frame.
      mine.pragma('wal_checkpoint(TRUNCATE)');
      before = stamp.read();
      mine.prepare("update t set v = 'z'").run();
      assert.notEqual(stamp.read(), before);
      before = stamp.read();
      elsewhere('pragma wal_checkpoint(TRUNCATE)');
      elsewhere("update t set v = 'w'");
      assert.notEqual(stamp.read(), before);
    });

    it('cannot tell (undefined) for a file without a WAL index', () => {
      const none = openCommitStamp(`${file}.absent`);
      assert.equal(none.read(), undefined);
      none.close();
    });
  });
