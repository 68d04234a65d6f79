import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { SCIM_ERROR, SCIM_USER, filterQuery, patchOp, scimCaller } from '../support/scim.js';
import { caller, writeVersionOf } from '../support/writes.js';

const ROLES = [
  'administrator',
  'org_group_admin',
  'ordering',
  'reporting',
  'browse_inventory',
  'view_stop_call_data',
  'call_record_listen',
  'rescue',
];

interface Member {
  value: string;
  display: string;
}

for (const dialect of DIALECTS) {
  describe(`SCIM Groups: the eight roles, membership as role grants (${dialect})`, () => {
    let t: TestApp;
    let scim: ReturnType<typeof scimCaller>;
    let api: ReturnType<typeof caller>;
    before(async () => {
      t = await buildTestApp(dialect);
      scim = scimCaller(t, t.demo.write);
      api = caller(t, t.demo.admin);
    });
    after(async () => t.close());

    const newUser = async (userName: string, roles: string[] = []) => {
      const res = await scim('POST', 'Users', {
        body: { schemas: [SCIM_USER], userName, roles: roles.map((value) => ({ value })) },
      });
      assert.equal(res.statusCode, 201, res.body);
      return res.json().id as string;
    };
    const rolesOf = async (id: string) => (await api('GET', `users/${id}`)).json().roles as string[];
    const memberIds = async (role: string) =>
      ((await scim('GET', `Groups/${role}`)).json().members as Member[]).map((m) => m.value).sort();
    const holders = async (role: string) =>
      ((await api('GET', `users?role=${role}&pagesize=10000`)).json().results as Array<{ user_id: string }>)
        .map((u) => u.user_id)
        .sort();

    it('lists the eight roles as groups with displayName the role and a stable id; members are the role holders', async () => {
      const list = (await scim('GET', 'Groups')).json();
      assert.equal(list.totalResults, 8);
      assert.deepEqual(
        list.Resources.map((g: { id: string; displayName: string }) => [g.id, g.displayName]),
        ROLES.map((r) => [r, r]),
      );
      for (const role of ['administrator', 'reporting']) assert.deepEqual(await memberIds(role), await holders(role));
      const again = (await scim('GET', 'Groups?excludedAttributes=members')).json();
      assert.deepEqual(
        again.Resources.map((g: { id: string }) => g.id),
        ROLES,
      );
      assert.ok(again.Resources.every((g: { members?: unknown }) => g.members === undefined));
      const filtered = (
        await scim('GET', `Groups?${filterQuery('displayName eq "reporting"')}&excludedAttributes=members`)
      ).json();
      assert.deepEqual(
        filtered.Resources.map((g: { id: string }) => g.id),
        ['reporting'],
      );
      assert.equal((await scim('GET', 'Groups/superusers')).statusCode, 404);
    });

    it('add members grants the role; remove with members[value eq] or a value list removes only those; replace sets the membership', async () => {
      const [a, b, c] = [await newUser('grp.a'), await newUser('grp.b', ['ordering']), await newUser('grp.c')];
      const add = await scim('PATCH', 'Groups/rescue', {
        body: patchOp({ op: 'Add', path: 'members', value: [{ value: a }, { value: b }, { value: c }] }),
      });
      assert.equal(add.statusCode, 204, add.body);
      assert.equal(add.body, '');
      const added = await memberIds('rescue');
      assert.ok([a, b, c].every((id) => added.includes(id)));
      assert.deepEqual(await rolesOf(b), ['ordering', 'rescue']);
      const before = await holders('rescue');

      const one = await scim('PATCH', 'Groups/rescue', {
        body: patchOp({ op: 'remove', path: `members[value eq "${a}"]` }),
      });
      assert.equal(one.statusCode, 204, one.body);
      assert.deepEqual(
        await holders('rescue'),
        before.filter((id) => id !== a),
      );
      assert.deepEqual(await rolesOf(a), [], 'a role removal may leave a user with no roles');

      const list = await scim('PATCH', 'Groups/rescue', {
        body: patchOp({ op: 'Remove', path: 'members', value: [{ value: b }] }),
      });
      assert.equal(list.statusCode, 204, list.body);
      assert.deepEqual(
        await holders('rescue'),
        before.filter((id) => id !== a && id !== b),
      );
      assert.deepEqual(await rolesOf(b), ['ordering']);

      const replace = await scim('PATCH', 'Groups/rescue', {
        body: patchOp({ op: 'replace', path: 'members', value: [{ value: a }, { value: c }] }),
      });
      assert.equal(replace.statusCode, 204, replace.body);
      assert.deepEqual(await holders('rescue'), [a, c].sort());
      assert.deepEqual(await memberIds('rescue'), [a, c].sort());
    });

    it('answers a membership PATCH with 204, or with the group when attributes or excludedAttributes ask for it', async () => {
      const id = await newUser('grp.answer');
      const asked = await scim('PATCH', 'Groups/view_stop_call_data?excludedAttributes=members', {
        body: patchOp({ op: 'add', path: 'members', value: [{ value: id }] }),
      });
      assert.equal(asked.statusCode, 200, asked.body);
      assert.deepEqual(Object.keys(asked.json()), ['schemas', 'id', 'displayName', 'meta']);
      const withMembers = await scim('PATCH', 'Groups/view_stop_call_data?attributes=members', {
        body: patchOp({ op: 'add', path: 'members', value: [{ value: id }] }),
      });
      assert.equal(withMembers.statusCode, 200, withMembers.body);
      assert.ok((withMembers.json().members as Member[]).some((m) => m.value === id && m.display === 'grp.answer'));
    });

    it("accepts a PATCH that sends the group's own id and displayName unchanged; refuses a new displayName with 400 mutability", async () => {
      const id = await newUser('grp.same');
      const same = await scim('PATCH', 'Groups/browse_inventory', {
        body: patchOp({
          op: 'replace',
          value: { id: 'browse_inventory', displayName: 'browse_inventory', members: [{ value: id }] },
        }),
      });
      assert.equal(same.statusCode, 204, same.body);
      assert.deepEqual(await memberIds('browse_inventory'), [id]);
      const renamed = await scim('PATCH', 'Groups/browse_inventory', {
        body: patchOp({ op: 'replace', path: 'displayName', value: 'Inventory' }),
      });
      assert.equal(renamed.statusCode, 400);
      assert.equal(renamed.json().scimType, 'mutability');
    });

    it('refuses a member who is not a user of the organization with 400 invalidValue naming them, and changes nothing', async () => {
      const id = await newUser('grp.valid');
      const version = await writeVersionOf(t, t.demo.orgId);
      const before = await holders('call_record_listen');
      const stranger = '22222222-2222-4222-8222-222222222222';
      const res = await scim('PATCH', 'Groups/call_record_listen', {
        body: patchOp({ op: 'add', path: 'members', value: [{ value: id }, { value: stranger }] }),
      });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().scimType, 'invalidValue');
      assert.match(res.json().detail, new RegExp(stranger));
      assert.deepEqual(await holders('call_record_listen'), before);
      assert.deepEqual(await rolesOf(id), []);
      assert.equal(await writeVersionOf(t, t.demo.orgId), version);
    });

    it('refuses POST, PUT and DELETE on Groups with a SCIM error saying roles are fixed', async () => {
      for (const [method, path] of [
        ['POST', 'Groups'],
        ['PUT', 'Groups/reporting'],
        ['DELETE', 'Groups/reporting'],
      ] as const) {
        const res = await scim(method, path, method === 'DELETE' ? {} : { body: { displayName: 'Sales' } });
        assert.equal(res.statusCode, 403, `${method} ${path}`);
        assert.deepEqual(res.json().schemas, [SCIM_ERROR]);
        assert.match(res.json().detail, /fixed roles/);
      }
    });

    it('records each grant as a user write through SCIM in the audit trail', async () => {
      const id = await newUser('grp.audit');
      await scim('PATCH', 'Groups/ordering', { body: patchOp({ op: 'add', path: 'members', value: [{ value: id }] }) });
      const entries = (await api('GET', `audit?target_id=${id}`)).json().results as Array<{
        action: string;
        via?: string;
        changes: Record<string, unknown>;
      }>;
      const grant = entries.at(-1)!;
      assert.equal(grant.via, 'scim');
      assert.deepEqual(grant.changes.roles, { before: [], after: ['ordering'] });
    });
  });
}
