import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { createKeyService } from '../../src/auth/key.service.js';
import { nowTimestamp } from '../../src/shared/timestamps.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

const HOUR = 3_600_000;

/** A time in the stored form (what nowTimestamp returns), from epoch milliseconds. */
const stored = (ms: number) => `${new Date(ms).toISOString().slice(0, 23)}0000`;

for (const dialect of DIALECTS) {
  describe(`time follows the wall clock (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(dialect);
    });
    after(async () => t.close());

    it('a key expires by the wall clock (Date.now), not the monotonic clock', async () => {
      // Ahead of every time this process has handed out (they only increase), so the clock below is the one used.
      const base = Date.parse(`${nowTimestamp().slice(0, 23)}Z`) + HOUR;
      mock.timers.enable({ apis: ['Date'], now: base });
      try {
        const { key } = await createKeyService(t.conn.db).createApiKey(t.demo.orgId, 'read', stored(base + HOUR));
        const read = () => t.app.inject({ url: '/api/v1/users?pagesize=1', headers: bearer(key) });
        assert.equal((await read()).statusCode, 200);
        // The wall clock moves two hours on (the monotonic clock and the time origin do not follow it).
        mock.timers.setTime(base + 2 * HOUR);
        assert.equal(nowTimestamp().slice(0, 19), stored(base + 2 * HOUR).slice(0, 19));
        assert.equal((await read()).statusCode, 401, 'expired an hour ago by the wall clock');
      } finally {
        mock.timers.reset();
      }
    });
  });
}
