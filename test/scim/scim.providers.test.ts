import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { filterQuery, scimCaller } from '../support/scim.js';
import { caller } from '../support/writes.js';

// The request sequences Microsoft Entra ID and Okta send, with their request bodies as the providers
// document them (Microsoft: "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft
// Entra ID", SCIM protocol requests and responses; Okta: "Okta and SCIM Version 2.0"). Only the ids the
// server assigns are substituted.

const ENTRA_CREATE = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
  externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
  userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1',
  active: true,
  emails: [
    {
      primary: true,
      type: 'work',
      value: 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com',
    },
  ],
  meta: {
    resourceType: 'User',
  },
  name: {
    formatted: 'givenName familyName',
    familyName: 'familyName',
    givenName: 'givenName',
  },
  roles: [],
};

/** Update User [Multi-valued properties], as Microsoft documents it. */
const ENTRA_PATCH_MULTI = {
  schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
  Operations: [
    {
      op: 'Replace',
      path: 'emails[type eq "work"].value',
      value: 'updatedEmail@microsoft.com',
    },
    {
      op: 'Replace',
      path: 'name.familyName',
      value: 'updatedFamilyName',
    },
  ],
};

/** The quirks Entra ID's jobs send: Add for a replaced value, attributes Roster does not keep, a path-less value with dotted keys. */
const ENTRA_PATCH_QUIRKS = {
  schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
  Operations: [
    { op: 'Replace', path: 'title', value: 'tester' },
    { op: 'Add', path: 'emails[type eq "work"].value', value: 'quirk@testuser.com' },
    {
      op: 'Add',
      path: 'manager',
      value: [
        {
          $ref: 'http://.../scim/Users/2819c223-7f76-453a-919d-413861904646',
          value: '2819c223-7f76-453a-919d-413861904646',
        },
      ],
    },
    {
      op: 'Add',
      value: {
        'name.givenName': 'updatedGivenName',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department': 'Finance',
      },
    },
  ],
};

/** Disable User, with the string boolean Entra ID's jobs send. */
const ENTRA_DISABLE = {
  Operations: [
    {
      op: 'Replace',
      path: 'active',
      value: 'False',
    },
  ],
  schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
};

const OKTA_CREATE = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  userName: 'test.user@okta.local',
  name: {
    givenName: 'Test',
    familyName: 'User',
  },
  emails: [
    {
      primary: true,
      value: 'test.user@okta.local',
      type: 'work',
    },
  ],
  displayName: 'Test User',
  locale: 'en-US',
  externalId: '00ujl29u0le5T6Aj10h7',
  groups: [],
  password: '1mz050nq',
  active: true,
};

/** Okta's PUT: the profile as Okta holds it, the server's id echoed. */
const oktaPut = (id: string, active: boolean) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  id,
  userName: 'test.user@okta.local',
  name: {
    givenName: 'Another',
    middleName: 'Excited',
    familyName: 'User',
  },
  emails: [
    {
      primary: true,
      value: 'test.user@okta.local',
      type: 'work',
      display: 'test.user@okta.local',
    },
  ],
  active,
  groups: [],
  meta: {
    resourceType: 'User',
  },
});

for (const dialect of DIALECTS) {
  describe(`identity provider flows (${dialect})`, () => {
    let t: TestApp;
    let scim: ReturnType<typeof scimCaller>;
    let api: ReturnType<typeof caller>;
    before(async () => {
      t = await buildTestApp(dialect);
      scim = scimCaller(t, t.demo.write);
      api = caller(t, t.demo.admin);
    });
    after(async () => t.close());

    it("passes the Microsoft Entra SCIM validator's flow: query, create, filter, patch, disable, delete", async () => {
      const before = await scim('GET', `Users?${filterQuery(`userName eq "${ENTRA_CREATE.userName}"`)}`);
      assert.equal(before.statusCode, 200);
      assert.deepEqual([before.json().totalResults, before.json().Resources], [0, []]);

      const created = await scim('POST', 'Users', { body: ENTRA_CREATE });
      assert.equal(created.statusCode, 201, created.body);
      const user = created.json();
      assert.equal(user.userName, ENTRA_CREATE.userName);
      assert.equal(user.externalId, ENTRA_CREATE.externalId);
      assert.deepEqual(user.name, ENTRA_CREATE.name);
      assert.deepEqual(
        user.emails,
        ENTRA_CREATE.emails.map(({ value, type, primary }) => ({ value, type, primary })),
      );
      assert.equal(user.active, true);
      assert.equal(user['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'], undefined);

      for (const filter of [
        `userName eq "${ENTRA_CREATE.userName.toLowerCase()}"`,
        `externalId eq "${ENTRA_CREATE.externalId}"`,
        `emails[type eq "work"].value eq "${ENTRA_CREATE.emails[0]!.value}"`,
      ]) {
        const found = (await scim('GET', `Users?${filterQuery(filter)}`)).json();
        assert.equal(found.totalResults, 1, filter);
        assert.equal(found.Resources[0].id, user.id, filter);
      }

      const multi = await scim('PATCH', `Users/${user.id}`, { body: ENTRA_PATCH_MULTI });
      assert.equal(multi.statusCode, 200, multi.body);
      assert.deepEqual(multi.json().name, {
        formatted: 'givenName updatedFamilyName',
        givenName: 'givenName',
        familyName: 'updatedFamilyName',
      });
      assert.equal(multi.json().emails[0].value, 'updatedEmail@microsoft.com');

      const quirks = await scim('PATCH', `Users/${user.id}`, { body: ENTRA_PATCH_QUIRKS });
      assert.equal(quirks.statusCode, 200, quirks.body);
      assert.equal(quirks.json().name.formatted, 'updatedGivenName updatedFamilyName');
      assert.deepEqual(quirks.json().emails, [{ value: 'quirk@testuser.com', type: 'work', primary: true }]);
      assert.equal(quirks.json().title, undefined);

      const disabled = await scim('PATCH', `Users/${user.id}`, { body: ENTRA_DISABLE });
      assert.equal(disabled.statusCode, 200, disabled.body);
      assert.equal(disabled.json().active, false);
      const filtered = (await scim('GET', `Users?${filterQuery(`userName eq "${ENTRA_CREATE.userName}"`)}`)).json();
      assert.equal(filtered.Resources[0].active, false, 'a disabled user is still found, with active false');
      assert.equal((await api('GET', `users/${user.id}`)).json().status, 'deactivated');

      const deleted = await scim('DELETE', `Users/${user.id}`);
      assert.equal(deleted.statusCode, 204);
      const gone = await scim('GET', `Users/${user.id}`);
      assert.equal(gone.statusCode, 404);
      assert.deepEqual(gone.json().schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
      assert.equal(gone.json().status, '404');
    });

    it("passes Okta's SCIM 2.0 test flow: list, random filter, create, get, PUT active false, group push with replace members", async () => {
      const list = await scim('GET', 'Users?startIndex=1&count=100');
      assert.equal(list.statusCode, 200);
      const page = list.json();
      assert.deepEqual([page.startIndex, page.itemsPerPage], [1, 100]);
      assert.ok(page.totalResults >= 165);
      assert.equal(typeof page.totalResults, 'number');

      const random = `${crypto.randomUUID()}@example.com`;
      const none = (
        await scim('GET', `Users?${filterQuery(`userName eq "${random}"`, '&startIndex=1&count=100')}`)
      ).json();
      assert.deepEqual([none.totalResults, none.Resources], [0, []]);

      const created = await scim('POST', 'Users', { body: OKTA_CREATE });
      assert.equal(created.statusCode, 201, created.body);
      const user = created.json();
      assert.equal(user.userName, 'test.user@okta.local');
      assert.equal(user.displayName, 'Test User');
      assert.equal(user.externalId, '00ujl29u0le5T6Aj10h7');
      assert.equal(user.password, undefined);
      const again = await scim('POST', 'Users', { body: OKTA_CREATE });
      assert.equal(again.statusCode, 409);

      const read = await scim('GET', `Users/${user.id}`);
      assert.equal(read.statusCode, 200);
      assert.deepEqual(read.json(), user);

      const put = await scim('PUT', `Users/${user.id}`, { body: oktaPut(user.id, false) });
      assert.equal(put.statusCode, 200, put.body);
      assert.equal(put.json().active, false);
      assert.deepEqual(put.json().name, { formatted: 'Another User', givenName: 'Another', familyName: 'User' });
      assert.equal(put.json().externalId, undefined, 'the PUT did not send externalId: it is cleared');
      assert.equal((await api('GET', `users/${user.id}`)).json().status, 'deactivated');
      const back = await scim('PUT', `Users/${user.id}`, { body: oktaPut(user.id, true) });
      assert.equal(back.json().active, true);

      const groups = (
        await scim('GET', `Groups?${filterQuery('displayName eq "reporting"', '&startIndex=1&count=100')}`)
      ).json();
      assert.equal(groups.totalResults, 1);
      const group = groups.Resources[0].id as string;
      const rename = await scim('PATCH', `Groups/${group}`, {
        body: {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'replace', value: { id: group, displayName: 'reporting' } }],
        },
      });
      assert.equal(rename.statusCode, 204, rename.body);
      const other = (await scim('GET', `Users?${filterQuery('userName eq "rsmith"')}`)).json().Resources[0]
        .id as string;
      const push = await scim('PATCH', `Groups/${group}`, {
        body: {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [
            {
              op: 'replace',
              path: 'members',
              value: [
                { value: user.id, display: 'test.user@okta.local' },
                { value: other, display: 'test.user@okta.local' },
              ],
            },
          ],
        },
      });
      assert.equal(push.statusCode, 204, push.body);
      const members = async () =>
        ((await scim('GET', `Groups/${group}`)).json().members as Array<{ value: string }>).map((m) => m.value).sort();
      assert.deepEqual(await members(), [user.id, other].sort());
      const holders = (await api('GET', 'users?role=reporting&pagesize=10000')).json().results as Array<{
        user_id: string;
      }>;
      assert.deepEqual(holders.map((u) => u.user_id).sort(), [user.id, other].sort());
      const pushRemove = await scim('PATCH', `Groups/${group}`, {
        body: {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [
            { op: 'remove', path: `members[value eq "${other}"]` },
            { op: 'add', path: 'members', value: [{ value: user.id, display: 'test.user@okta.local' }] },
          ],
        },
      });
      assert.equal(pushRemove.statusCode, 204, pushRemove.body);
      assert.deepEqual(await members(), [user.id]);
    });
  });
}
