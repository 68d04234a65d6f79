import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { RowChanged } from '../../src/db/db-errors.js';
import { combined, GroupCommit, type Combinable } from '../../src/db/group-commit.js';
import { bumpWriteVersionStatement, findWriteVersion, insertOrganization } from '../../src/orgs/org.repository.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

// Group commit (src/db/group-commit.ts): waiting writes of one organization share one transaction, together
// when all succeed and each in its own savepoint when one fails; a failing write fails alone, and every write
// settles only after its commit.

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);

for (const dialect of DIALECTS) {
  describe(`group commit (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      // One connection on PostgreSQL: pg_prepared_statements, read through it, shows the writes' statements.
      t = await buildTestApp(dialect, { RATE_LIMIT: '0', PG_POOL_SIZE: '1' });
    });
    after(() => t.close());

    const orgNames = async () =>
      (await t.conn.db.selectFrom('organizations').select('name').execute()).map((r) => r.name);

    it('a failing write of a batch is undone alone; the others commit together, then settle', async () => {
      const commits = new GroupCommit(t.conn.db);
      // The 6th repeats a unique name: a constraint violation, which on PostgreSQL aborts the whole
      // transaction unless it is rolled back to its savepoint.
      const names = ['gc-0', 'gc-1', 'gc-2', 'gc-3', 'gc-4', 'gc-2', 'gc-6', 'gc-7'];
      const settled = await Promise.allSettled(
        names.map((name, i) =>
          commits.run(1, async (trx) => {
            const id = await insertOrganization(trx, name, '2026-12-01T00:00:00.000');
            if (i === 7) throw new Error('refused after its insert');
            return id;
          }),
        ),
      );
      assert.deepEqual(
        settled.map((s) => s.status),
        ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'rejected'],
      );
      assert.match(String((settled[7] as PromiseRejectedResult).reason), /refused after its insert/);
      const stored = (await orgNames()).filter((n) => n.startsWith('gc-')).sort();
      assert.deepEqual(stored, ['gc-0', 'gc-1', 'gc-2', 'gc-3', 'gc-4', 'gc-6']);
      // All eight waited together: one transaction carried the six that succeeded.
      // PostgreSQL tried them as one plain transaction first; SQLite runs savepoints at once.
      assert.deepEqual(commits.counts, { commits: 1, writes: 6, reruns: dialect === 'postgres' ? 1 : 0 });
    });

    it("each write's opening statement is undone with it, and one that fails fails its write alone", async () => {
      const commits = new GroupCommit(t.conn.db);
      const orgId = await insertOrganization(t.conn.db, 'go-counter', '2026-12-01T00:00:00.000');
      const version = () => findWriteVersion(t.conn.db, orgId);
      const before = await version();
      const bump = bumpWriteVersionStatement(orgId);
      // Write 2 fails in its work after its opening ran; write 5's opening itself fails (a name taken), before
      // its work; the writes after each go on in the same transaction.
      const openings = [
        bump,
        bump,
        bump,
        bump,
        bump,
        `insert into organizations (name, created_at) values ('go-counter', 'x')`,
        bump,
      ];
      const settled = await Promise.allSettled(
        openings.map((opening, i) =>
          commits.run(
            1,
            async (trx) => {
              const id = await insertOrganization(trx, `go-${i}`, '2026-12-01T00:00:00.000');
              if (i === 2) throw new Error('refused after its opening');
              return id;
            },
            opening,
          ),
        ),
      );
      assert.deepEqual(
        settled.map((s) => s.status),
        ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
      );
      assert.deepEqual(commits.counts, { commits: 1, writes: 5, reruns: dialect === 'postgres' ? 1 : 0 });
      assert.equal(await version(), before + 5, 'the bumps of the two failed writes were undone');
      const stored = (await orgNames()).filter((n) => /^go-\d$/.test(n)).sort();
      assert.deepEqual(stored, ['go-0', 'go-1', 'go-3', 'go-4', 'go-6']);
    });

    it('writes that all succeed: one opening for the batch on PostgreSQL, one a write on SQLite', async () => {
      const commits = new GroupCommit(t.conn.db);
      const orgId = await insertOrganization(t.conn.db, 'gt-counter', '2026-12-01T00:00:00.000');
      const before = await findWriteVersion(t.conn.db, orgId);
      const bump = bumpWriteVersionStatement(orgId);
      let runs = 0;
      const ids = await Promise.all(
        [0, 1, 2, 3, 4].map((i) =>
          commits.run(
            1,
            async (trx) => {
              runs++;
              return insertOrganization(trx, `gt-${i}`, '2026-12-01T00:00:00.000');
            },
            bump,
          ),
        ),
      );
      assert.equal(new Set(ids).size, 5);
      assert.equal(runs, 5, 'each write ran once');
      assert.deepEqual(commits.counts, { commits: 1, writes: 5, reruns: 0 });
      assert.equal(await findWriteVersion(t.conn.db, orgId), before + (dialect === 'postgres' ? 1 : 5));
    });

    it('a commit that fails rejects every write of the batch and runs none of them again', async () => {
      const commits = new GroupCommit(t.conn.db);
      // A deferred foreign key is checked at the commit: the writes succeed, their commit fails.
      await sql`create table gc_parent (id integer primary key)`.execute(t.conn.db);
      await sql`create table gc_child (parent integer references gc_parent (id) deferrable initially deferred)`.execute(
        t.conn.db,
      );
      let runs = 0;
      const settled = await Promise.allSettled(
        [1, 2, 3].map((parent) =>
          commits.run(1, async (trx) => {
            runs++;
            await sql`insert into gc_child (parent) values (${parent})`.execute(trx);
          }),
        ),
      );
      assert.deepEqual(
        settled.map((s) => s.status),
        ['rejected', 'rejected', 'rejected'],
      );
      assert.equal(runs, 3, 'no write ran twice');
      assert.deepEqual(commits.counts, { commits: 0, writes: 0, reruns: 0 });
      const rows = await sql<{ n: number }>`select count(*) as n from gc_child`.execute(t.conn.db);
      assert.equal(Number(rows.rows[0]!.n), 0);
    });

    it('PATCHes run together go as one update: each keeps its own fields, audit entry and number', async () => {
      const list = await t.app.inject({ url: '/api/v1/users?pagesize=12&pagenumber=4', headers: bearer(t.demo.read) });
      const users = list.json().results as Array<Record<string, unknown> & { user_id: string; version?: number }>;
      // Different columns per write: the one statement sets every column any of them changes.
      const change = (i: number): Record<string, string> =>
        i % 3 === 0
          ? { phone: `206-555-${String(7000 + i)}` }
          : i % 3 === 1
            ? { name: `Combined Name ${i}` }
            : { email: `combined${i}@example.com`, phone: `206-555-${String(7100 + i)}` };
      const answers = await Promise.all(
        users.map((u, i) =>
          t.app.inject({
            method: 'PATCH',
            url: `/api/v1/users/${u.user_id}`,
            headers: { ...bearer(t.demo.admin), 'content-type': 'application/merge-patch+json' },
            payload: JSON.stringify(change(i)),
          }),
        ),
      );
      for (const [i, res] of answers.entries()) {
        assert.equal(res.statusCode, 200, res.body);
        const stored = (
          await t.app.inject({ url: `/api/v1/users/${users[i]!.user_id}`, headers: bearer(t.demo.read) })
        ).json();
        const { last_updated_date: _a, ...was } = users[i]!;
        const { last_updated_date: _b, ...now } = stored;
        assert.deepEqual(now, { ...was, ...change(i) }, `user ${i}: its change, and nothing else`);
        assert.deepEqual(res.json(), stored);
      }
      const entries = await t.conn.db
        .selectFrom('audit_entries')
        .select(['target_id', 'changes', 'org_seq'])
        .where('org_id', '=', t.demo.orgId)
        .where('action', '=', 'user.patch')
        .where(
          'target_id',
          'in',
          users.map((u) => u.user_id),
        )
        .orderBy('org_seq')
        .execute();
      assert.equal(entries.length, users.length);
      for (const entry of entries) {
        const i = users.findIndex((u) => u.user_id === entry.target_id);
        assert.deepEqual(
          Object.keys(JSON.parse(entry.changes)).sort(),
          [...Object.keys(change(i)), 'last_updated_date'].sort(),
        );
      }
      const seqs = (
        await t.conn.db.selectFrom('audit_entries').select('org_seq').where('org_id', '=', t.demo.orgId).execute()
      ).map((r) => Number(r.org_seq));
      assert.equal(new Set(seqs).size, seqs.length, 'no audit number twice');
      assert.equal(Math.max(...seqs), seqs.length, 'no gap in the audit numbers');
    });

    it('PATCHes of the same users in one batch: every change lands, one after another', async () => {
      const list = await t.app.inject({ url: '/api/v1/users?pagesize=3&pagenumber=9', headers: bearer(t.demo.read) });
      const users = list.json().results as Array<{ user_id: string }>;
      const versionOf = async (userId: string) =>
        Number(
          (
            await t.conn.db
              .selectFrom('users')
              .select('version')
              .where('user_id', '=', userId)
              .executeTakeFirstOrThrow()
          ).version,
        );
      const versions = await Promise.all(users.map((u) => versionOf(u.user_id)));
      const changes = [
        { phone: '206-555-0401' },
        { name: 'Four Changes' },
        { email: 'four.changes@example.com' },
        { call_detail_level: 'no_call' },
      ];
      const before = await t.app.inject({ url: '/metrics' });
      // Each user four times, in one batch: the second PATCH of a user read it before the first was stored.
      const answers = await Promise.all(
        changes.flatMap((change) =>
          users.map((u) =>
            t.app.inject({
              method: 'PATCH',
              url: `/api/v1/users/${u.user_id}`,
              headers: { ...bearer(t.demo.admin), 'content-type': 'application/merge-patch+json' },
              payload: JSON.stringify(change),
            }),
          ),
        ),
      );
      for (const res of answers) assert.equal(res.statusCode, 200, res.body);
      // No PATCH failed: the batch was never rolled back and run again in savepoints.
      const after = await t.app.inject({ url: '/metrics' });
      assert.equal(
        metric(after.body, 'roster_write_batches_rerun_total'),
        metric(before.body, 'roster_write_batches_rerun_total'),
      );
      for (const [i, u] of users.entries()) {
        const stored = (await t.app.inject({ url: `/api/v1/users/${u.user_id}`, headers: bearer(t.demo.read) })).json();
        for (const change of changes) assert.deepEqual({ ...stored, ...change }, stored, JSON.stringify(change));
        const entries = await t.conn.db
          .selectFrom('audit_entries')
          .select('changes')
          .where('org_id', '=', t.demo.orgId)
          .where('target_id', '=', u.user_id)
          .where('action', '=', 'user.patch')
          .execute();
        assert.equal(entries.length, 4, 'one entry for each PATCH');
        assert.equal(await versionOf(u.user_id), versions[i]! + 4);
      }
    });

    // PostgreSQL only: SQLite runs a batch's writes in savepoints, where nothing parks.
    if (dialect === 'postgres')
      it('combinable writes park their statements: one runAll a round, in the batch order', async () => {
        const commits = new GroupCommit(t.conn.db);
        const calls: string[][] = [];
        const kind: Combinable<string, string> = {
          writes: true,
          runAll: async (_trx, items) => {
            calls.push([...items]);
            return items.map((item) => item.toUpperCase());
          },
        };
        const values = await Promise.all(
          ['a', 'b', 'c', 'd'].map((item) =>
            commits.run(
              1,
              async (trx) => {
                const stored = await (combined(trx, kind, item) ?? Promise.resolve(`${item} alone`));
                // A write may park again once resumed: its second statement goes in the next round.
                return `${stored}${await (combined(trx, kind, `${item}2`) ?? Promise.resolve(' alone'))}`;
              },
              undefined,
              true,
            ),
          ),
        );
        assert.deepEqual(values, ['AA2', 'BB2', 'CC2', 'DD2']);
        assert.deepEqual(calls, [
          ['a', 'b', 'c', 'd'],
          ['a2', 'b2', 'c2', 'd2'],
        ]);
        assert.deepEqual(commits.counts, { commits: 1, writes: 4, reruns: 0 });
      });

    // PostgreSQL only: SQLite runs a batch's writes in savepoints, where nothing parks.
    if (dialect === 'postgres')
      it('a combinable write whose statement stored nothing runs again in the next round; a failure reruns the batch', async () => {
        const commits = new GroupCommit(t.conn.db);
        const calls: string[][] = [];
        // Stores each item the first time it is seen again: "b" and "d" store nothing on their first run.
        const seen = new Set<string>();
        const kind: Combinable<string, string | undefined> = {
          writes: true,
          runAll: async (_trx, items) => {
            calls.push([...items]);
            return items.map((item) =>
              (item === 'b' || item === 'd') && !seen.has(item) ? (seen.add(item), undefined) : item,
            );
          },
        };
        const runs = new Map<string, number>();
        const write = (item: string) =>
          commits.run(
            1,
            async (trx) => {
              runs.set(item, (runs.get(item) ?? 0) + 1);
              const stored = await combined(trx, kind, item);
              if (stored === undefined) throw new RowChanged(`${item} changed`);
              return stored;
            },
            undefined,
            true,
          );
        assert.deepEqual(await Promise.all(['a', 'b', 'c', 'd'].map(write)), ['a', 'b', 'c', 'd']);
        assert.deepEqual(calls, [
          ['a', 'b', 'c', 'd'],
          ['b', 'd'],
        ]);
        assert.deepEqual(Object.fromEntries(runs), { a: 1, b: 2, c: 1, d: 1 + 1 });
        assert.deepEqual(commits.counts, { commits: 1, writes: 4, reruns: 0 });

        // A write that fails otherwise fails alone, after the batch is run again in savepoints (nothing parks there).
        calls.length = 0;
        const settled = await Promise.allSettled(
          ['e', 'f'].map((item) =>
            commits.run(
              1,
              async (trx) => {
                const stored = await (combined(trx, kind, item) ?? Promise.resolve(`${item} alone`));
                if (item === 'f') throw new Error('refused');
                return stored;
              },
              undefined,
              true,
            ),
          ),
        );
        assert.deepEqual(
          settled.map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason))),
          ['e alone', 'Error: refused'],
        );
        assert.deepEqual(calls, [['e', 'f']]);
        assert.deepEqual(commits.counts, { commits: 2, writes: 5, reruns: 1 });
      });

    it('writes of different keys never share a transaction', async () => {
      const commits = new GroupCommit(t.conn.db);
      await Promise.all(
        [1, 2, 1, 2].map((key, i) =>
          commits.run(key, (trx) => insertOrganization(trx, `gk-${i}`, '2026-12-01T00:00:00.000')),
        ),
      );
      assert.deepEqual(commits.counts, { commits: 2, writes: 4, reruns: 0 });
    });

    it('concurrent API writes share commits; each answer is its own, and a refused one changes nothing', async () => {
      const users = (await t.app.inject({ url: '/api/v1/users?pagesize=30', headers: bearer(t.demo.admin) })).json()
        .results as Array<{ user_id: string; username: string }>;
      const before = await t.app.inject({ url: '/metrics' });
      const auditBefore = await t.conn.db
        .selectFrom('audit_entries')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      const patch = (userId: string, body: object) =>
        t.app.inject({
          method: 'PATCH',
          url: `/api/v1/users/${userId}`,
          headers: { ...bearer(t.demo.admin), 'content-type': 'application/merge-patch+json' },
          payload: JSON.stringify(body),
        });
      // 28 phone changes, and one rename to a username another user holds (a 409).
      const answers = await Promise.all([
        ...users.slice(0, 28).map((u, i) => patch(u.user_id, { phone: `206-555-${String(i).padStart(4, '0')}` })),
        patch(users[28]!.user_id, { username: users[29]!.username }),
      ]);
      answers.slice(0, 28).forEach((res, i) => {
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json().user_id, users[i]!.user_id);
        assert.equal(res.json().phone, `206-555-${String(i).padStart(4, '0')}`);
      });
      assert.equal(answers[28]!.statusCode, 409, answers[28]!.body);
      const renamed = await t.app.inject({ url: `/api/v1/users/${users[28]!.user_id}`, headers: bearer(t.demo.admin) });
      assert.equal(renamed.json().username, users[28]!.username);
      const auditAfter = await t.conn.db
        .selectFrom('audit_entries')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      assert.equal(Number(auditAfter.n) - Number(auditBefore.n), 28);
      const afterText = (await t.app.inject({ url: '/metrics' })).body;
      const writes =
        metric(afterText, 'roster_writes_committed_total') - metric(before.body, 'roster_writes_committed_total');
      const commits =
        metric(afterText, 'roster_write_commits_total') - metric(before.body, 'roster_write_commits_total');
      assert.equal(writes, 28);
      assert.ok(commits < writes, `${writes} writes in ${commits} commits`);
    });
  });
}
