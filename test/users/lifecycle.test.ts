import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { USER_KEY_ORDER } from '../support/users.js';
import { auditCount, auditOf, caller, newUser, writeVersionOf } from '../support/writes.js';

for (const dialect of DIALECTS) {
  describe(`user lifecycle: activate, deactivate, reassignment (${dialect})`, () => {
    let t: TestApp;
    let call: ReturnType<typeof caller>;
    before(async () => {
      t = await buildTestApp(dialect);
      call = caller(t, t.demo.write);
    });
    after(async () => t.close());

    const get = async (ref: string) => (await call('GET', `users/${ref}`, { key: t.demo.read })).json();
    const deactivations = (userId: string) =>
      t.conn.db.selectFrom('user_deactivations').selectAll().where('user_id', '=', userId).orderBy('id').execute();

    it('activate: awaiting_approval → activated; deactivation_date appears and disappears exactly with the status', async () => {
      const created = await call('POST', 'users', { body: newUser('lena') });
      const activated = await call('PUT', 'users/lena/activate');
      assert.equal(activated.statusCode, 200);
      assert.equal(activated.json().status, 'activated');
      assert.ok(!('deactivation_date' in activated.json()));
      assert.notEqual(activated.headers.etag, created.headers.etag);

      const deactivated = await call('DELETE', 'users/lena/deactivate');
      assert.equal(deactivated.statusCode, 200);
      const user = deactivated.json();
      assert.equal(user.status, 'deactivated');
      assert.deepEqual(Object.keys(user), USER_KEY_ORDER);
      assert.equal(user.deactivation_date, user.last_updated_date);
      assert.deepEqual(await get('lena'), user);
      const search = await call('GET', 'users?status=deactivated&username=lena', { key: t.demo.read });
      assert.equal(search.json().paging.total, 1);

      const again = await call('PUT', `users/${user.user_id}/activate`);
      assert.equal(again.json().status, 'activated');
      assert.ok(!('deactivation_date' in again.json()));
      assert.ok(!('deactivation_date' in (await get('lena'))));
      assert.deepEqual(
        (await auditOf(t, user.user_id)).map((a) => a.action),
        ['user.create', 'user.activate', 'user.deactivate', 'user.activate'],
      );
    });

    it('a repeated deactivation keeps the first deactivation_date and is still a write', async () => {
      await call('POST', 'users', { body: newUser('mark') });
      const first = (await call('DELETE', 'users/mark/deactivate')).json();
      const second = await call('PUT', 'users/mark/deactivate', { body: {} });
      assert.equal(second.statusCode, 200);
      assert.equal(second.json().deactivation_date, first.deactivation_date);
      assert.ok(second.json().last_updated_date > first.last_updated_date);
      assert.equal((await deactivations(first.user_id)).length, 2);
    });

    it('lifecycle calls take no body, an empty JSON body or {}; anything else is 400 or 415', async () => {
      await call('POST', 'users', { body: newUser('nina') });
      assert.equal(
        (await call('PUT', 'users/nina/activate', { raw: '', headers: { 'content-type': 'application/json' } }))
          .statusCode,
        200,
      );
      assert.equal((await call('PUT', 'users/nina/activate', { body: {} })).statusCode, 200);
      assert.equal(
        (await call('DELETE', 'users/nina/deactivate', { raw: '', headers: { 'content-type': 'application/json' } }))
          .statusCode,
        200,
      );
      const extra = await call('PUT', 'users/nina/activate', { body: { status: 'activated' } });
      assert.equal(extra.statusCode, 400);
      assert.equal(extra.json().errors[0].pointer, '/status');
      assert.equal(
        (await call('PUT', 'users/nina/activate', { raw: 'go', headers: { 'content-type': 'text/plain' } })).statusCode,
        415,
      );
      assert.equal(
        (await call('PUT', 'users/nina/deactivate', { raw: '{', headers: { 'content-type': 'application/json' } }))
          .statusCode,
        400,
      );
      for (const body of [
        { delete_scheduled_reports: 'yes' },
        { reassign_groups_to_user: 7 },
        { reassign_groups_to_user: '' },
        { reassign_everything: true },
      ]) {
        const res = await call('PUT', 'users/nina/deactivate', { body });
        assert.equal(res.statusCode, 400, JSON.stringify(body));
      }
    });

    it("needs the write scope; another organization's user is 404", async () => {
      assert.equal((await call('PUT', 'users/ewoods/activate', { key: t.demo.read })).statusCode, 403);
      assert.equal((await call('DELETE', 'users/ewoods/deactivate', { key: t.demo.read })).statusCode, 403);
      const other = caller(t, t.other.admin);
      assert.equal((await other('PUT', 'users/ewoods/activate')).statusCode, 404);
      assert.equal((await other('DELETE', 'users/fe3949c2-b3f5-46f8-9377-05568c748dbc/deactivate')).statusCode, 404);
      assert.equal((await call('PUT', 'users/%00/activate')).statusCode < 500, true);
    });

    it('PUT deactivate moves the groups the user owns to the target in the same transaction, and records the instructions', async () => {
      const owner = (
        await call('POST', 'users', {
          body: newUser('olive', { access: { billing_groups: ['1234'], group_owners: ['7001', '7002'] } }),
        })
      ).json();
      const heir = (
        await call('POST', 'users', { body: newUser('oscar', { access: { group_owners: ['7002', '7004'] } }) })
      ).json();
      const reports = (await call('POST', 'users', { body: newUser('otto') })).json();
      const heirEtag = (await call('GET', 'users/oscar', { key: t.demo.read })).headers.etag;

      const res = await call('PUT', 'users/olive/deactivate', {
        body: {
          reassign_groups_to_user: heir.user_id,
          reassign_reports_to_user: 'OTTO',
          delete_scheduled_reports: true,
        },
        headers: { 'x-request-id': 'req-deactivate-olive' },
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().status, 'deactivated');
      assert.deepEqual(res.json().access, { billing_groups: ['1234'], group_owners: [] });
      const after = await call('GET', 'users/oscar', { key: t.demo.read });
      assert.deepEqual(after.json().access.group_owners, ['7002', '7004', '7001']);
      assert.notEqual(after.headers.etag, heirEtag);
      assert.ok(after.json().last_updated_date > heir.last_updated_date);

      const owners = await call('GET', 'users?group_owner=7001&username=olive&username=oscar', { key: t.demo.read });
      assert.deepEqual(
        owners.json().results.map((u: { username: string }) => u.username),
        ['oscar'],
      );

      const [record] = await deactivations(owner.user_id);
      assert.equal(record?.reassign_groups_to_user, heir.user_id);
      assert.equal(record?.groups_moved, '7001,7002');
      assert.equal(record?.reassign_reports_to_user, reports.user_id);
      assert.equal(record?.delete_scheduled_reports, 1);
      assert.equal(record?.request_id, res.headers['x-request-id'], "the server's own request id");
      assert.equal((await auditOf(t, owner.user_id)).at(-1)?.action, 'user.deactivate');
      const heirAudit = (await auditOf(t, heir.user_id)).at(-1);
      assert.equal(heirAudit?.action, 'user.reassign');
      assert.equal(heirAudit?.request_id, res.headers['x-request-id']);
      assert.deepEqual(JSON.parse(heirAudit?.changes ?? '{}').access.after.group_owners, ['7002', '7004', '7001']);
    });

    it('a DELETE records a plain deactivation (no reassignment, groups kept)', async () => {
      const user = (
        await call('POST', 'users', { body: newUser('pete', { access: { group_owners: ['7006'] } }) })
      ).json();
      const res = await call('DELETE', 'users/pete/deactivate');
      assert.deepEqual(res.json().access.group_owners, ['7006']);
      const [record] = await deactivations(user.user_id);
      assert.equal(record?.reassign_groups_to_user, null);
      assert.equal(record?.reassign_reports_to_user, null);
      assert.equal(record?.delete_scheduled_reports, 0);
    });

    it('an unusable target is 400 naming it, and leaves both users untouched', async () => {
      await call('POST', 'users', { body: newUser('quinn', { access: { group_owners: ['7003'] } }) });
      const other = caller(t, t.other.admin);
      const stranger = (await other('POST', 'users', { body: newUser('stranger') })).json();
      const cases: [Record<string, unknown>, string, string][] = [
        [{ reassign_groups_to_user: 'nobody-at-all' }, '/reassign_groups_to_user', 'UNKNOWN_REFERENCE'],
        [{ reassign_groups_to_user: stranger.user_id }, '/reassign_groups_to_user', 'UNKNOWN_REFERENCE'],
        [{ reassign_groups_to_user: 'rsmith' }, '/reassign_groups_to_user', 'VALIDATION_FAILED'],
        [{ reassign_groups_to_user: 'QUINN' }, '/reassign_groups_to_user', 'VALIDATION_FAILED'],
        [
          { reassign_groups_to_user: 'ewoods', reassign_reports_to_user: 'mhopper' },
          '/reassign_reports_to_user',
          'VALIDATION_FAILED',
        ],
        [{ reassign_reports_to_user: 'bad\u0000name' }, '/reassign_reports_to_user', 'UNKNOWN_REFERENCE'],
      ];
      const quinn = await call('GET', 'users/quinn', { key: t.demo.read });
      const ewoods = await call('GET', 'users/ewoods', { key: t.demo.read });
      const audits = await auditCount(t, t.demo.orgId);
      for (const [body, pointer, code] of cases) {
        const res = await call('PUT', 'users/quinn/deactivate', { body });
        assert.equal(res.statusCode, 400, JSON.stringify(body));
        assert.equal(res.json().code, code, res.body);
        assert.deepEqual(
          res.json().errors.map((e: { pointer: string }) => e.pointer),
          [pointer],
        );
      }
      assert.equal((await call('GET', 'users/quinn', { key: t.demo.read })).body, quinn.body);
      assert.equal((await call('GET', 'users/ewoods', { key: t.demo.read })).body, ewoods.body);
      assert.equal((await deactivations(quinn.json().user_id)).length, 0);
      assert.equal(await auditCount(t, t.demo.orgId), audits);
    });

    it('a failure half-way through the reassignment rolls everything back (both users, audit, record, write_version)', async () => {
      const owner = await call('POST', 'users', { body: newUser('rita', { access: { group_owners: ['7001'] } }) });
      const heir = await call('POST', 'users', { body: newUser('ross', { access: { group_owners: ['7004'] } }) });
      const heirId = heir.json().user_id as string;
      // The heir's row refuses updates: the owner's deactivation is already written when the move fails.
      if (dialect === 'sqlite') {
        await sql
          .raw(
            `create trigger refuse_heir before update on users when new.user_id = '${heirId}' begin select raise(abort, 'injected failure'); end`,
          )
          .execute(t.conn.db);
      } else {
        await sql
          .raw(
            `create function refuse_heir() returns trigger language plpgsql as $$ begin raise exception 'injected failure'; end $$`,
          )
          .execute(t.conn.db);
        await sql
          .raw(
            `create trigger refuse_heir before update on users for each row when (new.user_id = '${heirId}') execute function refuse_heir()`,
          )
          .execute(t.conn.db);
      }
      const audits = await auditCount(t, t.demo.orgId);
      const version = await writeVersionOf(t, t.demo.orgId);
      try {
        const res = await call('PUT', 'users/rita/deactivate', {
          body: { reassign_groups_to_user: 'ross', delete_scheduled_reports: true },
        });
        assert.equal(res.statusCode, 500);
        assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
        assert.ok(!res.body.includes('injected'), 'no internals reach the client');
      } finally {
        await sql.raw('drop trigger refuse_heir' + (dialect === 'postgres' ? ' on users' : '')).execute(t.conn.db);
        if (dialect === 'postgres') await sql.raw('drop function refuse_heir()').execute(t.conn.db);
      }
      const ownerNow = await call('GET', 'users/rita', { key: t.demo.read });
      const heirNow = await call('GET', 'users/ross', { key: t.demo.read });
      assert.equal(ownerNow.body, owner.body);
      assert.equal(ownerNow.headers.etag, owner.headers.etag);
      assert.equal(heirNow.body, heir.body);
      assert.equal((await deactivations(owner.json().user_id)).length, 0);
      assert.equal(await auditCount(t, t.demo.orgId), audits);
      assert.equal(await writeVersionOf(t, t.demo.orgId), version);
      const owners = await call('GET', 'users?group_owner=7001&username=rita', { key: t.demo.read });
      assert.equal(owners.json().paging.total, 1);

      const retry = await call('PUT', 'users/rita/deactivate', { body: { reassign_groups_to_user: 'ross' } });
      assert.equal(retry.statusCode, 200);
      assert.deepEqual((await call('GET', 'users/ross', { key: t.demo.read })).json().access.group_owners, [
        '7004',
        '7001',
      ]);
    });
  });
}
