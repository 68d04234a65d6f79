import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { connect } from '../../src/db/connect.js';
import type { DatabaseTarget } from '../../src/config.js';
import { createKeyService } from '../../src/auth/key.service.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import {
  closeReaders,
  droppedLogLines,
  get,
  signalAndWait,
  STACK,
  startRosterIntoHead,
  startSlowUpload,
} from './pipes.js';
import { prepareDatabase, sleep, startRoster, storedUsernames } from './support.js';

const GRACE_MS = 1500;
const DEADLINE_MS = GRACE_MS + 1000;
const NOTICE =
  /^roster: cannot write log lines \(EPIPE\); dropping them from now on, counted in roster_log_lines_dropped_total at \/metrics$/gm;

/** A read key of the demo organization, once the server (which seeds it after it listens) has seeded it in full. */
async function demoReadKey(target: DatabaseTarget): Promise<string> {
  const conn = connect(target);
  try {
    for (let tries = 0; ; tries++) {
      const org = await conn.db.selectFrom('organizations').select('id').where('name', '=', 'demo').executeTakeFirst();
      // The users arrive in one transaction: one of them means all of them.
      const user =
        org &&
        (await conn.db.selectFrom('users').select('id').where('org_id', '=', org.id).limit(1).executeTakeFirst());
      if (org && user) return (await createKeyService(conn.db).createApiKey(org.id, 'read')).key;
      assert.ok(tries < 600, 'the server seeded the demo organization within a minute');
      await sleep(100);
    }
  } finally {
    await conn.close();
  }
}

for (const dialect of DIALECTS) {
  describe(`a broken log pipe: Roster keeps serving, counts what it drops, and still stops on time (${dialect})`, () => {
    // A fresh database for each case: the first needs an empty one (the demo is seeded), the others one organization.
    let database: TestDatabase;
    const children: ChildProcess[] = [];
    beforeEach(async () => {
      database = await createTestDatabase(dialect);
    });
    afterEach(async () => {
      for (const child of children.splice(0))
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await database.drop();
    });

    it('`roster serve | head -1`: serves after its output is gone, counts each lost log line, exits 0 on SIGTERM', async () => {
      // On an empty database the demo is seeded after the first line, so the banner and the demo key meet the closed pipe.
      const roster = await startRosterIntoHead(database.target.url, {
        ROSTER_DEMO: '1',
        RATE_LIMIT: '0',
        SHUTDOWN_GRACE_MS: String(GRACE_MS),
      });
      children.push(roster.child);
      const key = await demoReadKey(database.target);

      assert.equal((await get(`${roster.url}/healthz`)).status, 200);
      const page = await get(`${roster.url}/api/v1/users?pagesize=2`, key);
      assert.equal(page.status, 200);
      assert.equal((await page.json()).results.length, 2);
      // Each request logs two lines at info (incoming, completed): one scrape's second line and the next one's first.
      const first = await droppedLogLines(roster.url);
      assert.ok(first >= 5, `the lines of three requests were counted (${first})`);
      assert.equal(await droppedLogLines(roster.url), first + 2);

      const exit = await signalAndWait(roster, 'SIGTERM', DEADLINE_MS);
      assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
      assert.ok(exit.ms < DEADLINE_MS, `exited ${exit.ms} ms after SIGTERM`);
    });

    it('stdout closed while a request is in flight: the request completes, later ones too, one notice on stderr, no stack trace', async () => {
      const { orgId, write } = await prepareDatabase(database.target);
      const roster = await startRoster(database.target.url, {
        LOG_LEVEL: 'info',
        RATE_LIMIT: '0',
        SHUTDOWN_GRACE_MS: String(GRACE_MS),
      });
      children.push(roster.child);
      assert.equal(await droppedLogLines(roster.url), 0, 'nothing is dropped while the reader reads');

      const upload = await startSlowUpload(roster.url, write, 'mid.request');
      await closeReaders(roster.child.stdout);
      assert.match(await upload.finish(), /^HTTP\/1\.1 201 /);
      assert.ok((await storedUsernames(database.target.url, orgId)).has('mid.request'));
      const read = await get(`${roster.url}/api/v1/users/mid.request`, write);
      assert.equal(read.status, 200);
      assert.equal((await read.json()).username, 'mid.request');

      const first = await droppedLogLines(roster.url);
      assert.ok(first >= 4, `the upload's last line and the read's two were counted (${first})`);
      assert.equal(await droppedLogLines(roster.url), first + 2);

      const exit = await signalAndWait(roster, 'SIGTERM', DEADLINE_MS);
      assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
      assert.ok(exit.ms < DEADLINE_MS, `exited ${exit.ms} ms after SIGTERM`);
      assert.equal(roster.output().match(NOTICE)?.length, 1, roster.output());
      assert.doesNotMatch(roster.output(), STACK);
    });

    it('SIGTERM during a slow request with a broken pipe: exits 1 once SHUTDOWN_GRACE_MS has passed, within a second more', async () => {
      const { write } = await prepareDatabase(database.target);
      const roster = await startRoster(database.target.url, {
        LOG_LEVEL: 'info',
        RATE_LIMIT: '0',
        SHUTDOWN_GRACE_MS: String(GRACE_MS),
      });
      children.push(roster.child);
      await closeReaders(roster.child.stdout);
      assert.equal((await get(`${roster.url}/healthz`)).status, 200);
      assert.ok((await droppedLogLines(roster.url)) >= 3);
      const upload = await startSlowUpload(roster.url, write, 'never.finished');

      const exit = await signalAndWait(roster, 'SIGTERM', DEADLINE_MS);
      assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 1, signal: null }, roster.output());
      assert.ok(exit.ms >= GRACE_MS - 100 && exit.ms < DEADLINE_MS, `exited ${exit.ms} ms after SIGTERM`);
      assert.doesNotMatch(await upload.closed, /^HTTP\/1\.1 201 /);
      assert.equal(roster.output().match(NOTICE)?.length, 1, roster.output());
      assert.doesNotMatch(roster.output(), STACK);
    });

    it('a second signal while draining with a broken pipe ends the process at once (exit 1)', async () => {
      const { write } = await prepareDatabase(database.target);
      const roster = await startRoster(database.target.url, {
        LOG_LEVEL: 'info',
        RATE_LIMIT: '0',
        SHUTDOWN_GRACE_MS: '10000',
      });
      children.push(roster.child);
      await closeReaders(roster.child.stdout, roster.child.stderr);
      await startSlowUpload(roster.url, write, 'twice.signalled');
      roster.child.kill('SIGTERM');
      await sleep(300);
      assert.equal(roster.child.exitCode, null, 'still draining the slow request');
      const exit = await signalAndWait(roster, 'SIGINT', 1000);
      assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 1, signal: null });
      assert.ok(exit.ms < 1000, `exited ${exit.ms} ms after the second signal`);
    });
  });
}
