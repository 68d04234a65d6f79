import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { connect, type Connection } from '../../src/db/connect.js';
import { createUserService, type UserService } from '../../src/users/user.service.js';
import type { UsersQuery } from '../../src/users/user.schemas.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { searchIndexAnswers } from '../support/search-index.js';
import { insertTestUsers } from '../support/users.js';
import { newUser } from '../support/writes.js';

/**
 * Random sequences of writes and reads through two apps on one database (each with its own answer cache
 * and connection, as two processes have): every answer, body and total, equals the same query computed
 * straight from the database by a service without a cache. The writes go through either app, and some
 * behind both (a writer that bumps write_version last, as test/support/users.ts does).
 */

const RUNS = Number(process.env.ROSTER_PROPERTY_RUNS ?? 20);
/** A failing run's seed, printed by fast-check, replays it: ROSTER_PROPERTY_SEED=277165448. */
const SEED = process.env.ROSTER_PROPERTY_SEED ? Number(process.env.ROSTER_PROPERTY_SEED) : undefined;

// 1-, 2-, 3- and 4+-code-point needles, non-ASCII among them: each path of the search index is in play.
const NEEDLES = [
  'a',
  'an',
  'er',
  'smi',
  'rob',
  'son',
  'x',
  'zz',
  'ande',
  'robert',
  'ß',
  'straß',
  'i̇',
  'é',
  'émi',
  '😀',
  'e😀',
];
const WORDS = [
  'Ann',
  'Robert',
  'Smith',
  'Erin',
  'Xavier',
  'Anderson',
  'Zed',
  'Rob',
  'Straße',
  'İlker',
  'Émile',
  'Smile😀',
];

const queryArb: fc.Arbitrary<UsersQuery> = fc.record(
  {
    username: fc.array(fc.constantFrom(...NEEDLES), { minLength: 1, maxLength: 2 }),
    name: fc.array(fc.constantFrom(...NEEDLES), { minLength: 1, maxLength: 2 }),
    status: fc.array(fc.constantFrom('activated', 'deactivated', 'awaiting_approval' as const), {
      minLength: 1,
      maxLength: 2,
    }),
    role: fc.array(fc.constantFrom('reporting', 'ordering', 'administrator' as const), { minLength: 1, maxLength: 1 }),
    sortby: fc.constantFrom('username', 'name', 'last_login_date', 'last_updated_date' as const),
    sortorder: fc.constantFrom('asc', 'desc' as const),
    pagesize: fc.integer({ min: 1, max: 30 }),
    pagenumber: fc.integer({ min: 1, max: 6 }),
  },
  { requiredKeys: ['pagesize'] },
);

const app = fc.integer({ min: 0, max: 1 });
const user = fc.nat({ max: 10_000 });
const commandArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('list' as const), app, query: fc.nat({ max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('get' as const), app, user }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('patch' as const),
      app,
      user,
      patch: fc.oneof(
        fc.record({ name: fc.constantFrom(...WORDS).map((w) => `${w} Test`) }),
        fc.record({ phone: fc.constantFrom('705-722-4398', '705-722-4399') }),
        fc.record({ username: fc.tuple(fc.constantFrom(...WORDS), fc.nat(999)).map(([w, n]) => `${w}.${n}`) }),
        fc.record({ roles: fc.constantFrom(['reporting'], ['administrator'], ['ordering', 'reporting']) }),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constantFrom('activate' as const, 'deactivate' as const),
      app,
      user,
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('create' as const), app, word: fc.constantFrom(...WORDS) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('behind' as const), word: fc.constantFrom(...WORDS) }) },
);

/** A query with a substring filter at least: the queries the search index answers. */
const searchArb: fc.Arbitrary<UsersQuery> = fc
  .tuple(queryArb, fc.constantFrom(...NEEDLES))
  .map(([query, needle]) => (query.username || query.name ? query : { ...query, name: [needle] }));

/** The query string of a query (repeated parameters for lists). */
function queryString(query: UsersQuery): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) for (const item of [v].flat()) params.append(k, String(item));
  return params.toString();
}

/** The answer cache's kept and dropped counts in an app's /metrics. */
async function cacheCounts(app: FastifyInstance): Promise<{ kept: number; dropped: number }> {
  const text = (await app.inject({ url: '/metrics' })).body;
  const count = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { kept: count('roster_answer_cache_kept_total'), dropped: count('roster_answer_cache_dropped_total') };
}

// Each store of answers on its own: the answer caches (no search index), then the search indexes (no cache,
// every organization indexed, built a few rows per read so that searches also meet an index being built).
const MODES = [
  { store: 'answer caches', queries: queryArb, env: { ROSTER_SEARCH_INDEX: '0' } },
  {
    store: 'search indexes',
    queries: searchArb,
    env: { ROSTER_CACHE_BYTES: '0', ROSTER_SEARCH_INDEX_MIN_USERS: '0', ROSTER_SEARCH_INDEX_CHUNK: '16' },
  },
] as const;

for (const dialect of DIALECTS)
  for (const mode of MODES) {
    describe(`${mode.store} under interleaved writes, two apps on one database (${dialect})`, () => {
      let t: TestApp;
      let secondConn: Connection;
      let second: FastifyInstance;
      let reference: UserService;
      let serial = 0;

      before(async () => {
        // Thousands of requests a minute through one key: no rate limit.
        t = await buildTestApp(dialect, { RATE_LIMIT: '0', ...mode.env });
        secondConn = connect(t.config.database);
        second = await buildApp(t.config, secondConn);
        await second.ready();
        reference = createUserService(t.conn.db, { cacheBytes: 0 });
      });
      after(async () => {
        await second.close();
        await secondConn.close();
        await t.close();
      });

      it('answers every read as the database does: pages, totals and single users', async () => {
        const apps = () => [t.app, second];
        const userIds = async () =>
          (await t.conn.db.selectFrom('users').select('user_id').where('org_id', '=', t.demo.orgId).execute()).map(
            (r) => r.user_id,
          );
        await fc.assert(
          fc.asyncProperty(
            fc.array(mode.queries, { minLength: 4, maxLength: 4 }),
            fc.array(commandArb, { minLength: 30, maxLength: 80 }),
            async (queries, commands) => {
              let ids = await userIds();
              for (const [step, c] of commands.entries()) {
                const where = `step ${step}: ${JSON.stringify(c)}`;
                if (c.op === 'list') {
                  const query = queries[c.query]!;
                  const res = await apps()[c.app]!.inject({
                    url: `/api/v1/users?${queryString(query)}`,
                    headers: bearer(t.demo.admin),
                  });
                  assert.equal(res.statusCode, 200, `${where}: ${res.body}`);
                  const expected = await reference.listUsers(t.demo.orgId, query, '');
                  assert.equal(typeof expected.body, 'string');
                  assert.deepEqual(res.json(), JSON.parse(expected.body as string), where);
                } else if (c.op === 'get') {
                  const id = ids[c.user % ids.length]!;
                  const res = await apps()[c.app]!.inject({
                    url: `/api/v1/users/${id}`,
                    headers: bearer(t.demo.admin),
                  });
                  assert.equal(res.statusCode, 200, `${where}: ${res.body}`);
                  assert.equal(res.body, (await reference.getUserAnswer(t.demo.orgId, id)).body, where);
                } else if (c.op === 'behind') {
                  await insertTestUsers(t.conn, t.demo.orgId, [
                    {
                      username: `${c.word.toLowerCase()}.behind.${serial++}`,
                      name: `${c.word} Behind`,
                      status: 'activated',
                    },
                  ]);
                  ids = await userIds();
                } else if (c.op === 'create') {
                  const res = await apps()[c.app]!.inject({
                    method: 'POST',
                    url: '/api/v1/users',
                    headers: bearer(t.demo.admin),
                    payload: newUser(`${c.word.toLowerCase()}.new.${serial++}`, { name: `${c.word} New` }),
                  });
                  assert.equal(res.statusCode, 201, `${where}: ${res.body}`);
                  ids = await userIds();
                } else {
                  const id = ids[c.user % ids.length]!;
                  const res = await apps()[c.app]!.inject({
                    method: c.op === 'patch' ? 'PATCH' : c.op === 'activate' ? 'PUT' : 'DELETE',
                    url: `/api/v1/users/${id}${c.op === 'patch' ? '' : `/${c.op}`}`,
                    headers: bearer(t.demo.admin),
                    ...(c.op === 'patch' ? { payload: c.patch } : {}),
                  });
                  // A taken username or a rule of the write may refuse it: then nothing changed.
                  assert.ok(res.statusCode < 500, `${where}: ${res.body}`);
                }
              }
            },
          ),
          { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
        );
        if (mode.store === 'search indexes') {
          // The property would hold trivially if the database answered every search: the indexes must have.
          const answers = (await Promise.all([t.app, second].map(searchIndexAnswers))).map((a) => a.index);
          assert.ok(
            answers.every((n) => n > 0),
            `answered by the index: ${answers.join(', ')}`,
          );
          return;
        }
        // The property would hold trivially if every older answer were dropped: some must have been kept.
        const counts = await Promise.all([t.app, second].map(cacheCounts));
        const kept = counts.reduce((n, c) => n + c.kept, 0);
        const dropped = counts.reduce((n, c) => n + c.dropped, 0);
        assert.ok(kept > 0 && dropped > 0, `kept ${kept}, dropped ${dropped}`);
      });
    });
  }
