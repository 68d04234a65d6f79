import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { countUserCreateEntries, postUser, prepareDatabase, sleep, startRoster, storedUsernames } from './support.js';

const WRITERS = 8;

for (const dialect of DIALECTS) {
  describe(`kill -9 during a burst of writes (${dialect})`, () => {
    let database: TestDatabase;
    before(async () => {
      database = await createTestDatabase(dialect);
    });
    after(async () => database.drop());

    it('loses no write that was acknowledged with 2xx', async () => {
      const { orgId, write } = await prepareDatabase(database.target);
      const roster = await startRoster(database.target.url, { RATE_LIMIT: '0' });
      const acknowledged: string[] = [];
      let failedAfterKill = 0;
      let killed = false;
      let sequence = 0;
      const writer = async (w: number) => {
        while (!killed) {
          const username = `burst.${w}.${sequence++}`;
          try {
            const res = await postUser(roster.url, write, username);
            await res.arrayBuffer();
            if (res.status === 201) acknowledged.push(username);
            else if (!killed) assert.fail(`POST users answered ${res.status} before the kill`);
          } catch (error) {
            if (!killed) throw error;
            failedAfterKill++;
          }
        }
      };
      const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
      // Let the burst run until a fair number of writes were acknowledged, then kill without warning.
      const deadline = Date.now() + 20_000;
      while (acknowledged.length < 150 && Date.now() < deadline) await sleep(20);
      roster.child.kill('SIGKILL');
      killed = true;
      await Promise.all(writers);
      const exit = await roster.exited;
      assert.equal(exit.signal, 'SIGKILL');
      assert.ok(acknowledged.length >= 20, `only ${acknowledged.length} writes were acknowledged before the kill`);

      const stored = await storedUsernames(database.target.url, orgId);
      const lost = acknowledged.filter((u) => !stored.has(u));
      assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged writes were lost`);
      // Writes in flight at the kill may or may not have landed; none is half there (the audit trail agrees).
      assert.ok(stored.size >= acknowledged.length);
      assert.equal(
        await countUserCreateEntries(database.target.url, orgId),
        stored.size,
        'a user without its audit entry, or the reverse',
      );
      process.stdout.write(
        `# ${dialect}: ${acknowledged.length} acknowledged, ${stored.size} stored, ${failedAfterKill} cut by the kill\n`,
      );
    });

    it('restarts on the same database and serves it', async () => {
      const roster = await startRoster(database.target.url, { RATE_LIMIT: '0' });
      try {
        const res = await fetch(`${roster.url}/readyz`, { signal: AbortSignal.timeout(10_000) });
        assert.equal(res.status, 200);
      } finally {
        roster.child.kill('SIGTERM');
        await roster.exited;
      }
    });
  });
}
