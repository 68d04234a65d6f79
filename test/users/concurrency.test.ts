import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { buildApp } from '../../src/app.js';
import { connect, type Connection } from '../../src/db/connect.js';
import { nowTimestamp } from '../../src/shared/timestamps.js';
import { userToRow } from '../../src/users/user.mapper.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { auditCount, auditOf, caller, newUser, writeVersionOf } from '../support/writes.js';

const statuses = (responses: { statusCode: number }[]) => responses.map((r) => r.statusCode).sort();
const count = (list: number[], status: number) => list.filter((s) => s === status).length;

for (const dialect of DIALECTS) {
  describe(`concurrent writes (${dialect})`, () => {
    let t: TestApp;
    // A second app on its own connection to the same database: a second server process.
    let secondConn: Connection;
    let second: FastifyInstance;
    let calls: ReturnType<typeof caller>[];
    before(async () => {
      t = await buildTestApp(dialect);
      secondConn = connect(t.config.database);
      second = await buildApp(t.config, secondConn);
      await second.ready();
      calls = [caller(t, t.demo.write), caller({ ...t, app: second }, t.demo.write)];
    });
    after(async () => {
      await second.close();
      await secondConn.close();
      await t.close();
    });
    const call = (i: number) => calls[i % 2]!;

    it('25 simultaneous creates of one username: exactly one 201, the rest 409, never a 500', async () => {
      const audits = await auditCount(t, t.demo.orgId);
      const responses = await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          call(i)('POST', 'users', { body: newUser(i % 2 ? 'Racer' : 'racer', { name: `Racer ${i}` }) }),
        ),
      );
      const codes = statuses(responses);
      assert.equal(count(codes, 201), 1, codes.join(','));
      assert.equal(count(codes, 409), 24, codes.join(','));
      for (const r of responses.filter((r) => r.statusCode === 409)) assert.equal(r.json().code, 'CONFLICT');
      const search = await call(0)('GET', 'users?username=racer', { key: t.demo.read });
      assert.equal(search.json().paging.total, 1);
      assert.equal(await auditCount(t, t.demo.orgId), audits + 1);
    });

    it('over real sockets too: 25 simultaneous creates of one username give one 201 and 24 409', async () => {
      const address = await second.listen({ port: 0, host: '127.0.0.1' });
      const responses = await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          fetch(`${address}/api/v1/users`, {
            method: 'POST',
            headers: { authorization: `Bearer ${t.demo.write}`, 'content-type': 'application/json' },
            body: JSON.stringify(newUser(i % 3 ? 'SocketRacer' : 'socketracer')),
          }),
        ),
      );
      const codes = responses.map((r) => r.status).sort();
      assert.equal(count(codes, 201), 1, codes.join(','));
      assert.equal(count(codes, 409), 24, codes.join(','));
      for (const r of responses)
        assert.match(
          String(r.headers.get('content-type')),
          r.status === 201 ? /application\/json/ : /application\/problem\+json/,
        );
    });

    it('25 simultaneous creates of different users all land, each counted once', async () => {
      const total = (await call(0)('GET', 'users?pagesize=1', { key: t.demo.read })).json().paging.total;
      const version = await writeVersionOf(t, t.demo.orgId);
      const responses = await Promise.all(
        Array.from({ length: 25 }, (_, i) => call(i)('POST', 'users', { body: newUser(`crowd${i}`) })),
      );
      assert.deepEqual([...new Set(statuses(responses))], [201]);
      assert.equal((await call(1)('GET', 'users?pagesize=1', { key: t.demo.read })).json().paging.total, total + 25);
      assert.equal((await call(0)('GET', 'users?username=crowd', { key: t.demo.read })).json().paging.total, 25);
      // Writes that commit together share one write_version bump (db/group-commit.ts): one to 25 bumps.
      const bumps = (await writeVersionOf(t, t.demo.orgId)) - version;
      assert.ok(bumps >= 1 && bumps <= 25, `${bumps} bumps`);
    });

    it('25 simultaneous PATCHes with the same If-Match: exactly one wins, the rest are 412', async () => {
      const created = await call(0)('POST', 'users', { body: newUser('contested') });
      const etag = String(created.headers.etag);
      const responses = await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          call(i)('PATCH', 'users/contested', { body: { name: `Writer ${i}` }, headers: { 'if-match': etag } }),
        ),
      );
      const codes = statuses(responses);
      assert.equal(count(codes, 200), 1, codes.join(','));
      assert.equal(count(codes, 412), 24, codes.join(','));
      const winner = responses.find((r) => r.statusCode === 200)!;
      const now = await call(1)('GET', 'users/contested', { key: t.demo.read });
      assert.equal(now.json().name, winner.json().name);
      assert.equal(now.headers.etag, winner.headers.etag);
    });

    it('simultaneous PATCHes of different fields of one user, through two processes: none is lost', async () => {
      // Each PATCH reads the user before it waits for its turn (PostgreSQL); one that finds the user changed
      // by the time it writes must read it again, not store its stale copy over the other writes.
      const created = (await call(0)('POST', 'users', { body: newUser('manyhands') })).json();
      const patches: Record<string, unknown>[] = [
        { name: 'Many Hands' },
        { phone: '206-555-0101' },
        { email: 'hands@example.com' },
        { restrict_recording_download: true },
        { roles: ['administrator', 'reporting'] },
        { call_detail_level: 'no_caller' },
        { last_login_date: '2026-11-30T10:00:00' },
      ];
      const rounds = 3;
      const responses = await Promise.all(
        Array.from({ length: rounds }).flatMap((_, round) =>
          patches.map((body, i) => call(i + round)('PATCH', `users/${created.user_id}`, { body })),
        ),
      );
      for (const r of responses) assert.equal(r.statusCode, 200, r.body);
      const now = (await call(1)('GET', `users/${created.user_id}`, { key: t.demo.read })).json();
      for (const body of patches)
        for (const [field, value] of Object.entries(body)) assert.deepEqual(now[field], value);
      const entries = (await auditOf(t, created.user_id)).filter((e) => e.action === 'user.patch');
      assert.equal(entries.length, patches.length * rounds);
      // The first round changed one field each; the others changed nothing but the update time.
      const changedFields = entries.map((e) =>
        Object.keys(JSON.parse(e.changes) as object).filter((k) => k !== 'last_updated_date'),
      );
      assert.equal(changedFields.filter((f) => f.length === 1).length, patches.length, JSON.stringify(changedFields));
      assert.equal(changedFields.filter((f) => f.length > 1).length, 0, JSON.stringify(changedFields));
    });

    it('simultaneous renames to one free username: one wins, the rest 409', async () => {
      const ids = await Promise.all(
        Array.from(
          { length: 10 },
          async (_, i) => (await call(i)('POST', 'users', { body: newUser(`renamer${i}`) })).json().user_id as string,
        ),
      );
      const responses = await Promise.all(
        ids.map((id, i) => call(i)('PATCH', `users/${id}`, { body: { username: 'TheName' } })),
      );
      const codes = statuses(responses);
      assert.equal(count(codes, 200), 1, codes.join(','));
      assert.equal(count(codes, 409), 9, codes.join(','));
    });

    it('a username taken by a transaction that commits while the create waits on the unique index is a 409', async () => {
      // Another writer that does not queue on the organization (e.g. an older build): the create's own check cannot
      // see the uncommitted row, so the unique index decides (PostgreSQL 23505; on SQLite the file lock queues it first).
      let pending: Promise<{ statusCode: number; json(): { code: string } }> | undefined;
      await secondConn.db.transaction().execute(async (trx) => {
        const row = userToRow(
          t.demo.orgId,
          {
            user_id: randomUUID(),
            username: 'sneaky',
            name: 'Sneaky',
            email: 'sneaky@example.com',
            call_detail_level: 'full',
            roles: ['reporting'],
            phone: '',
            restrict_recording_download: false,
            status: 'awaiting_approval',
            last_login_date: null,
            last_updated_date: nowTimestamp(),
            access: { billing_groups: [], group_owners: [] },
          },
          1,
        );
        await trx.insertInto('users').values(row).execute();
        if (dialect === 'postgres') {
          pending = call(0)('POST', 'users', { body: newUser('SNEAKY') });
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
      });
      const res = await (pending ?? call(0)('POST', 'users', { body: newUser('SNEAKY') }));
      assert.equal(res.statusCode, 409);
      assert.equal(res.json().code, 'CONFLICT');
    });

    it('two users deactivated at once, each reassigning to the other: one succeeds, the other is refused, no deadlock', async () => {
      await call(0)('POST', 'users', { body: newUser('twin-a', { access: { group_owners: ['7001'] } }) });
      await call(0)('POST', 'users', { body: newUser('twin-b', { access: { group_owners: ['7002'] } }) });
      const [a, b] = await Promise.all([
        call(0)('PUT', 'users/twin-a/deactivate', { body: { reassign_groups_to_user: 'twin-b' } }),
        call(1)('PUT', 'users/twin-b/deactivate', { body: { reassign_groups_to_user: 'twin-a' } }),
      ]);
      assert.deepEqual([a.statusCode, b.statusCode].sort(), [200, 400]);
      const winner = a.statusCode === 200 ? 'twin-b' : 'twin-a';
      const heir = (await call(0)('GET', `users/${winner}`, { key: t.demo.read })).json();
      assert.equal(heir.status, 'awaiting_approval');
      assert.deepEqual([...heir.access.group_owners].sort(), ['7001', '7002']);
    });

    it('a child billing group and a group added to one leaf at once: the leaf rule holds (exactly one succeeds)', async () => {
      const adminCalls = [caller(t, t.demo.admin), caller({ ...t, app: second }, t.demo.admin)];
      for (let round = 0; round < 5; round++) {
        const leaf = (
          await adminCalls[0]!('POST', 'billinggroups/1000', { body: { billing_group_name: `Leaf ${round}` } })
        ).json().billing_group_id;
        const [child, group] = await Promise.all([
          adminCalls[round % 2]!('POST', `billinggroups/${leaf}`, { body: { billing_group_name: 'Child' } }),
          adminCalls[(round + 1) % 2]!('POST', 'groups', { body: { group_name: 'Group', billing_group_id: leaf } }),
        ]);
        assert.deepEqual(
          [child.statusCode, group.statusCode].sort(),
          child.statusCode === 201 ? [201, 400] : [201, 409],
        );
      }
    });
  });
}
