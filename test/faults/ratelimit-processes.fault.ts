import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { prepareDatabase, startRoster, type RosterProcess } from './support.js';

const REDIS_URL = process.env.ROSTER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

for (const dialect of DIALECTS) {
  for (const store of dialect === 'sqlite' ? ['database', 'redis'] : ['database']) {
    describe(`two roster processes share one rate-limit budget, counters in ${store} (${dialect})`, () => {
      let database: TestDatabase;
      const processes: RosterProcess[] = [];
      before(async () => {
        database = await createTestDatabase(dialect);
      });
      after(async () => {
        for (const p of processes) {
          p.child.kill('SIGTERM');
          await p.exited;
        }
        await database.drop();
      });

      it('the 6th request of a key with RATE_LIMIT=5 is 429 on either process; a request without a valid key is counted apart', async () => {
        const { write } = await prepareDatabase(database.target);
        const env = { RATE_LIMIT: '5', ...(store === 'redis' ? { REDIS_URL } : {}) };
        processes.push(
          ...(await Promise.all([startRoster(database.target.url, env), startRoster(database.target.url, env)])),
        );
        const get = (p: RosterProcess, key: string) =>
          fetch(`${p.url}/api/v1/users?pagesize=1`, {
            headers: { authorization: `Bearer ${key}` },
            signal: AbortSignal.timeout(10_000),
          });
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++) statuses.push((await get(processes[i % 2]!, write)).status);
        assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
        for (const p of processes) {
          const res = await get(p, write);
          assert.equal(res.status, 429);
          assert.ok(Number(res.headers.get('retry-after')) >= 1);
          assert.equal((await res.json()).code, 'RATE_LIMITED');
        }
        const unknown = await get(processes[0]!, 'rst_notAKeyAtAll000000000000000000000');
        assert.equal(unknown.status, 401);
      });
    });
  }
}
