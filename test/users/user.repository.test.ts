import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { appendAuditsWith } from '../../src/audit/audit.repository.js';
import { updateUsersStatement } from '../../src/users/user.repository.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

// PostgreSQL: the updates of a group commit's combined PATCHes as one statement with their audit entries
// (updateUsersStatement in src/users/user.repository.ts, appendAuditsWith in src/audit/audit.repository.ts).

if (DIALECTS.includes('postgres'))
  describe('several users updated by one statement (postgres)', () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp('postgres');
    });
    after(() => t.close());

    const actor = { keyId: null, label: 'cli' };

    it('stores each change at its version, and an audit entry only for the rows stored', async () => {
      const rows = await t.conn.db
        .selectFrom('users')
        .selectAll()
        .where('org_id', '=', t.demo.orgId)
        .orderBy('id')
        .limit(3)
        .execute();
      const [a, b, c] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
      const seqBefore = Number(
        (
          await t.conn.db
            .selectFrom('organizations')
            .select('audit_seq')
            .where('id', '=', t.demo.orgId)
            .executeTakeFirstOrThrow()
        ).audit_seq,
      );
      const changes = [
        { before: a, changed: { phone: '206-555-0601', version: a.version + 1 } },
        // Read at a version it no longer has: stored nothing.
        { before: { ...b, version: b.version - 1 }, changed: { name: 'Not Stored', version: b.version } },
        { before: c, changed: { email: 'stored@example.com', version: c.version + 1 } },
      ];
      const entry = (target: string) => ({
        orgId: t.demo.orgId,
        actor,
        action: 'user.patch',
        targetType: 'user' as const,
        targetId: target,
        changes: {},
      });
      const result = await t.conn.db.transaction().execute((trx) =>
        appendAuditsWith(
          trx,
          t.demo.orgId,
          changes.map((ch) => entry(ch.before.user_id)),
          updateUsersStatement(t.demo.orgId, changes),
        ),
      );
      assert.equal(result.length, 3);
      assert.equal(result[0]!.phone, '206-555-0601');
      assert.equal(result[0]!.name, a.name, 'a column another change sets keeps its value');
      assert.equal(result[0]!.email, a.email);
      assert.equal(result[1], undefined);
      assert.equal(result[2]!.email, 'stored@example.com');
      assert.equal(result[2]!.phone, c.phone);
      const stored = await t.conn.db
        .selectFrom('users')
        .select(['user_id', 'name', 'phone', 'email', 'version'])
        .where('id', 'in', [a.id, b.id, c.id])
        .orderBy('id')
        .execute();
      assert.deepEqual(
        stored.map((r) => [r.phone, r.name, r.email, Number(r.version)]),
        [
          ['206-555-0601', a.name, a.email, a.version + 1],
          [b.phone, b.name, b.email, b.version],
          [c.phone, c.name, 'stored@example.com', c.version + 1],
        ],
      );
      const entries = await t.conn.db
        .selectFrom('audit_entries')
        .select(['target_id', 'org_seq'])
        .where('org_id', '=', t.demo.orgId)
        .where('org_seq', '>', seqBefore)
        .orderBy('org_seq')
        .execute();
      assert.deepEqual(
        entries.map((e) => [e.target_id, Number(e.org_seq)]),
        [
          [a.user_id, seqBefore + 1],
          [c.user_id, seqBefore + 2],
        ],
      );
    });
  });
