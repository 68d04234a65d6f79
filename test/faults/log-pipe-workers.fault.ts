import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import {
  closeReaders,
  droppedLogLines,
  get,
  isRunning,
  rosterChildren,
  signalAndWait,
  STACK,
  startSlowUpload,
} from './pipes.js';
import { prepareDatabase, startRoster, type RosterProcess } from './support.js';

const GRACE_MS = 1500;
const DEADLINE_MS = GRACE_MS + 1000;

for (const dialect of DIALECTS) {
  describe(`serve --workers 2 with a broken log pipe (${dialect})`, () => {
    let database: TestDatabase;
    let roster: RosterProcess | undefined;
    before(async () => {
      database = await createTestDatabase(dialect);
    });
    after(async () => {
      if (roster && roster.child.exitCode === null && roster.child.signalCode === null) roster.child.kill('SIGKILL');
      await database.drop();
    });

    it('the workers keep serving and count what they drop; SIGTERM ends the primary and every worker within the deadline', async () => {
      const { write } = await prepareDatabase(database.target);
      roster = await startRoster(
        database.target.url,
        { LOG_LEVEL: 'info', RATE_LIMIT: '0', SHUTDOWN_GRACE_MS: String(GRACE_MS) },
        ['--workers', '2'],
      );
      const workers = rosterChildren(roster.child.pid!);
      assert.equal(workers.length, 2, `two workers run: ${workers.join(', ')}`);
      await closeReaders(roster.child.stdout);

      // Connections go to the workers in turn: enough requests reach both.
      for (let i = 0; i < 6; i++) {
        const res = await get(`${roster.url}/api/v1/users?pagesize=1`, write);
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }
      // Whichever worker answers, it has dropped at least the first line of this very scrape.
      for (let i = 0; i < 4; i++) assert.ok((await droppedLogLines(roster.url)) >= 1);

      // One worker drains a request that never finishes: it exits 1 at SHUTDOWN_GRACE_MS, and so does the primary.
      const upload = await startSlowUpload(roster.url, write, 'workers.never.finished');
      const exit = await signalAndWait(roster, 'SIGTERM', DEADLINE_MS);
      assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 1, signal: null }, roster.output());
      assert.ok(exit.ms < DEADLINE_MS, `the primary exited ${exit.ms} ms after SIGTERM`);
      for (const pid of workers) assert.ok(!isRunning(pid), `worker ${pid} has ended`);
      assert.doesNotMatch(await upload.closed, /^HTTP\/1\.1 201 /);
      assert.match(roster.output(), /^roster: cannot write log lines \(EPIPE\)/m);
      assert.doesNotMatch(roster.output(), STACK);
    });
  });
}
