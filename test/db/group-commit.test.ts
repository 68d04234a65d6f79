import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GroupCommit } from '../../src/db/group-commit.js';
import { bumpWriteVersionStatement, findWriteVersion, insertOrganization } from '../../src/orgs/org.repository.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

// Group commit (src/db/group-commit.ts): waiting writes of one organization share one transaction, each in its
// own savepoint; a failing write fails alone, and every write settles only after its commit.

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);

for (const dialect of DIALECTS) {
  describe(`group commit (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(dialect, { RATE_LIMIT: '0' });
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
      assert.deepEqual(commits.counts, { commits: 1, writes: 6 });
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
      assert.deepEqual(commits.counts, { commits: 1, writes: 5 });
      assert.equal(await version(), before + 5, 'the bumps of the two failed writes were undone');
      const stored = (await orgNames()).filter((n) => /^go-\d$/.test(n)).sort();
      assert.deepEqual(stored, ['go-0', 'go-1', 'go-3', 'go-4', 'go-6']);
    });

    it('writes of different keys never share a transaction', async () => {
      const commits = new GroupCommit(t.conn.db);
      await Promise.all(
        [1, 2, 1, 2].map((key, i) =>
          commits.run(key, (trx) => insertOrganization(trx, `gk-${i}`, '2026-12-01T00:00:00.000')),
        ),
      );
      assert.deepEqual(commits.counts, { commits: 2, writes: 4 });
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
