import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ImportFileError } from '../../src/import/import.source.js';
import { createKeyService } from '../../src/auth/key.service.js';
import { createOrgService } from '../../src/orgs/org.service.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { ALL_COLUMNS, importFile, tempFile } from './helpers.js';

const ALICE_ID = '0b6f4a8e-1d2c-4e5f-8a9b-0c1d2e3f4a5b';
/** A user object as the API returns it (give each test its own user_id: they are unique across organizations). */
const API_USER = {
  username: 'nd',
  name: 'N D',
  email: '',
  phone: '',
  call_detail_level: 'full',
  restrict_recording_download: false,
  status: 'activated',
  last_login_date: null,
  last_updated_date: '2020-02-02T02:02:02.2',
  roles: ['reporting'],
  access: { billing_groups: [], group_owners: [] },
};

for (const dialect of DIALECTS) {
  describe(`roster import: rows, rules and idempotence (${dialect})`, () => {
    let t: TestApp;
    let orgId: number;
    let key: string;
    let orgN = 0;
    before(async () => {
      t = await buildTestApp(dialect);
    });
    after(async () => t.close());

    /** A fresh, empty organization for each test, with an admin key. */
    async function freshOrg(): Promise<void> {
      orgId = await createOrgService(t.conn.db).createOrganization(`imp${++orgN}`);
      key = (await createKeyService(t.conn.db).createApiKey(orgId, 'admin')).key;
    }
    const getUsers = async (query = '') => {
      const res = await t.app.inject({ url: `/api/v1/users?pagesize=10000${query}`, headers: bearer(key) });
      assert.equal(res.statusCode, 200);
      return res;
    };
    const getUser = async (ref: string) =>
      (await t.app.inject({ url: `/api/v1/users/${encodeURIComponent(ref)}`, headers: bearer(key) })).json();
    /** Two users naming billing groups base+1, base+2 and group base+101 (none exist yet), and billing group 1234 (the demo organization's). */
    const accessFile = (base: number) =>
      tempFile(
        'access.ndjson',
        [
          JSON.stringify({
            username: 'acc1',
            name: 'A',
            call_detail_level: 'full',
            roles: ['reporting'],
            access: { billing_groups: [String(base + 1), String(base + 2)], group_owners: [String(base + 101)] },
          }),
          JSON.stringify({
            username: 'acc2',
            name: 'B',
            call_detail_level: 'full',
            roles: ['reporting'],
            access: { billing_groups: ['1234'], group_owners: [] },
          }),
          '',
        ].join('\n'),
      );

    it('imports CSV keeping user_id, status, every date with its 7 fraction digits, and the field values', async () => {
      await freshOrg();
      const file = tempFile(
        'users.csv',
        [
          ALL_COLUMNS,
          `${ALICE_ID},alice,Alice Liddell,alice@example.com,705-722-4398,no_caller,true,deactivated,2016-03-03T16:13:59.1917141,2015-12-03T20:06:02.0830000,2016-08-24T13:39:03.937,call_record_listen;reporting,,`,
          ',bob,"Bob, ""the builder""",,,full,false,activated,,2021-01-01T00:00:00,,reporting,,',
          '',
        ].join('\n'),
      );
      const run = await importFile(t.conn, orgId, file);
      assert.deepEqual(run.messages, []);
      assert.deepEqual(run.counts, { imported: 2, updated: 0, unchanged: 0, rejected: 0 });
      assert.equal(
        JSON.stringify(await getUser('alice')),
        JSON.stringify({
          user_id: ALICE_ID,
          username: 'alice',
          name: 'Alice Liddell',
          email: 'alice@example.com',
          phone: '705-722-4398',
          call_detail_level: 'no_caller',
          restrict_recording_download: true,
          status: 'deactivated',
          last_login_date: '2016-03-03T16:13:59.1917141',
          last_updated_date: '2015-12-03T20:06:02.083',
          deactivation_date: '2016-08-24T13:39:03.937',
          roles: ['call_record_listen', 'reporting'],
          access: { billing_groups: [], group_owners: [] },
        }),
      );
      const bob = await getUser('BOB');
      assert.equal(bob.name, 'Bob, "the builder"');
      assert.equal(bob.last_login_date, null);
      assert.equal(bob.last_updated_date, '2021-01-01T00:00:00');
      assert.equal('deactivation_date' in bob, false);
    });

    it('importing the same file twice changes nothing the second time (unchanged, same bodies, same write_version)', async () => {
      await freshOrg();
      const file = tempFile(
        'twice.csv',
        [
          'username,name,call_detail_level,roles,status',
          'émile,Émile Zola,full,reporting,activated',
          'carol,Carol,no_call,rescue;ordering,awaiting_approval',
          '',
        ].join('\n'),
      );
      const first = await importFile(t.conn, orgId, file);
      assert.deepEqual(first.counts, { imported: 2, updated: 0, unchanged: 0, rejected: 0 });
      const before = (await getUsers()).body;
      const version = async () =>
        (
          await t.conn.db
            .selectFrom('organizations')
            .select('write_version')
            .where('id', '=', orgId)
            .executeTakeFirstOrThrow()
        ).write_version;
      const v1 = await version();
      const audit1 = (await t.conn.db.selectFrom('audit_entries').select('id').where('org_id', '=', orgId).execute())
        .length;
      const second = await importFile(t.conn, orgId, file);
      assert.deepEqual(second.counts, { imported: 0, updated: 0, unchanged: 2, rejected: 0 });
      assert.equal((await getUsers()).body, before);
      assert.equal(await version(), v1);
      assert.equal(
        (await t.conn.db.selectFrom('audit_entries').select('id').where('org_id', '=', orgId).execute()).length,
        audit1,
      );
    });

    it('upserts by username case-insensitively (Unicode), dating an undated change now and auditing it', async () => {
      await freshOrg();
      await importFile(
        t.conn,
        orgId,
        tempFile(
          'a.csv',
          'username,name,call_detail_level,roles,last_updated_date\nÉmile,Émile Zola,full,reporting,2020-01-01T00:00:00\n',
        ),
      );
      const before = await getUser('émile');
      const run = await importFile(
        t.conn,
        orgId,
        tempFile('b.csv', 'username,name\nÉMILE,Émile Édouard Charles Antoine Zola\n'),
      );
      assert.deepEqual(run.counts, { imported: 0, updated: 1, unchanged: 0, rejected: 0 });
      const after = await getUser('émile');
      assert.equal(after.user_id, before.user_id);
      assert.equal(after.username, 'ÉMILE');
      assert.equal(after.name, 'Émile Édouard Charles Antoine Zola');
      assert.deepEqual(after.roles, ['reporting']);
      assert.ok(after.last_updated_date > '2026-01-01', after.last_updated_date);
      const entry = await t.conn.db
        .selectFrom('audit_entries')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('target_id', '=', before.user_id)
        .executeTakeFirstOrThrow();
      assert.equal(entry.action, 'user.import');
      assert.equal(entry.actor, 'cli');
      assert.deepEqual(Object.keys(JSON.parse(entry.changes)).sort(), ['last_updated_date', 'name', 'username']);
    });

    it('reads UTF-8 with a BOM and CRLF line ends, and numbers lines correctly (quoted line breaks included)', async () => {
      await freshOrg();
      const text =
        '\uFEFFusername,name,call_detail_level,roles\r\nzoë,"Zoë Saldaña, ""Z""",full,reporting\r\nmulti,"Line\r\nbreak",full,reporting\r\n\r\nbad/name,X,full,reporting\r\n李雷,李雷,no_call,ordering\r\n';
      const run = await importFile(t.conn, orgId, tempFile('bom.csv', Buffer.from(text, 'utf8')));
      assert.deepEqual(run.counts, { imported: 2, updated: 0, unchanged: 0, rejected: 2 });
      assert.deepEqual(run.messages, [
        'line 3, name: "Line\\r\\nbreak" holds U+000D at character 5, a control, format (invisible) or line-separator character; remove it',
        'line 6, username: "bad/name" holds "/", which a username may not contain',
      ]);
      assert.deepEqual(
        run.rejections.map((r) => r.raw),
        ['multi,"Line\r\nbreak",full,reporting', 'bad/name,X,full,reporting'],
      );
      assert.equal((await getUser('zoë')).name, 'Zoë Saldaña, "Z"');
      assert.equal((await getUser('李雷')).call_detail_level, 'no_call');
    });

    for (const [label, name, content] of [
      ['an empty CSV file', 'empty.csv', ''],
      ['a CSV file of only its header', 'header.csv', `${ALL_COLUMNS}\r\n`],
      ['an empty NDJSON file', 'empty.ndjson', ''],
      ['an NDJSON file of blank lines', 'blank.ndjson', '\n\n'],
      ['an empty JSON array', 'empty.json', '[]'],
    ] as const) {
      it(`${label} imports nothing, without error`, async () => {
        await freshOrg();
        const run = await importFile(t.conn, orgId, tempFile(name, content));
        assert.deepEqual(run.counts, { imported: 0, updated: 0, unchanged: 0, rejected: 0 });
        assert.equal((await getUsers()).json().paging.total, 0);
      });
    }

    it('rejects each bad row with its line, field and reason; the good rows still land', async () => {
      await freshOrg();
      const file = tempFile(
        'bad.csv',
        [
          'username,name,email,phone,call_detail_level,restrict_recording_download,status,roles,last_login_date,user_id',
          'good1,Good,,,full,false,activated,reporting,,',
          'bad1,Bad,not-an-email,12345,full,false,activated,reporting,,',
          'bad2,Bad,,,everything,maybe,retired,reporting;reporting,yesterday,',
          'bad3,Bad,,,full,false,activated,,,',
          ' bad4,Bad,,,full,false,activated,Reporting,,',
          'bad5,Bad,,,full,false,activated,reporting,,not-a-uuid',
          'good2,Good,,,full,false,activated,reporting;rescue,,',
          'bad6,Bad,,,full,false,activated,reporting',
          '',
        ].join('\n'),
      );
      const run = await importFile(t.conn, orgId, file);
      assert.deepEqual(run.counts, { imported: 2, updated: 0, unchanged: 0, rejected: 6 });
      assert.deepEqual(run.messages, [
        'line 3, email: "not-an-email" is not an email address (like name@example.com); leave it empty when unknown',
        'line 3, phone: "12345" has 5 digits; a phone number has exactly 10 (like 705-722-4398), or leave it empty',
        'line 4, call_detail_level: "everything" is not a call detail level; use one of "full", "no_caller", "no_call"',
        'line 4, restrict_recording_download: "maybe" is not true or false',
        'line 4, status: "retired" is not a status; use one of "awaiting_approval", "activated", "deactivated"',
        'line 4, roles: names "reporting" twice; list each role once',
        'line 4, last_login_date: "yesterday" is not a UTC timestamp like 2016-03-03T16:13:59.1917141 (or RFC 3339 with Z or an offset)',
        'line 5, roles: is required for a new user (no user of this organization has this user_id or username)',
        'line 6, username: " bad4" starts or ends with a space; remove it',
        'line 6, roles: "Reporting" is not a role; roles are "administrator", "org_group_admin", "ordering", "reporting", "browse_inventory", "view_stop_call_data", "call_record_listen", "rescue"',
        'line 7, user_id: "not-a-uuid" is not a UUID (like 627b4c86-1ff1-4ca7-8827-95c214666636)',
        'line 9, (row): has 8 fields but the header has 10: check for a missing or extra comma, or a value holding a comma that is not in quotes',
      ]);
      assert.deepEqual(
        (await getUsers()).json().results.map((u: { username: string }) => u.username),
        ['good1', 'good2'],
      );
    });

    it('rejects a row naming a user that an earlier batch of the file named (by username, ignoring case)', async () => {
      await freshOrg();
      const rows = [
        'username,name,call_detail_level,roles',
        'dup,One,full,reporting',
        'other,Other,full,reporting',
        'DUP,Two,full,reporting',
        'Other,Again,full,reporting',
      ];
      const run = await importFile(t.conn, orgId, tempFile('dup.csv', `${rows.join('\n')}\n`), { batchSize: 2 });
      assert.deepEqual(run.counts, { imported: 2, updated: 0, unchanged: 0, rejected: 2 });
      assert.deepEqual(run.messages, [
        'line 4, username: "DUP" names the same user as line 2 of this file; a file may name each user once',
        'line 5, username: "Other" names the same user as line 3 of this file; a file may name each user once',
      ]);
    });

    it('rejects a username used twice in one batch, ignoring case, and keeps the first', async () => {
      await freshOrg();
      const inOneBatch = await importFile(
        t.conn,
        orgId,
        tempFile('dup2.csv', 'username,name,call_detail_level,roles\nnew1,A,full,reporting\nNEW1,B,full,reporting\n'),
      );
      assert.deepEqual(inOneBatch.messages, [
        'line 3, username: "NEW1" appears again in this file (first on line 2); usernames are unique, ignoring case and look-alike characters',
      ]);
      assert.equal((await getUser('new1')).name, 'A');
    });

    it('rejects a username another user of the organization already has', async () => {
      await freshOrg();
      await importFile(
        t.conn,
        orgId,
        tempFile(
          'x.csv',
          `user_id,username,name,call_detail_level,roles\n${ALICE_ID.replace('0b6f', '1b6f')},taken,T,full,reporting\n`,
        ),
      );
      const run = await importFile(
        t.conn,
        orgId,
        tempFile(
          'y.csv',
          `user_id,username,name,call_detail_level,roles\n${ALICE_ID.replace('0b6f', '2b6f')},TAKEN,T,full,reporting\n`,
        ),
      );
      assert.deepEqual(run.messages, [
        `line 2, username: "TAKEN" is "taken", the username of user ${ALICE_ID.replace('0b6f', '1b6f')}; usernames are unique, ignoring case and look-alike characters`,
      ]);
    });

    it('rejects the user_id of a user in another organization', async () => {
      await freshOrg();
      const run = await importFile(
        t.conn,
        orgId,
        tempFile(
          'z.csv',
          'user_id,username,name,call_detail_level,roles\n627b4c86-1ff1-4ca7-8827-95c214666636,rsmith2,R,full,reporting\n',
        ),
      );
      assert.deepEqual(run.messages, [
        'line 2, user_id: 627b4c86-1ff1-4ca7-8827-95c214666636 is the user_id of a user in another organization; user_ids are unique across Roster',
      ]);
    });

    it('--strict writes nothing when any row is bad', async () => {
      await freshOrg();
      const bad = tempFile(
        'strict.csv',
        'username,name,call_detail_level,roles\nok1,A,full,reporting\nok2,B,full,reporting\nno,C,full,\n',
      );
      const run = await importFile(t.conn, orgId, bad, { strict: true, batchSize: 1 });
      assert.equal(run.counts.rejected, 1);
      assert.equal((await getUsers()).json().paging.total, 0);
    });

    it('--strict writes every row when all are good', async () => {
      await freshOrg();
      const good = await importFile(
        t.conn,
        orgId,
        tempFile(
          'strict-ok.csv',
          'username,name,call_detail_level,roles\nok1,A,full,reporting\nok2,B,full,reporting\n',
        ),
        { strict: true, batchSize: 1 },
      );
      assert.deepEqual(good.counts, { imported: 2, updated: 0, unchanged: 0, rejected: 0 });
      assert.equal((await getUsers()).json().paging.total, 2);
    });

    it('rejects billing groups and groups the organization lacks, without --create-missing', async () => {
      await freshOrg();
      const without = await importFile(t.conn, orgId, accessFile(880_000));
      assert.deepEqual(without.messages, [
        'line 1, access.billing_groups: billing group 880001 does not exist in this organization; create it first, or import with --create-missing',
        'line 1, access.billing_groups: billing group 880002 does not exist in this organization; create it first, or import with --create-missing',
        'line 1, access.group_owners: group 880101 does not exist in this organization; create it first, or import with --create-missing',
        'line 2, access.billing_groups: billing group 1234 does not exist in this organization; create it first, or import with --create-missing',
      ]);
    });

    it('--create-missing creates the billing groups and groups a file names, keeping their ids, but not ids of another organization', async () => {
      await freshOrg();
      const withCreate = await importFile(t.conn, orgId, accessFile(880_000), { createMissing: true });
      assert.deepEqual(withCreate.counts, { imported: 1, updated: 0, unchanged: 0, rejected: 1 });
      assert.deepEqual(withCreate.messages, [
        'line 2, access.billing_groups: billing group 1234 belongs to another organization, so it cannot be created here',
      ]);
      const user = await getUser('acc1');
      assert.deepEqual(user.access, { billing_groups: ['880001', '880002'], group_owners: ['880101'] });
      const bgs = await t.conn.db
        .selectFrom('billing_groups')
        .selectAll()
        .where('org_id', '=', orgId)
        .orderBy('id')
        .execute();
      assert.deepEqual(bgs.map((b) => [b.id, b.parent_id, b.depth]).slice(0, 2), [
        [880001, null, 1],
        [880002, null, 1],
      ]);
      const holder = bgs.find((b) => b.name === 'Imported groups');
      assert.ok(holder);
      const group = await t.conn.db.selectFrom('groups').selectAll().where('id', '=', 880101).executeTakeFirstOrThrow();
      assert.equal(group.org_id, orgId);
      assert.equal(group.billing_group_id, holder.id);
      const filtered = await getUsers('&billing_group=880002');
      assert.deepEqual(
        filtered.json().results.map((u: { username: string }) => u.username),
        ['acc1'],
      );
    });

    it("--create-missing with a file imported before changes nothing: the ids it created are the organization's", async () => {
      await freshOrg();
      const file = accessFile(881_000);
      await importFile(t.conn, orgId, file, { createMissing: true });
      const again = await importFile(t.conn, orgId, file, { createMissing: true });
      assert.deepEqual(again.counts, { imported: 0, updated: 0, unchanged: 1, rejected: 1 });
    });

    it('imports NDJSON user objects as the API returns them, and names bad JSON by line', async () => {
      await freshOrg();
      const user = { user_id: ALICE_ID.replace('0b6f', '3b6f'), ...API_USER };
      const nd = await importFile(
        t.conn,
        orgId,
        tempFile(
          'u.ndjson',
          `${JSON.stringify(user)}\r\n{"username": "x",\n{"username":"y","nope":1,"roles":"reporting","access":{"billing_groups":[1,"a"]}}\n[1]\n{"username": "z" x}\n`,
        ),
      );
      assert.deepEqual(nd.counts, { imported: 1, updated: 0, unchanged: 0, rejected: 4 });
      // What JSON.parse stopped at is named: the end of a cut line, or the text where it stopped.
      assert.match(
        nd.messages[0]!,
        /^line 2, \(line\): is not valid JSON \(.* \(the end of the line\)\); each line must be one user object$/,
      );
      assert.match(
        nd.messages[5]!,
        /^line 5, \(line\): is not valid JSON \(.*position 17.*, near "x}"\); each line must be one user object$/,
      );
      assert.deepEqual(nd.messages.slice(1, 5), [
        'line 3, nope: is not a field of the user object (fields: user_id, username, name, email, phone, call_detail_level, restrict_recording_download, status, last_login_date, last_updated_date, deactivation_date, roles, access)',
        'line 3, roles: must be a list of role names like ["reporting"] (got "reporting")',
        'line 3, access.billing_groups: "a" is not a billing group id (positive whole numbers like 1234)',
        'line 4, (row): must be one user object {"username": ...}, not a list (got [1])',
      ]);
      assert.equal(JSON.stringify(await getUser('nd')), JSON.stringify(user));
    });

    it('imports a JSON array of user objects, naming each element by the line it starts on', async () => {
      await freshOrg();
      const user = { user_id: ALICE_ID.replace('0b6f', '4b6f'), ...API_USER };
      await importFile(t.conn, orgId, tempFile('before.ndjson', `${JSON.stringify(user)}\n`));
      const arr = await importFile(
        t.conn,
        orgId,
        tempFile(
          'u.json',
          `[\n  ${JSON.stringify({ ...user, name: 'Changed' })},\n  {"username": "arr2", "name": "A \\"quoted\\" ]}", "call_detail_level": "full",\n   "roles": ["ordering"]},\n  {"username": "arr3"}\n]\n`,
        ),
      );
      assert.deepEqual(arr.counts, { imported: 1, updated: 1, unchanged: 0, rejected: 1 });
      assert.deepEqual(arr.messages, [
        'line 5, name: is required for a new user (no user of this organization has this user_id or username)',
        'line 5, call_detail_level: is required for a new user (no user of this organization has this user_id or username)',
        'line 5, roles: is required for a new user (no user of this organization has this user_id or username)',
      ]);
      assert.equal((await getUser('arr2')).name, 'A "quoted" ]}');
      assert.equal((await getUser('nd')).name, 'Changed');
    });

    it('rejects a deactivation_date for a user whose status is not deactivated', async () => {
      await freshOrg();
      const run = await importFile(
        t.conn,
        orgId,
        tempFile(
          'd1.csv',
          'username,name,call_detail_level,roles,status,last_updated_date,deactivation_date\nd1,D,full,reporting,activated,,2020-01-01T00:00:00\n',
        ),
      );
      assert.deepEqual(run.messages, [
        'line 2, deactivation_date: is only kept for a deactivated user, and this user\'s status is "activated"; leave it empty',
      ]);
    });

    it('dates a deactivated user without a deactivation_date at its last_updated_date', async () => {
      await freshOrg();
      await importFile(
        t.conn,
        orgId,
        tempFile(
          'd2.csv',
          'username,name,call_detail_level,roles,status,last_updated_date,deactivation_date\nd2,D,full,reporting,deactivated,2021-05-05T05:05:05.5,\n',
        ),
      );
      assert.equal((await getUser('d2')).deactivation_date, '2021-05-05T05:05:05.5');
    });

    for (const [label, name, content, message] of [
      [
        'an unterminated quote',
        'q.csv',
        'username,name,call_detail_level,roles\nok,"A,full,reporting\nok2,B,full,reporting\n',
        /line 2: a quoted field starts in this row and is never closed/,
      ],
      [
        'a quote inside an unquoted field',
        'q2.csv',
        'username,name,call_detail_level,roles\nok,A "B" C,full,reporting\n',
        /line 2: a " in the middle of a field/,
      ],
      [
        'unknown columns',
        'cols.csv',
        'username,name,nickname,shoe_size\n',
        /unknown columns "nickname", "shoe_size" in the header\. The columns are user_id, username/,
      ],
      ['a header without user_id or username', 'cols2.csv', 'name,email\n', /needs a user_id or a username column/],
      ['a column named twice', 'cols3.csv', 'username,name,Name\n', /names the column "name" twice/],
      [
        'NDJSON content in a .csv file',
        'json.csv',
        '{"username":"x"}\n',
        /does not start with a CSV header row naming user fields\..*It looks like JSON: import it with --format ndjson/,
      ],
      [
        'a binary file',
        'pic.png',
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]),
        /is not CSV, NDJSON or JSON: it holds binary data/,
      ],
      [
        'text that is not UTF-8',
        'latin1.csv',
        Buffer.from('username,name\nJos\xe9,x\n', 'latin1'),
        /is not UTF-8 text/,
      ],
      [
        'a plain text file',
        'notes.txt',
        'Dear team, here are the users we discussed.\nThanks!\n',
        /does not start with a CSV header row naming user fields/,
      ],
      [
        'a JSON array that is never closed',
        'open.json',
        '[{"username":"x","name":"X","call_detail_level":"full","roles":["reporting"]}',
        /the array is never closed/,
      ],
      [
        'a JSON document that is not an array of objects',
        'obj.json',
        '[1, 2]',
        /line 1: not a JSON array of user objects \(expected a user object but found "1"\)/,
      ],
    ] as const) {
      it(`refuses ${label} with a clear message`, async () => {
        await freshOrg();
        await assert.rejects(importFile(t.conn, orgId, tempFile(name, content)), (error: Error) => {
          assert.ok(error instanceof ImportFileError, String(error));
          assert.match(error.message, message);
          return true;
        });
      });
    }
  });
}
