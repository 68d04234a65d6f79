import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { CHANGE_LOG_VERSIONS_KEPT } from '../../src/db/migrations/010_change_log.js';
import { bumpWriteVersion } from '../../src/orgs/org.repository.js';
import { userToRow } from '../../src/users/user.mapper.js';
import { insertUser } from '../../src/users/user.repository.js';
import { createUserService, type UserService } from '../../src/users/user.service.js';
import type { UsersQuery } from '../../src/users/user.schemas.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import {
  awaitSearchIndex,
  searchIndexAnswers,
  searchIndexReadiness,
  type SearchIndexReadiness,
} from '../support/search-index.js';
import { insertTestUsers, testUsers, type TestUser } from '../support/users.js';
import { caller } from '../support/writes.js';

/**
 * The search index of a process that starts cold: correct answers while it builds (a build made slow by
 * reading one row per query), its progress in /readyz and /metrics, and a rebuild after a bulk change.
 */

const QUERIES: UsersQuery[] = [
  { username: ['an'], pagesize: 7 },
  { name: ['person 1'], sortby: 'name', sortorder: 'desc', pagesize: 5, pagenumber: 3 },
  { username: ['k'], status: ['activated'], sortby: 'last_login_date', pagesize: 10 },
  { name: ['erso', 'mit'], sortby: 'last_updated_date', sortorder: 'desc', pagesize: 3, pagenumber: 2 },
  { name: ['person'], pagesize: 2000, pagenumber: 2 },
];

// The one-character search (a scan of every row) is the database's, off the event loop's thread: the index
// answers the other four.
const INDEXED = QUERIES.length - 1;

const people = (prefix: string, count: number): TestUser[] =>
  Array.from({ length: count }, (_, i) => ({
    username: `${prefix}.${i}`,
    name: `${prefix} Person ${i}`,
    status: i % 4 === 0 ? 'deactivated' : 'activated',
    last_login_date: i % 3 === 0 ? null : `2024-0${1 + (i % 9)}-01T00:00:00.0000000`,
  }));

for (const dialect of DIALECTS) {
  describe(`a search index built while the process answers (${dialect})`, () => {
    let t: TestApp;
    let reference: UserService;
    let call: ReturnType<typeof caller>;
    before(async () => {
      t = await buildTestApp(dialect, {
        ROSTER_SEARCH_INDEX_MIN_USERS: '0',
        ROSTER_SEARCH_INDEX_CHUNK: '1',
        ROSTER_CACHE_BYTES: '0',
        RATE_LIMIT: '0',
      });
      reference = createUserService(t.conn.db, { cacheBytes: 0 });
      call = caller(t, t.demo.admin);
      await insertTestUsers(t.conn, t.demo.orgId, people('cold', 400));
    });
    after(() => t.close());

    /** Every query's answer (body and total) through the app equals the database's. */
    const checkAnswers = async (what: string) => {
      for (const query of QUERIES) {
        const params = new URLSearchParams();
        for (const [k, v] of Object.entries(query)) for (const item of [v].flat()) params.append(k, String(item));
        const res = await t.app.inject({ url: `/api/v1/users?${params}`, headers: bearer(t.demo.read) });
        assert.equal(res.statusCode, 200, res.body);
        const expected = await reference.listUsers(t.demo.orgId, query, '');
        assert.deepEqual(res.json(), JSON.parse(expected.body as string), `${what}: ${params}`);
      }
    };

    /** Answers and progress until the index is ready: every answer exact, and the progress seen. */
    const answerUntilReady = async (what: string): Promise<SearchIndexReadiness[]> => {
      const seen: SearchIndexReadiness[] = [];
      for (let tries = 0; tries < 600; tries++) {
        const progress = await searchIndexReadiness(t.app);
        seen.push(progress);
        if (progress.state === 'ready' && progress.organizations_ready > 0) return seen;
        await checkAnswers(`${what}, ${progress.rows_indexed} of ${progress.rows_total} rows indexed`);
        await delay(5);
      }
      throw new Error('the index was not ready in time');
    };

    it('says on /readyz that it builds, and how far, while every answer stays exact; then ready', async () => {
      const cold = await searchIndexReadiness(t.app);
      assert.deepEqual(cold, {
        state: 'ready',
        organizations_ready: 0,
        organizations_building: 0,
        rows_indexed: 0,
        rows_total: 0,
      });
      await checkAnswers('the first searches'); // they start the build
      const seen = await answerUntilReady('while building');
      const users = 165 + 400;
      assert.ok(
        seen.some((p) => p.state === 'building' && p.rows_total === users && p.rows_indexed < users),
        JSON.stringify(seen.slice(0, 3)),
      );
      assert.deepEqual(seen.at(-1), {
        state: 'ready',
        organizations_ready: 1,
        organizations_building: 0,
        rows_indexed: users,
        rows_total: users,
      });
      const before = await searchIndexAnswers(t.app);
      await checkAnswers('built');
      const after = await searchIndexAnswers(t.app);
      assert.equal(after.index - before.index, INDEXED, 'every search of 2+ characters answered by the index');
      const metrics = (await t.app.inject({ url: '/metrics' })).body;
      assert.match(metrics, new RegExp(`^roster_search_index_rows ${users}$`, 'm'));
      assert.match(metrics, /^roster_search_index_building 0$/m);
      assert.match(metrics, /^roster_search_index_bytes [1-9]/m);
    });

    it('rebuilds after a bulk change the change log cannot replay, answering exactly meanwhile', async () => {
      await awaitSearchIndex(t.app, t.demo.read);
      // Over 100 rows in one version: the log holds a marker. A writer that bumps last, then one that bumps first.
      await insertTestUsers(t.conn, t.demo.orgId, people('bulk', 150));
      await checkAnswers('after a bulk insert');
      await answerUntilReady('rebuilding after a bulk insert');
      await t.conn.db.transaction().execute(async (trx) => {
        await bumpWriteVersion(trx, t.demo.orgId);
        for (const user of testUsers(people('first', 120))) await insertUser(trx, userToRow(t.demo.orgId, user, 1));
      });
      await checkAnswers('after a bulk insert that bumped first');
      await answerUntilReady('rebuilding after it');
      const before = await searchIndexAnswers(t.app);
      await checkAnswers('rebuilt');
      assert.equal((await searchIndexAnswers(t.app)).index - before.index, INDEXED, 'the index answers again');
      const { n } = await t.conn.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('org_id', '=', t.demo.orgId)
        .executeTakeFirstOrThrow();
      assert.equal((await searchIndexReadiness(t.app)).rows_indexed, Number(n));
    });

    /** Renames user `cold.{i}` through the API (a logged change the index applies), one write version each. */
    const rename = async (i: number, serial: number) => {
      const res = await call('PATCH', `users/cold.${i}`, { body: { name: `cold Person ${i} v${serial}` } });
      assert.equal(res.statusCode, 200, res.body);
    };

    it('follows the log without searches: more writes than the log keeps, then answers at once', async () => {
      await awaitSearchIndex(t.app, t.demo.read);
      // The earlier test's bulk insert left a marker at the index's own version: a write after it cannot
      // tell whether the index holds that marker's rows, and rebuilds once. Let that happen first.
      await rename(0, -1);
      await checkAnswers('after the first write');
      await answerUntilReady('settled');
      const writes = CHANGE_LOG_VERSIONS_KEPT + 100;
      for (let w = 0; w < writes; w++) {
        await rename(w % 400, w);
        // Now and then let the clock move, as writes spread over time do (the index follows on a timer).
        if (w % 100 === 99) await delay(150);
      }
      await delay(150);
      const before = await searchIndexAnswers(t.app);
      await checkAnswers(`after ${writes} writes and no search`);
      const after = await searchIndexAnswers(t.app);
      assert.equal(after.index - before.index, INDEXED, 'the index answers: it did not fall behind the log');
      // (A compaction may start now: over a quarter of the slots changed. The old index answers meanwhile.)
    });

    it('finishes a build while writes go on, past what the log keeps during the build', async () => {
      await awaitSearchIndex(t.app, t.demo.read);
      // A bulk insert (a marker in the log) makes the next search start a rebuild: one row per read, slow.
      await insertTestUsers(
        t.conn,
        t.demo.orgId,
        // Enough rows that the build (one row per read) outlasts a thousand writes; SQLite's writes are quicker.
        Array.from({ length: dialect === 'sqlite' ? 1500 : 3000 }, (_, i) => ({
          username: `sustained.${i}`,
          name: `Sustained ${i}`,
        })),
      );
      await checkAnswers('after a bulk insert');
      // Writes for as long as it builds: a build that cannot keep up with the log never ends.
      let during = 0;
      while ((await searchIndexReadiness(t.app)).state === 'building') await rename(during % 400, 10_000 + during++);
      assert.ok(during > CHANGE_LOG_VERSIONS_KEPT, `${during} writes while building: more than the log keeps`);
      await answerUntilReady('after the writes');
      const before = await searchIndexAnswers(t.app);
      await checkAnswers('built under writes');
      assert.equal((await searchIndexAnswers(t.app)).index - before.index, INDEXED, 'the index answers');
    });
  });
}
