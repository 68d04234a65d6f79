import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseDatabaseUrl } from '../../src/config.js';
import { DIALECTS } from '../support/databases.js';
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres.js';
import { newUser, prepareDatabase, sleep, startRoster, type RosterProcess } from './support.js';

interface Outcome {
  readonly at: number;
  readonly status: number | 'hang' | 'network';
  readonly retryAfter?: string | null;
  readonly contentType?: string | null;
  readonly body?: string;
}

const WORKERS = 6;
const CLIENT_TIMEOUT_MS = 10_000;

describe(
  'a PostgreSQL restart under load (postgres, private cluster)',
  { skip: !DIALECTS.includes('postgres') && 'ROSTER_TEST_DIALECTS has no postgres' },
  () => {
    let cluster: PrivatePostgres;
    let roster: RosterProcess | undefined;
    before(async () => {
      cluster = await startPrivatePostgres();
    });
    after(async () => {
      if (roster && roster.child.exitCode === null) {
        roster.child.kill('SIGTERM');
        await roster.exited;
      }
      await cluster.destroy();
    });

    it('answers 503 with Retry-After while the database is away (never a hang, never internals), then recovers by itself', async () => {
      const url = await cluster.createDatabase('roster');
      const { write } = await prepareDatabase(parseDatabaseUrl(url));
      // Counters in the database too (RATE_LIMIT high, no Redis): the limiter must also fail as a 503.
      roster = await startRoster(url, { RATE_LIMIT: '1000000', PG_POOL_SIZE: '4' });
      const base = roster.url;
      const outcomes: Outcome[] = [];
      let running = true;
      let sequence = 0;
      const request = async (w: number) => {
        const post = sequence % 3 === 0;
        const init: RequestInit = post
          ? {
              method: 'POST',
              body: JSON.stringify(newUser(`restart.${w}.${sequence++}`)),
              headers: { authorization: `Bearer ${write}`, 'content-type': 'application/json' },
            }
          : { headers: { authorization: `Bearer ${write}` } };
        if (!post) sequence++;
        try {
          const res = await fetch(post ? `${base}/api/v1/users` : `${base}/api/v1/users?pagesize=5`, {
            ...init,
            signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
          });
          const body = await res.text();
          outcomes.push({
            at: Date.now(),
            status: res.status,
            retryAfter: res.headers.get('retry-after'),
            contentType: res.headers.get('content-type'),
            body,
          });
        } catch (error) {
          outcomes.push({
            at: Date.now(),
            status: (error as Error).name === 'TimeoutError' ? 'hang' : 'network',
            body: String(error),
          });
        }
      };
      const workers = Array.from({ length: WORKERS }, async (_, w) => {
        while (running) {
          await request(w);
          await sleep(5);
        }
      });

      await sleep(1000);
      const stoppedAt = Date.now();
      await cluster.stop();
      await sleep(500);
      const notReady = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
      assert.equal(notReady.status, 503);
      assert.ok(Number(notReady.headers.get('retry-after')) >= 1);
      await sleep(2000);
      await cluster.start();
      const restartedAt = Date.now();
      // Recovered: every request answered in the last stretch succeeded, within 20 s of the restart.
      let recoveredAt = 0;
      while (Date.now() - restartedAt < 20_000) {
        await sleep(250);
        const recent = outcomes.filter((o) => o.at > Date.now() - 1000);
        if (recent.length >= 5 && recent.every((o) => o.status === 200 || o.status === 201)) {
          recoveredAt = Date.now();
          break;
        }
      }
      running = false;
      await Promise.all(workers);

      const counts: Record<string, number> = {};
      for (const o of outcomes) counts[String(o.status)] = (counts[String(o.status)] ?? 0) + 1;
      process.stdout.write(
        `# outcomes ${JSON.stringify(counts)}; recovered ${recoveredAt ? recoveredAt - restartedAt : 'never'} ms after the restart\n`,
      );

      const unexpected = outcomes.filter((o) => ![200, 201, 503].includes(o.status as number));
      assert.deepEqual(
        unexpected.slice(0, 3),
        [],
        `answers other than 200/201/503: ${JSON.stringify(counts)}\n${roster.output().slice(-3000)}`,
      );
      const unavailable = outcomes.filter((o) => o.status === 503);
      assert.ok(unavailable.length > 0, 'no 503 while the database was stopped');
      assert.ok(
        unavailable.every((o) => o.at >= stoppedAt),
        'a 503 before the database stopped',
      );
      for (const o of unavailable) {
        assert.ok(Number(o.retryAfter) >= 1, `503 without Retry-After: ${o.body}`);
        assert.match(String(o.contentType), /^application\/problem\+json/);
        const problem = JSON.parse(o.body!);
        assert.equal(problem.code, 'SERVICE_UNAVAILABLE');
        assert.doesNotMatch(
          o.body!,
          /ECONN|terminat|postgres|pg_|sql|\.ts:\d|\.js:\d|node_modules|\/work\/|\/tmp\//i,
          o.body,
        );
      }
      assert.ok(recoveredAt > 0, `Roster did not recover by itself: ${JSON.stringify(counts)}`);
      const ready = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(5000) });
      assert.equal(ready.status, 200);
    });
  },
);
