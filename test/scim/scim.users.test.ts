import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { SCIM_ROSTER, SCIM_USER, filterQuery, patchOp, scimCaller } from '../support/scim.js';
import { auditOf, caller, writeVersionOf } from '../support/writes.js';

// SCIM resources are open-ended JSON: the tests read any member of what the server answered.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Resource = Record<string, any>;

for (const dialect of DIALECTS) {
  describe(`SCIM Users: create, read, replace, patch, delete (${dialect})`, () => {
    let t: TestApp;
    let scim: ReturnType<typeof scimCaller>;
    let api: ReturnType<typeof caller>;
    before(async () => {
      t = await buildTestApp(dialect);
      scim = scimCaller(t, t.demo.write);
      api = caller(t, t.demo.admin);
    });
    after(async () => t.close());

    const create = async (body: Resource) => {
      const res = await scim('POST', 'Users', { body: { schemas: [SCIM_USER], ...body } });
      assert.equal(res.statusCode, 201, res.body);
      return res.json<Resource>();
    };
    const apiUser = async (id: string) => (await api('GET', `users/${id}`)).json<Resource>();

    it('creates a user: 201 with Location and ETag (= meta.version); active absent or true is activated, false awaiting approval', async () => {
      const res = await scim('POST', 'Users', {
        body: {
          schemas: [SCIM_USER],
          userName: 'ann.lee',
          emails: [{ value: 'ann@example.com', type: 'work', primary: true }],
        },
      });
      assert.equal(res.statusCode, 201, res.body);
      const user = res.json();
      assert.equal(res.headers.location, user.meta.location);
      assert.match(String(res.headers.location), new RegExp(`/scim/v2/Users/${user.id}$`));
      assert.equal(res.headers.etag, user.meta.version);
      assert.equal(user.active, true);
      assert.equal((await apiUser(user.id)).status, 'activated');
      assert.equal(
        (await api('GET', `users/${user.id}`)).headers.etag,
        user.meta.version,
        'the same strong ETag as the API',
      );
      const inactive = await create({ userName: 'bo.inactive', active: false });
      assert.equal(inactive.active, false);
      assert.equal((await apiUser(inactive.id)).status, 'awaiting_approval');
      assert.equal((await create({ userName: 'cy.active', active: true })).active, true);
    });

    it('ignores and never echoes what Roster does not keep, and never stores a password', async () => {
      const user = await create({
        userName: 'dee.ignored',
        password: 'S3cret-Passw0rd!',
        locale: 'en-US',
        title: 'Engineer',
        groups: [{ value: 'administrator' }],
        meta: { resourceType: 'User' },
        name: { givenName: 'Dee', familyName: 'Ignored', middleName: 'Middle' },
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D' },
      });
      for (const key of ['password', 'locale', 'title', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'])
        assert.equal(key in user, false, `${key} is not echoed`);
      assert.equal(user.name.middleName, undefined);
      assert.equal(user.groups, undefined, 'groups sent on create grant nothing');
      const row = await t.conn.db
        .selectFrom('users')
        .selectAll()
        .where('user_id', '=', user.id)
        .executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(row).includes('S3cret'));
      assert.ok(!JSON.stringify(await auditOf(t, user.id)).includes('S3cret'));
    });

    it('creates a user with no roles and no email; the API shows roles [] and email ""', async () => {
      const user = await create({ userName: 'eve.bare' });
      assert.equal(user.emails, undefined);
      assert.equal(user.roles, undefined);
      const stored = await apiUser(user.id);
      assert.equal(stored.email, '');
      assert.deepEqual(stored.roles, []);
      assert.equal(stored.name, 'eve.bare', 'with no name at all, the userName is the name');
    });

    it('refuses a duplicate userName (any case) with 409 uniqueness, a missing userName and an unknown role with 400 invalidValue', async () => {
      const dup = await scim('POST', 'Users', { body: { userName: 'RSMITH' } });
      assert.equal(dup.statusCode, 409);
      assert.equal(dup.json().scimType, 'uniqueness');
      assert.match(dup.json().detail, /RSMITH/);
      const missing = await scim('POST', 'Users', { body: { name: { formatted: 'No Login' } } });
      assert.equal(missing.statusCode, 400);
      assert.equal(missing.json().scimType, 'invalidValue');
      assert.match(missing.json().detail, /userName/);
      const role = await scim('POST', 'Users', { body: { userName: 'fay.role', roles: [{ value: 'superuser' }] } });
      assert.equal(role.statusCode, 400);
      assert.match(role.json().detail, /"superuser"/);
      assert.equal((await scim('GET', `Users?${filterQuery('userName eq "fay.role"')}`)).json().totalResults, 0);
    });

    it("stores phone numbers in Roster's form and refuses one that cannot be, naming it", async () => {
      for (const [given, stored] of [
        ['+1 705 722 4398', '705-722-4398'],
        ['(705) 722-4398', '705-722-4398'],
        ['705.722.4398', '705-722-4398'],
      ] as const) {
        const user = await create({
          userName: `phone.${stored}.${given.length}`,
          phoneNumbers: [{ value: given, type: 'work' }],
        });
        assert.equal((await apiUser(user.id)).phone, stored);
        assert.deepEqual(user.phoneNumbers, [{ value: stored, type: 'work' }]);
      }
      const bad = await scim('POST', 'Users', {
        body: { userName: 'phone.bad', phoneNumbers: [{ value: '+44 20 7946 0958', type: 'work' }] },
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().scimType, 'invalidValue');
      assert.match(bad.json().detail, /\+44 20 7946 0958/);
    });

    it('sets the name from name.formatted, else from a displayName alone, else "given family" when those change', async () => {
      const formatted = await create({
        userName: 'gil.formatted',
        displayName: 'Ignored Display',
        name: { formatted: 'Gil Formatted', givenName: 'G', familyName: 'F' },
      });
      assert.equal((await apiUser(formatted.id)).name, 'Gil Formatted');
      const display = await create({ userName: 'hal.display', displayName: 'Hal Display' });
      assert.equal((await apiUser(display.id)).name, 'Hal Display');
      const parts = await create({ userName: 'ida.parts', name: { givenName: 'Ida', familyName: 'Parts' } });
      assert.equal((await apiUser(parts.id)).name, 'Ida Parts');
      const patched = await scim('PATCH', `Users/${parts.id}`, {
        body: patchOp({ op: 'replace', path: 'name.givenName', value: 'Idella' }),
      });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.equal(patched.json().name.formatted, 'Idella Parts');
      assert.equal(patched.json().displayName, 'Idella Parts');
      const renamed = await scim('PATCH', `Users/${parts.id}`, {
        body: patchOp({ op: 'replace', path: 'displayName', value: 'Ida P.' }),
      });
      assert.equal(renamed.json().name.formatted, 'Ida P.');
      assert.equal(renamed.json().name.givenName, 'Idella', 'given and family names round-trip');
    });

    it('gives created and lastModified in UTC with Z and 7 fraction digits; lastModified gt its own value excludes the user', async () => {
      const user = await create({ userName: 'jo.meta', externalId: 'ext-jo-meta' });
      assert.match(user.meta.created, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/);
      assert.match(user.meta.lastModified, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/);
      assert.equal(user.meta.resourceType, 'User');
      const own = user.meta.lastModified as string;
      const gt = (
        await scim('GET', `Users?${filterQuery(`externalId eq "ext-jo-meta" and meta.lastModified gt "${own}"`)}`)
      ).json();
      assert.equal(gt.totalResults, 0);
      const ge = (
        await scim('GET', `Users?${filterQuery(`externalId eq "ext-jo-meta" and meta.lastModified ge "${own}"`)}`)
      ).json();
      assert.equal(ge.totalResults, 1);
    });

    it('reads a user by id, 404 for an unknown id, and honours attributes and excludedAttributes', async () => {
      const user = await create({
        userName: 'kim.read',
        emails: [{ value: 'kim@example.com', type: 'work' }],
        name: { givenName: 'Kim', familyName: 'Read' },
      });
      const read = await scim('GET', `Users/${user.id}`);
      assert.equal(read.statusCode, 200);
      assert.deepEqual(read.json(), user);
      assert.equal(read.headers.etag, user.meta.version);
      assert.equal((await scim('GET', 'Users/00000000-0000-4000-8000-000000000000')).statusCode, 404);
      const only = (await scim('GET', `Users/${user.id}?attributes=userName,name.givenName,emails.value`)).json();
      assert.deepEqual(only, {
        schemas: user.schemas,
        id: user.id,
        userName: 'kim.read',
        name: { givenName: 'Kim' },
        emails: [{ value: 'kim@example.com' }],
      });
      const without = (await scim('GET', `Users/${user.id}?excludedAttributes=emails,meta,${SCIM_ROSTER}`)).json();
      assert.equal(without.emails, undefined);
      assert.equal(without.meta, undefined);
      assert.equal(without[SCIM_ROSTER], undefined);
      assert.equal(without.userName, 'kim.read');
    });

    it('replaces what the client manages: omitted emails, phones, externalId and name parts cleared; roles and extension kept', async () => {
      const user = await create({
        userName: 'lou.put',
        externalId: 'ext-lou',
        name: { givenName: 'Lou', familyName: 'Put' },
        emails: [{ value: 'lou@example.com', type: 'work' }],
        phoneNumbers: [{ value: '705-722-4398', type: 'work' }],
        roles: [{ value: 'reporting' }, { value: 'ordering' }],
        [SCIM_ROSTER]: { callDetailLevel: 'no_caller', restrictRecordingDownload: true },
      });
      const res = await scim('PUT', `Users/${user.id}`, {
        body: { schemas: [SCIM_USER], id: user.id, userName: 'lou.put', active: true },
      });
      assert.equal(res.statusCode, 200, res.body);
      const put = res.json();
      assert.equal(put.externalId, undefined);
      assert.equal(put.emails, undefined);
      assert.equal(put.phoneNumbers, undefined);
      assert.deepEqual(put.name, { formatted: 'Lou Put' }, 'the name stays; its parts are cleared');
      assert.deepEqual(
        put.roles.map((r: Resource) => r.value),
        ['reporting', 'ordering'],
      );
      assert.equal(put[SCIM_ROSTER].callDetailLevel, 'no_caller');
      assert.equal(put[SCIM_ROSTER].restrictRecordingDownload, true);
      assert.equal(res.headers.etag, put.meta.version);
      assert.notEqual(put.meta.version, user.meta.version);
    });

    it('PUT active false deactivates and true activates; echoing the id is accepted, another id is 400 mutability', async () => {
      const user = await create({ userName: 'max.active' });
      const off = await scim('PUT', `Users/${user.id}`, {
        body: { id: user.id, userName: 'max.active', active: false },
      });
      assert.equal(off.statusCode, 200, off.body);
      assert.equal((await apiUser(user.id)).status, 'deactivated');
      const record = await t.conn.db
        .selectFrom('user_deactivations')
        .selectAll()
        .where('user_id', '=', user.id)
        .execute();
      assert.equal(record.length, 1, 'the deactivation is recorded as the API records it');
      const on = await scim('PUT', `Users/${user.id}`, { body: { userName: 'max.active', active: true } });
      assert.equal(on.json().active, true);
      assert.equal((await apiUser(user.id)).status, 'activated');
      const other = await scim('PUT', `Users/${user.id}`, {
        body: { id: '11111111-1111-4111-8111-111111111111', userName: 'max.active' },
      });
      assert.equal(other.statusCode, 400);
      assert.equal(other.json().scimType, 'mutability');
    });

    it('refuses a PUT or PATCH with a stale If-Match with 412 and changes nothing', async () => {
      const user = await create({ userName: 'ned.etag' });
      const stale = user.meta.version as string;
      assert.equal(
        (
          await scim('PATCH', `Users/${user.id}`, {
            body: patchOp({ op: 'replace', path: 'displayName', value: 'Ned E' }),
            headers: { 'if-match': stale },
          })
        ).statusCode,
        200,
      );
      const put = await scim('PUT', `Users/${user.id}`, {
        body: { userName: 'ned.changed' },
        headers: { 'if-match': stale },
      });
      assert.equal(put.statusCode, 412);
      assert.equal(put.json().status, '412');
      const patch = await scim('PATCH', `Users/${user.id}`, {
        body: patchOp({ op: 'replace', path: 'userName', value: 'ned.changed' }),
        headers: { 'if-match': stale },
      });
      assert.equal(patch.statusCode, 412);
      assert.equal((await apiUser(user.id)).username, 'ned.etag');
    });

    it('PATCH: add, replace and remove with and without a path, op names in any case, string booleans, extension paths', async () => {
      const user = await create({ userName: 'ola.patch', name: { givenName: 'Ola', familyName: 'Patch' } });
      const res = await scim('PATCH', `Users/${user.id}`, {
        body: patchOp(
          { op: 'Add', path: 'emails[type eq "work"].value', value: 'ola@example.com' },
          { op: 'REPLACE', path: `${SCIM_ROSTER}:callDetailLevel`, value: 'no_call' },
          { op: 'add', path: 'roles', value: [{ value: 'reporting' }] },
          { op: 'replace', value: { externalId: 'ext-ola', [`${SCIM_ROSTER}:restrictRecordingDownload`]: 'True' } },
          { op: 'add', value: { phoneNumbers: [{ value: '(705) 722-4398', type: 'work' }] } },
          { op: 'Remove', path: 'name.familyName' },
        ),
      });
      assert.equal(res.statusCode, 200, res.body);
      const patched = res.json();
      assert.deepEqual(patched.emails, [{ value: 'ola@example.com', type: 'work', primary: true }]);
      assert.equal(patched[SCIM_ROSTER].callDetailLevel, 'no_call');
      assert.equal(patched[SCIM_ROSTER].restrictRecordingDownload, true);
      assert.deepEqual(patched.roles, [{ value: 'reporting', display: 'reporting' }]);
      assert.equal(patched.externalId, 'ext-ola');
      assert.deepEqual(patched.phoneNumbers, [{ value: '705-722-4398', type: 'work' }]);
      assert.equal(patched.name.familyName, undefined);
      assert.equal(patched.name.givenName, 'Ola');
      const stored = await apiUser(user.id);
      assert.equal(stored.email, 'ola@example.com');
      assert.equal(stored.call_detail_level, 'no_call');
    });

    it('PATCH: a path-less replace merges only the attributes it names; replace userName renames; active "False" deactivates', async () => {
      const user = await create({
        userName: 'pia.merge',
        name: { givenName: 'Pia', familyName: 'Merge' },
        emails: [{ value: 'pia@example.com', type: 'work' }],
      });
      const merged = await scim('PATCH', `Users/${user.id}`, {
        body: patchOp({ op: 'replace', value: { name: { familyName: 'Merged' } } }),
      });
      assert.equal(merged.statusCode, 200, merged.body);
      assert.equal(merged.json().name.givenName, 'Pia');
      assert.equal(merged.json().name.familyName, 'Merged');
      assert.deepEqual(merged.json().emails, user.emails);
      const renamed = await scim('PATCH', `Users/${user.id}`, {
        body: patchOp(
          { op: 'replace', path: 'userName', value: 'pia.renamed' },
          { op: 'Replace', path: 'active', value: 'False' },
        ),
      });
      assert.equal(renamed.json().userName, 'pia.renamed');
      assert.equal(renamed.json().active, false);
      const stored = await apiUser(user.id);
      assert.deepEqual([stored.username, stored.status], ['pia.renamed', 'deactivated']);
      const back = await scim('PATCH', `Users/${user.id}`, {
        body: patchOp({ op: 'replace', value: { active: 'True' } }),
      });
      assert.equal(back.json().active, true);
    });

    it('PATCH: a bad path is 400 invalidPath, changing id 400 mutability, removing without a path 400 noTarget; a refused PATCH changes nothing', async () => {
      const user = await create({ userName: 'quin.refused', emails: [{ value: 'quin@example.com', type: 'work' }] });
      const before = await apiUser(user.id);
      const version = await writeVersionOf(t, t.demo.orgId);
      const bad = await scim('PATCH', `Users/${user.id}`, {
        body: patchOp(
          { op: 'replace', path: 'displayName', value: 'Changed' },
          { op: 'replace', path: 'favouriteColour', value: 'blue' },
        ),
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().scimType, 'invalidPath');
      assert.match(bad.json().detail, /favouriteColour/);
      const id = await scim('PATCH', `Users/${user.id}`, {
        body: patchOp({ op: 'replace', path: 'id', value: '11111111-1111-4111-8111-111111111111' }),
      });
      assert.equal(id.json().scimType, 'mutability');
      const noTarget = await scim('PATCH', `Users/${user.id}`, { body: patchOp({ op: 'remove' }) });
      assert.equal(noTarget.json().scimType, 'noTarget');
      const badEmail = await scim('PATCH', `Users/${user.id}`, {
        body: patchOp(
          { op: 'replace', path: 'displayName', value: 'Changed' },
          { op: 'replace', path: 'emails[type eq "work"].value', value: 'not an email' },
        ),
      });
      assert.equal(badEmail.statusCode, 400);
      assert.match(badEmail.json().detail, /not an email/);
      assert.deepEqual(await apiUser(user.id), before);
      assert.equal(await writeVersionOf(t, t.demo.orgId), version, 'no write happened');
    });

    it('DELETE: 204, then 404 and absent from lists; the API keeps the user deactivated and renamed; the userName is free again', async () => {
      const user = await create({ userName: 'rex.gone', externalId: 'ext-rex', roles: [{ value: 'reporting' }] });
      const total = (await scim('GET', 'Users?count=0')).json().totalResults as number;
      const res = await scim('DELETE', `Users/${user.id}`);
      assert.equal(res.statusCode, 204);
      assert.equal(res.body, '');
      assert.equal((await scim('GET', `Users/${user.id}`)).statusCode, 404);
      assert.equal((await scim('DELETE', `Users/${user.id}`)).statusCode, 404);
      assert.equal((await scim('GET', `Users?${filterQuery('externalId eq "ext-rex"')}`)).json().totalResults, 0);
      assert.equal((await scim('GET', 'Users?count=0')).json().totalResults, total - 1);
      const members = (await scim('GET', 'Groups/reporting')).json().members as Resource[];
      assert.ok(!members.some((m) => m.value === user.id));
      const kept = await apiUser(user.id);
      assert.equal(kept.status, 'deactivated');
      assert.equal(kept.username, `deleted:${user.id}`);
      const again = await create({ userName: 'rex.gone' });
      assert.notEqual(again.id, user.id);
      const entry = (await auditOf(t, user.id)).at(-1)!;
      assert.equal(entry.action, 'user.delete');
      assert.equal(entry.via, 'scim');
      assert.deepEqual(JSON.parse(entry.changes).username, { before: 'rex.gone', after: `deleted:${user.id}` });
    });

    it('goes through the API rules: every write bumps write_version and leaves an audit entry marked as from SCIM', async () => {
      const version = await writeVersionOf(t, t.demo.orgId);
      const user = await create({ userName: 'sam.audit' });
      await scim('PATCH', `Users/${user.id}`, {
        body: patchOp({ op: 'replace', path: 'displayName', value: 'Sam A' }),
      });
      await scim('PUT', `Users/${user.id}`, { body: { userName: 'sam.audit' } });
      assert.equal(await writeVersionOf(t, t.demo.orgId), version + 3);
      const entries = (await api('GET', `audit?target_id=${user.id}`)).json().results as Resource[];
      assert.deepEqual(
        entries.map((e) => e.action),
        ['user.create', 'user.patch', 'user.replace'],
      );
      assert.ok(entries.every((e) => e.via === 'scim'));
      assert.deepEqual(entries[1]!.changes.name, { before: 'sam.audit', after: 'Sam A' });
      const billing = await scim('PATCH', `Users/${user.id}`, {
        body: patchOp({ op: 'add', path: `${SCIM_ROSTER}:billingGroups`, value: ['999999'] }),
      });
      assert.equal(billing.statusCode, 400);
      assert.match(billing.json().detail, /billingGroups/);
    });
  });
}
