import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKeyService } from '../../src/auth/key.service.js';
import { connect } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrator.js';
import { createOrgService } from '../../src/orgs/org.service.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { insertBulkUsers } from '../support/users.js';
import { sleep, startRoster, type RosterProcess } from './support.js';

// One tenant cannot stall another (docs/security.md, section 18): while one key floods costly searches through a
// real `roster serve`, another organization's GET users/{user} keeps its p99 under 100 ms and never gets a 503.

const NOISY_USERS = 100_000;
const QUIET_USERS = 2_000;
const FLOODERS = 12;
const FLOOD_MS = 8_000;

/** A costly search nobody asked before: 16 distinct two-letter needles (LIKE scans), rotated so no answer is cached. */
function costlySearch(n: number): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const needle = (i: number) => `${letters[(n + i) % 26]}${letters[(n * 7 + i * 3) % 26]}`;
  const names = Array.from({ length: 10 }, (_, i) => `name=${needle(i)}`);
  const usernames = Array.from({ length: 6 }, (_, i) => `username=${needle(i + 10)}`);
  return `/api/v1/users?pagesize=20&pagenumber=${1 + (n % 50)}&${[...names, ...usernames].join('&')}`;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;

for (const dialect of DIALECTS) {
  describe(`noisy neighbour: one key floods costly searches (${dialect})`, () => {
    let database: TestDatabase;
    let server: RosterProcess | undefined;
    let noisyKey: string;
    let quietKey: string;
    before(async () => {
      database = await createTestDatabase(dialect);
      const conn = connect(database.target);
      try {
        await migrateToLatest(conn);
        const orgs = createOrgService(conn.db);
        const keys = createKeyService(conn.db);
        const noisy = await orgs.createOrganization('noisy');
        const quiet = await orgs.createOrganization('quiet');
        await insertBulkUsers(conn, noisy, NOISY_USERS, 'noisy tenant');
        await insertBulkUsers(conn, quiet, QUIET_USERS, 'quiet tenant');
        noisyKey = (await keys.createApiKey(noisy, 'read')).key;
        quietKey = (await keys.createApiKey(quiet, 'read')).key;
      } finally {
        await conn.close();
      }
      // Rate limits off: this test is about the cost limits, not the request budget.
      server = await startRoster(database.target.url, { RATE_LIMIT: '0' });
    });
    after(async () => {
      if (server) {
        server.child.kill('SIGTERM');
        await server.exited;
      }
      await database.drop();
    });

    it("the other organization's GET users/{user}: p99 < 100 ms, no 503", async () => {
      const base = server!.url;
      const noisyStatuses: Record<number, number> = {};
      let stop = false;
      let n = 0;
      const flood = async () => {
        while (!stop) {
          const res = await fetch(`${base}${costlySearch(n++)}`, {
            headers: { authorization: `Bearer ${noisyKey}` },
            signal: AbortSignal.timeout(30_000),
          }).catch(() => undefined);
          if (res) {
            noisyStatuses[res.status] = (noisyStatuses[res.status] ?? 0) + 1;
            await res.arrayBuffer();
          }
        }
      };
      const flooders = Array.from({ length: FLOODERS }, flood);
      await sleep(1_000); // the flood is under way

      const latencies: number[] = [];
      const quietStatuses: Record<number, number> = {};
      const started = Date.now();
      for (let i = 1; Date.now() - started < FLOOD_MS; i++) {
        // A different user each time: every read is a database read, never the cache.
        const t0 = performance.now();
        const res = await fetch(`${base}/api/v1/users/bulk${1 + ((i * 37) % QUIET_USERS)}`, {
          headers: { authorization: `Bearer ${quietKey}` },
          signal: AbortSignal.timeout(30_000),
        });
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
        quietStatuses[res.status] = (quietStatuses[res.status] ?? 0) + 1;
        await sleep(10);
      }
      stop = true;
      await Promise.all(flooders);

      latencies.sort((a, b) => a - b);
      const p50 = percentile(latencies, 0.5);
      const p99 = percentile(latencies, 0.99);
      process.stdout.write(
        `# ${dialect}: quiet GET users/{user} n=${latencies.length} p50=${p50.toFixed(1)} ms p99=${p99.toFixed(1)} ms ` +
          `max=${latencies[latencies.length - 1]!.toFixed(1)} ms statuses=${JSON.stringify(quietStatuses)}; ` +
          `noisy searches ${n} statuses=${JSON.stringify(noisyStatuses)}\n`,
      );
      assert.deepEqual(Object.keys(quietStatuses), ['200'], `quiet statuses ${JSON.stringify(quietStatuses)}`);
      assert.ok(latencies.length >= 50, `only ${latencies.length} quiet requests`);
      assert.ok(p99 < 100, `quiet p99 ${p99.toFixed(1)} ms`);
      // The flood was real: the noisy key's searches were served (or refused with a clean status), never a 500.
      assert.ok(
        !Object.keys(noisyStatuses).some((s) => Number(s) >= 500 && s !== '503'),
        JSON.stringify(noisyStatuses),
      );
    });
  });
}
