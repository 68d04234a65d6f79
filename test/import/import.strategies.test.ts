import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { ImportBatchError, ImportFileError } from '../../src/import/import.errors.js';
import { createKeyService } from '../../src/auth/key.service.js';
import { createOrgService } from '../../src/orgs/org.service.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { auditCount, caller, newUser, writeVersionOf } from '../support/writes.js';
import { importFile, tempFile } from './helpers.js';

/** A user row of an NDJSON import file. */
interface FileUser {
  username: string;
  name: string;
  call_detail_level: 'full' | 'no_caller' | 'no_call';
  status: 'activated' | 'awaiting_approval' | 'deactivated';
  roles: string[];
  access: { billing_groups: string[]; group_owners: string[] };
}

const LEVELS = ['full', 'no_caller', 'no_call'] as const;

/**
 * `count` users of a first load: names searchable by substring ("Zebra", "Émile"), every status, two role
 * sets, and access lists naming billing groups bg, bg+1 and group g (created by --create-missing).
 */
function people(count: number, prefix: string, ids: { bg: number; g: number }): FileUser[] {
  return Array.from({ length: count }, (_, i) => ({
    username: `${prefix}${String(i).padStart(3, '0')}`,
    name: i % 7 === 0 ? `Zebra Keeper ${i}` : i % 50 === 1 ? `Émile Number ${i}` : `Person ${i}`,
    call_detail_level: LEVELS[i % 3]!,
    status: i % 5 === 0 ? 'deactivated' : i % 5 === 1 ? 'awaiting_approval' : 'activated',
    roles: i % 4 === 0 ? ['ordering', 'reporting'] : ['reporting'],
    access: {
      billing_groups: i % 4 === 0 ? [String(ids.bg), String(ids.bg + 1)] : i % 4 === 1 ? [String(ids.bg)] : [],
      group_owners: i % 6 === 0 ? [String(ids.g)] : [],
    },
  }));
}

const goodLine = (n: number) =>
  JSON.stringify({ username: `g${n}`, name: `Good ${n}`, call_detail_level: 'full', roles: ['reporting'] });
/** An NDJSON file's lines: good users, and bad rows on lines 2 (a bad level), 5 (not JSON), 8 (names g1 again) and 9 (no roles). */
const MIXED_LINES = [
  goodLine(1),
  JSON.stringify({ username: 'b2', name: 'Bad', call_detail_level: 'everything', roles: ['reporting'] }),
  goodLine(3),
  goodLine(4),
  '{"username": "b5",',
  goodLine(6),
  goodLine(7),
  JSON.stringify({ username: 'G1', name: 'Same as line 1', call_detail_level: 'full', roles: ['reporting'] }),
  JSON.stringify({ username: 'b9', name: 'No roles', call_detail_level: 'full' }),
  goodLine(10),
];
const ndjson = (rows: readonly object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const usernames = (rows: readonly { username: string }[]) => rows.map((r) => r.username).sort();

for (const dialect of DIALECTS) {
  describe(`roster import: first load into an empty organization (${dialect})`, () => {
    let t: TestApp;
    let orgN = 0;
    before(async () => {
      t = await buildTestApp(dialect);
    });
    after(async () => t.close());

    /** A fresh, empty organization with an admin key; its billing group / group ids for --create-missing are its own. */
    async function freshOrg() {
      const orgId = await createOrgService(t.conn.db).createOrganization(`first${++orgN}`);
      const key = (await createKeyService(t.conn.db).createApiKey(orgId, 'admin')).key;
      return { orgId, key, ids: { bg: 900_000 + orgN * 100, g: 950_000 + orgN * 100 } };
    }
    const list = async (key: string, query = '') => {
      const res = await t.app.inject({ url: `/api/v1/users?pagesize=10000${query}`, headers: bearer(key) });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json<{ paging: { total: number }; results: { username: string; name: string }[] }>();
      return { total: body.paging.total, usernames: body.results.map((u) => u.username) };
    };
    const total = async (key: string, query = '') => (await list(key, query)).total;
    /** The organization's usernames, straight from the table. */
    const stored = async (orgId: number) =>
      (await t.conn.db.selectFrom('users').select('username').where('org_id', '=', orgId).execute())
        .map((r) => r.username)
        .sort();
    /** SQLite: every index and trigger of the schema, with its SQL. */
    const schema = async () =>
      (
        await sql<{
          type: string;
          name: string;
          sql: string | null;
        }>`select type, name, sql from sqlite_master where type in ('index', 'trigger') order by name`.execute(
          t.conn.db,
        )
      ).rows;
    /** SQLite: the trigram index is sound and holds exactly the users' folds (rank 1 compares it with the users table). */
    async function assertSearchIndexSound() {
      await sql`insert into users_trgm(users_trgm) values ('integrity-check')`.execute(t.conn.db);
      await sql`insert into users_trgm(users_trgm, rank) values ('integrity-check', 1)`.execute(t.conn.db);
      const { rows } = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(t.conn.db);
      assert.deepEqual(
        rows.map((r) => r.integrity_check),
        ['ok'],
      );
    }
    /** user_counts of the organization, as bucket totals (PostgreSQL keeps signed deltas: summed). */
    const countsOf = async (orgId: number) => {
      const rows = await t.conn.db
        .selectFrom('user_counts')
        .select(['status', 'roles_mask', 'n'])
        .where('org_id', '=', orgId)
        .execute();
      const sums = new Map<string, number>();
      for (const r of rows)
        sums.set(`${r.status}/${r.roles_mask}`, (sums.get(`${r.status}/${r.roles_mask}`) ?? 0) + Number(r.n));
      return [...sums].filter(([, n]) => n !== 0).sort(([a], [b]) => (a < b ? -1 : 1));
    };
    const actualCounts = async (orgId: number) =>
      (
        await t.conn.db
          .selectFrom('users')
          .select((eb) => ['status', 'roles_mask', eb.fn.countAll<number>().as('n')])
          .where('org_id', '=', orgId)
          .groupBy(['status', 'roles_mask'])
          .execute()
      )
        .map((r): [string, number] => [`${r.status}/${r.roles_mask}`, Number(r.n)])
        .sort(([a], [b]) => (a < b ? -1 : 1));
    /** The organization's counts are exact and (SQLite) the schema is as it was, with a sound trigram index. */
    async function assertIntact(orgId: number, schemaBefore: Awaited<ReturnType<typeof schema>>): Promise<void> {
      assert.deepEqual(await countsOf(orgId), await actualCounts(orgId));
      if (dialect === 'sqlite') {
        assert.deepEqual(await schema(), schemaBefore);
        await assertSearchIndexSound();
      }
    }

    /** Makes inserting this username into this organization fail inside the database; returns the undo. */
    async function refuseInsertOf(orgId: number, username: string): Promise<() => Promise<void>> {
      const name = `refuse_${orgId}`;
      const when = `new.org_id = ${orgId} and new.username = '${username}'`;
      if (dialect === 'sqlite') {
        await sql
          .raw(
            `create trigger ${name} before insert on users when ${when} begin select raise(abort, 'injected failure'); end`,
          )
          .execute(t.conn.db);
        return async () => void (await sql.raw(`drop trigger ${name}`).execute(t.conn.db));
      }
      await sql
        .raw(
          `create function ${name}() returns trigger language plpgsql as $$ begin raise exception 'injected failure'; end $$`,
        )
        .execute(t.conn.db);
      await sql
        .raw(`create trigger ${name} before insert on users for each row when (${when}) execute function ${name}()`)
        .execute(t.conn.db);
      return async () => {
        await sql.raw(`drop trigger ${name} on users`).execute(t.conn.db);
        await sql.raw(`drop function ${name}()`).execute(t.conn.db);
      };
    }

    if (dialect === 'sqlite') {
      it('a first load sets the indexes and insert triggers aside and puts every one back exactly; the trigram index and database are sound', async () => {
        const { orgId, ids } = await freshOrg();
        const rows = people(300, 'keep', ids);
        const before = await schema();
        assert.ok(
          before.some((r) => r.name === 'users_trgm_ai') && before.some((r) => r.name === 'users_counts_ai'),
          'the insert triggers exist to begin with',
        );
        assert.ok(
          before.filter((r) => r.type === 'index' && r.sql !== null).length > 3,
          'there are secondary indexes to set aside',
        );
        const run = await importFile(t.conn, orgId, tempFile('keep.ndjson', ndjson(rows)), {
          createMissing: true,
          batchSize: 64,
        });
        assert.deepEqual(run.messages, []);
        assert.deepEqual(run.counts, { imported: 300, updated: 0, unchanged: 0, rejected: 0 });
        assert.deepEqual(await schema(), before);
        await assertSearchIndexSound();
        // The rebuild's larger FTS5 hashsize was put back to FTS5's default (1 MB), so later writes flush as before.
        const config = await sql<{
          k: string;
          v: unknown;
        }>`select k, v from users_trgm_config where k = 'hashsize'`.execute(t.conn.db);
        assert.deepEqual(
          config.rows.map((r) => Number(r.v)),
          [1024 * 1024],
        );
        assert.deepEqual(await countsOf(orgId), await actualCounts(orgId));
        // The access join tables were filled too (their indexes were set aside while they were).
        const bgRows = await t.conn.db
          .selectFrom('user_billing_groups')
          .select('user_pk')
          .where('org_id', '=', orgId)
          .execute();
        assert.equal(
          bgRows.length,
          rows.reduce((n, r) => n + r.access.billing_groups.length, 0),
        );
        const goRows = await t.conn.db
          .selectFrom('user_group_owners')
          .select('user_pk')
          .where('org_id', '=', orgId)
          .execute();
        assert.equal(
          goRows.length,
          rows.reduce((n, r) => n + r.access.group_owners.length, 0),
        );
      });
    }

    it('after a first load the API answers from the restored indexes and counts: totals, status and role totals, substring searches, access filters, one user', async () => {
      const { orgId, key, ids } = await freshOrg();
      const rows = people(300, 'member', ids);
      const run = await importFile(t.conn, orgId, tempFile('members.ndjson', ndjson(rows)), {
        createMissing: true,
        batchSize: 64,
      });
      assert.deepEqual(run.counts, { imported: 300, updated: 0, unchanged: 0, rejected: 0 });

      assert.deepEqual(await list(key), { total: 300, usernames: usernames(rows) });
      for (const status of ['activated', 'awaiting_approval', 'deactivated'] as const) {
        const expected = rows.filter((r) => r.status === status).length;
        assert.ok(expected > 0);
        assert.equal(await total(key, `&status=${status}`), expected, status);
      }
      assert.equal(await total(key, '&role=ordering'), rows.filter((r) => r.roles.includes('ordering')).length);
      assert.equal(
        await total(key, '&status=deactivated&role=ordering'),
        rows.filter((r) => r.status === 'deactivated' && r.roles.includes('ordering')).length,
      );

      const searches: [string, (r: FileUser) => boolean][] = [
        ['&name=zebra', (r) => r.name.startsWith('Zebra')],
        ['&name=%C3%89MILE', (r) => r.name.startsWith('Émile')], // ÉMILE
        ['&name=keeper%2014', (r) => r.name.includes('Keeper 14')], // "keeper 14": 14, 140, 147
        ['&username=ber12', (r) => r.username.includes('ber12')],
        ['&username=mber29&name=zebra', (r) => r.username.includes('mber29') && r.name.startsWith('Zebra')],
        ['&username=nobody', () => false],
      ];
      for (const [query, match] of searches) {
        const expected = usernames(rows.filter(match));
        assert.deepEqual(await list(key, query), { total: expected.length, usernames: expected }, query);
      }
      assert.ok(usernames(rows.filter((r) => r.name.startsWith('Zebra'))).length > 40, 'the searches find many users');

      const bgExpected = usernames(rows.filter((r) => r.access.billing_groups.includes(String(ids.bg + 1))));
      assert.deepEqual(await list(key, `&billing_group=${ids.bg + 1}`), {
        total: bgExpected.length,
        usernames: bgExpected,
      });
      const goExpected = usernames(rows.filter((r) => r.access.group_owners.length > 0));
      assert.deepEqual(await list(key, `&group_owner=${ids.g}`), { total: goExpected.length, usernames: goExpected });

      const one = await t.app.inject({ url: '/api/v1/users/MEMBER120', headers: bearer(key) });
      assert.equal(one.statusCode, 200, one.body);
      const user = one.json();
      const want = rows[120]!;
      assert.deepEqual(
        {
          username: user.username,
          name: user.name,
          call_detail_level: user.call_detail_level,
          status: user.status,
          roles: user.roles,
          access: user.access,
        },
        {
          username: want.username,
          name: want.name,
          call_detail_level: want.call_detail_level,
          status: want.status,
          roles: want.roles,
          access: want.access,
        },
      );
      const byId = await t.app.inject({ url: `/api/v1/users/${user.user_id}`, headers: bearer(key) });
      assert.equal(byId.body, one.body);
      if (dialect === 'sqlite') await assertSearchIndexSound();
    });

    it('after a first load, API writes keep the trigram index and the counts in step (the insert triggers are back)', async () => {
      const { orgId, key, ids } = await freshOrg();
      const rows = people(120, 'later', ids);
      await importFile(t.conn, orgId, tempFile('later.ndjson', ndjson(rows)), { createMissing: true, batchSize: 50 });
      const api = caller(t, key);
      const zebras = await total(key, '&name=zebra');
      const awaiting = await total(key, '&status=awaiting_approval');
      const activated = await total(key, '&status=activated');

      const created = await api('POST', 'users', {
        body: newUser('quokka.newcomer', { name: 'Zebra Quokka Newcomer' }),
      });
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(await total(key), 121);
      assert.equal(await total(key, '&status=awaiting_approval'), awaiting + 1);
      assert.equal(await total(key, '&name=zebra'), zebras + 1);
      assert.deepEqual(await list(key, '&name=quokka'), { total: 1, usernames: ['quokka.newcomer'] });
      assert.deepEqual(await list(key, '&username=okka.new'), { total: 1, usernames: ['quokka.newcomer'] });

      // Renaming an imported user takes its old folds out of the trigram index (as the rebuild wrote them) and puts the new ones in.
      const renamed = await api('PATCH', 'users/later002', { body: { name: 'Wombat Two' } });
      assert.equal(renamed.statusCode, 200, renamed.body);
      assert.deepEqual(await list(key, '&name=wombat'), { total: 1, usernames: ['later002'] });
      const person2 = usernames(rows.filter((r) => r.name.includes('Person 2') && r.username !== 'later002'));
      assert.deepEqual(await list(key, '&name=person%202'), { total: person2.length, usernames: person2 });
      // Activating the new user moves it between the counted buckets.
      const activatedNow = await api('PUT', 'users/quokka.newcomer/activate');
      assert.equal(activatedNow.statusCode, 200, activatedNow.body);
      assert.equal(await total(key, '&status=awaiting_approval'), awaiting);
      assert.equal(await total(key, '&status=activated'), activated + 1);
      assert.deepEqual(await countsOf(orgId), await actualCounts(orgId));
      if (dialect === 'sqlite') await assertSearchIndexSound();
    });

    it('a first load that fails in the database mid-way rolls everything back: no users, same write_version, the schema intact', async () => {
      const { orgId, key, ids } = await freshOrg();
      const rows = Array.from({ length: 300 }, (_, i) => ({
        username: `u${i + 1}`,
        name: `Failing ${i + 1}`,
        call_detail_level: 'full',
        roles: ['reporting'],
        access: { billing_groups: i % 10 === 0 ? [String(ids.bg + Math.floor(i / 10))] : [], group_owners: [] },
      }));
      const file = tempFile('fails.ndjson', ndjson(rows)); // u150 is on line 150, in the third batch of 50 (lines 101-150)
      const version = await writeVersionOf(t, orgId);
      const audits = await auditCount(t, orgId);
      const schemaBefore = dialect === 'sqlite' ? await schema() : [];
      const undo = await refuseInsertOf(orgId, 'u150');
      let failure: unknown;
      let schemaDuring: Awaited<ReturnType<typeof schema>> = [];
      try {
        const withTrigger = dialect === 'sqlite' ? await schema() : [];
        await assert.rejects(
          importFile(t.conn, orgId, file, { createMissing: true, batchSize: 50 }),
          (error) => ((failure = error), true),
        );
        if (dialect === 'sqlite') {
          schemaDuring = await schema();
          assert.deepEqual(schemaDuring, withTrigger);
        }
      } finally {
        await undo();
      }
      // An ImportBatchError with the database's error as its cause, naming the failing batch's first line (SQLite);
      // PostgreSQL moves every staged user in one statement at the end, so the failure is the whole file's.
      assert.ok(failure instanceof ImportBatchError, String(failure));
      assert.equal(failure.line, dialect === 'sqlite' ? 101 : 1);
      assert.ok(failure.cause instanceof Error);
      assert.equal(failure.cause.message, 'injected failure');
      const bgs = async () =>
        (await t.conn.db.selectFrom('billing_groups').select('id').where('org_id', '=', orgId).execute()).length;
      // One transaction: nothing stays.
      assert.match(
        failure.message,
        /; nothing was imported: a first load into an organization with no users is one transaction$/,
      );
      assert.deepEqual(await stored(orgId), []);
      assert.equal(await writeVersionOf(t, orgId), version);
      assert.equal(await bgs(), 0, 'the billing groups --create-missing made are gone too');
      assert.deepEqual(await countsOf(orgId), []);
      assert.equal(await auditCount(t, orgId), audits, 'no import audit entry');
      assert.equal(await total(key), 0);
      if (dialect === 'sqlite') {
        assert.deepEqual(
          schemaDuring.filter((r) => r.name !== `refuse_${orgId}`),
          schemaBefore,
        );
        assert.deepEqual(await schema(), schemaBefore);
        await assertSearchIndexSound();
      }
      // Re-running the same file finishes the job.
      const again = await importFile(t.conn, orgId, file, { createMissing: true, batchSize: 50 });
      assert.deepEqual(again.counts, { imported: 300, updated: 0, unchanged: 0, rejected: 0 });
      assert.equal(await total(key), 300);
      assert.deepEqual(await list(key, '&name=failing%20150'), { total: 1, usernames: ['u150'] });
      await assertIntact(orgId, schemaBefore);
    });

    it('a file malformed part-way keeps every row read before the problem (a first load too: its indexes rebuilt)', async () => {
      const { orgId, key } = await freshOrg();
      const good = Array.from({ length: 200 }, (_, i) => `m${i + 1},Malformed ${i + 1},full,reporting`);
      const rest = Array.from({ length: 50 }, (_, i) => `late${i},Late,full,reporting`);
      // Line 202 opens a quote that never closes.
      const file = tempFile(
        'malformed.csv',
        ['username,name,call_detail_level,roles', ...good, 'oops,"never closed,full,reporting', ...rest, ''].join('\n'),
      );
      const version = await writeVersionOf(t, orgId);
      const schemaBefore = dialect === 'sqlite' ? await schema() : [];
      await assert.rejects(importFile(t.conn, orgId, file, { batchSize: 50 }), (error) => {
        assert.ok(error instanceof ImportFileError, String(error));
        assert.match(error.message, /line 202: a quoted field starts in this row and is never closed/);
        assert.equal(error.line, 202);
        assert.deepEqual(error.counts, { imported: 200, updated: 0, unchanged: 0, rejected: 0 });
        return true;
      });
      // Every row before the break, in whole batches: the parser's error does not drop the records it had parsed.
      const landed = 200;
      assert.deepEqual(await stored(orgId), good.map((r) => r.split(',')[0]!).sort());
      // Each batch bumps write_version; a first load also bumps it once as it takes the write lock.
      assert.equal(await writeVersionOf(t, orgId), version + landed / 50 + 1);
      assert.equal(await total(key), landed);
      assert.equal(await total(key, '&status=awaiting_approval'), landed);
      assert.deepEqual(await list(key, '&name=malformed%2050'), { total: 1, usernames: ['m50'] });
      await assertIntact(orgId, schemaBefore);
    });

    it('a file malformed before any row lands fails with its message and writes nothing (a first load does not swallow the error)', async () => {
      const { orgId } = await freshOrg();
      const schemaBefore = dialect === 'sqlite' ? await schema() : [];
      const version = await writeVersionOf(t, orgId);
      const cases: [string, string, RegExp][] = [
        ['header.csv', 'username,name,colour\nx,X,red\n', /unknown column "colour" in the header/],
        [
          'quote.csv',
          'username,name,call_detail_level,roles\nfirst,"never closed,full,reporting\nsecond,S,full,reporting\n',
          /line 2: a quoted field starts in this row and is never closed/,
        ],
        [
          'array.json',
          // Cut inside its first element (an array cut after a whole element imports that element).
          '[{"username": "a", "name": "A", "call_detail_level": "full", "roles": ["report',
          /not a JSON array of user objects/,
        ],
      ];
      for (const [name, content, message] of cases) {
        await assert.rejects(
          importFile(t.conn, orgId, tempFile(name, content), { batchSize: 50 }),
          (error) => {
            assert.ok(error instanceof ImportFileError, `${name}: ${String(error)}`);
            assert.match(error.message, message);
            return true;
          },
          name,
        );
      }
      assert.deepEqual(await stored(orgId), []);
      assert.equal(await writeVersionOf(t, orgId), version);
      if (dialect === 'sqlite') assert.deepEqual(await schema(), schemaBefore);
    });

    it('an organization whose users were all deleted takes a first load again: its counts are rebuilt, not added to', async () => {
      const { orgId, key, ids } = await freshOrg();
      await importFile(t.conn, orgId, tempFile('gone.ndjson', ndjson(people(40, 'gone', ids))), {
        createMissing: true,
      });
      // Emptied by hand (there is no delete route): the count buckets stay behind at zero.
      await t.conn.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('user_billing_groups').where('org_id', '=', orgId).execute();
        await trx.deleteFrom('user_group_owners').where('org_id', '=', orgId).execute();
        await trx.deleteFrom('users').where('org_id', '=', orgId).execute();
      });
      if (dialect === 'sqlite') {
        const zero = await t.conn.db.selectFrom('user_counts').select('n').where('org_id', '=', orgId).execute();
        assert.ok(zero.length > 0 && zero.every((r) => Number(r.n) === 0), 'zero buckets left behind');
      }
      const rows = people(60, 'back', ids);
      const run = await importFile(t.conn, orgId, tempFile('back.ndjson', ndjson(rows)), {
        createMissing: true,
        batchSize: 25,
      });
      assert.deepEqual(run.counts, { imported: 60, updated: 0, unchanged: 0, rejected: 0 });
      assert.equal(await total(key), 60);
      for (const status of ['activated', 'awaiting_approval', 'deactivated'] as const) {
        assert.equal(await total(key, `&status=${status}`), rows.filter((r) => r.status === status).length, status);
      }
      assert.deepEqual(await countsOf(orgId), await actualCounts(orgId));
      assert.deepEqual(await list(key, '&name=zebra'), {
        total: 9,
        usernames: usernames(rows.filter((r) => r.name.startsWith('Zebra'))),
      });
      if (dialect === 'sqlite') await assertSearchIndexSound();
    });

    it('an import into an organization that already has users commits batch by batch: a failure in the third batch keeps the first two', async () => {
      const { orgId, key } = await freshOrg();
      const api = caller(t, key);
      assert.equal((await api('POST', 'users', { body: newUser('existing') })).statusCode, 201);
      const schemaBefore = dialect === 'sqlite' ? await schema() : [];
      const rows = Array.from({ length: 6 }, (_, i) => ({
        username: `r${i + 1}`,
        name: `Batched ${i + 1}`,
        call_detail_level: 'full',
        roles: ['reporting'],
      }));
      const version = await writeVersionOf(t, orgId);
      const undo = await refuseInsertOf(orgId, 'r5');
      let failure: unknown;
      try {
        await assert.rejects(
          importFile(t.conn, orgId, tempFile('batched.ndjson', ndjson(rows)), { batchSize: 2 }),
          (error) => ((failure = error), true),
        );
      } finally {
        await undo();
      }
      assert.ok(failure instanceof ImportBatchError, String(failure));
      assert.equal(failure.line, 5);
      assert.match(String((failure.cause as Error).message), /injected failure/);
      assert.deepEqual(await stored(orgId), ['existing', 'r1', 'r2', 'r3', 'r4']);
      assert.equal(await writeVersionOf(t, orgId), version + 2);
      assert.equal(await total(key), 5);
      assert.equal(await total(key, '&status=awaiting_approval'), 5);
      assert.deepEqual(await list(key, '&name=batched'), { total: 4, usernames: ['r1', 'r2', 'r3', 'r4'] });
      await assertIntact(orgId, schemaBefore);
    });

    it('a first load with bad rows lands the good ones and rejects the bad ones by line', async () => {
      const { orgId, key } = await freshOrg();
      const schemaBefore = dialect === 'sqlite' ? await schema() : [];
      const run = await importFile(t.conn, orgId, tempFile('mixed.ndjson', `${MIXED_LINES.join('\n')}\n`), {
        batchSize: 3,
      });
      assert.deepEqual(run.counts, { imported: 6, updated: 0, unchanged: 0, rejected: 4 });
      assert.deepEqual(
        run.rejections.map((r) => r.line),
        [2, 5, 8, 9],
      );
      assert.equal(
        run.messages[0],
        'line 2, call_detail_level: "everything" is not a call detail level; use one of "full", "no_caller", "no_call"',
      );
      assert.match(run.messages[1]!, /^line 5, \(line\): is not valid JSON/);
      assert.deepEqual(run.messages.slice(2), [
        'line 8, username: "G1" names the same user as line 1 of this file; a file may name each user once',
        'line 9, roles: is required for a new user (no user of this organization has this user_id or username)',
      ]);
      assert.deepEqual(
        run.rejections.map((r) => r.raw),
        [MIXED_LINES[1], MIXED_LINES[4], MIXED_LINES[7], MIXED_LINES[8]],
      );
      assert.deepEqual(await list(key), { total: 6, usernames: ['g1', 'g10', 'g3', 'g4', 'g6', 'g7'] });
      assert.equal(await total(key, '&status=awaiting_approval'), 6);
      assert.deepEqual(await list(key, '&name=good%201'), { total: 2, usernames: ['g1', 'g10'] });
      if (dialect === 'sqlite') {
        assert.deepEqual(await schema(), schemaBefore);
        await assertSearchIndexSound();
      }
    });

    it('a first load of only bad rows changes nothing', async () => {
      const empty = await freshOrg();
      const schemaBefore = dialect === 'sqlite' ? await schema() : [];
      const version = await writeVersionOf(t, empty.orgId);
      const bad = await importFile(
        t.conn,
        empty.orgId,
        tempFile('allbad.ndjson', `${MIXED_LINES[1]}\n${MIXED_LINES[8]}\n{}\n`),
        { batchSize: 1 },
      );
      assert.deepEqual(bad.counts, { imported: 0, updated: 0, unchanged: 0, rejected: 3 });
      assert.deepEqual(
        bad.rejections.map((r) => r.line),
        [1, 2, 3],
      );
      assert.deepEqual(await stored(empty.orgId), []);
      assert.equal(await writeVersionOf(t, empty.orgId), version);
      if (dialect === 'sqlite') assert.deepEqual(await schema(), schemaBefore);
    });

    if (dialect === 'postgres') {
      it('an import into users runs ANALYZE on users when it has created 10,000 users and again at 20,000; 9,999 do not', async () => {
        const { orgId, key } = await freshOrg();
        // One user first: a first load goes through a staging table, and this is about the batches that write users.
        const seed = (prefix: string) => `username,name,call_detail_level,roles\n${prefix}seed,N,full,reporting\n`;
        await importFile(t.conn, orgId, tempFile('seed.csv', seed('s')));
        // Each pooled query is its own transaction, so each reads fresh statistics (no cached snapshot).
        const analyzeCount = async () => {
          const { rows } = await sql<{
            n: string;
          }>`select analyze_count as n from pg_stat_user_tables where relname = 'users'`.execute(t.conn.db);
          return Number(rows[0]!.n);
        };
        /** Polls briefly, in case the statistics reach shared memory a moment after the import's transaction. */
        const analyzeCountAbove = async (floor: number) => {
          let n = await analyzeCount();
          for (let i = 0; i < 40 && n <= floor; i++) {
            await new Promise((r) => setTimeout(r, 50));
            n = await analyzeCount();
          }
          return n;
        };
        const csv = (count: number, prefix: string) =>
          `username,name,call_detail_level,roles\n${Array.from({ length: count }, (_, i) => `${prefix}${i},N,full,reporting`).join('\n')}\n`;

        const before = await analyzeCount();
        const small = await importFile(t.conn, orgId, tempFile('under.csv', csv(9_999, 's')));
        assert.equal(small.counts.imported, 9_999);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(await analyzeCount(), before, '9,999 users created: no ANALYZE');

        const other = await freshOrg();
        await importFile(t.conn, other.orgId, tempFile('seed.csv', seed('b')));
        const big = await importFile(t.conn, other.orgId, tempFile('over.csv', csv(20_001, 'b')));
        assert.equal(big.counts.imported, 20_001);
        const afterBig = await analyzeCountAbove(before + 1);
        assert.equal(
          afterBig,
          before + 2,
          'ANALYZE at 10,000 and at 20,000 users created (the next would be at 40,000)',
        );
        assert.equal(await total(other.key), 20_002);
        assert.equal(await total(key), 10_000);
      });
    }
  });
}
