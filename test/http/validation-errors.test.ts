import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { registerErrorHandlers } from '../../src/http/error-handler.js';
import { AJV_OPTIONS } from '../../src/http/schemas.js';
import { quoteValue } from '../../src/shared/text.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

/** A valid POST users body, changed by `patch`. */
const newUser = (patch: Record<string, unknown> = {}) => ({
  username: 'valuetest',
  name: 'Value Test',
  email: 'v@example.com',
  call_detail_level: 'full',
  roles: ['reporting'],
  ...patch,
});

interface Item {
  pointer?: string;
  parameter?: string;
  message: string;
}

describe('quoteValue: the one way an error quotes a rejected value', () => {
  it('quotes strings as JSON, shows other values as JSON', () => {
    assert.equal(quoteValue('wizard'), '"wizard"');
    assert.equal(quoteValue(0), '0');
    assert.equal(quoteValue(['a', 1]), '["a",1]');
    assert.equal(quoteValue(null), 'null');
  });

  it('cuts a long value to 60 characters with an ellipsis, counting characters, not UTF-16 units', () => {
    assert.equal(quoteValue('x'.repeat(61)), `"${'x'.repeat(59)}…"`);
    assert.equal(quoteValue('x'.repeat(60)), `"${'x'.repeat(60)}"`);
    assert.equal(quoteValue('😀'.repeat(61)), `"${'😀'.repeat(59)}…"`);
  });

  it('escapes control, bidi and line-separator characters so the message shows them and stays one line', () => {
    assert.equal(quoteValue('a\nb\tc\u0007'), '"a\\nb\\tc\\u0007"');
    assert.equal(quoteValue('\u0085\u202e\u2028x'), '"\\u0085\\u202e\\u2028x"');
  });
});

for (const dialect of DIALECTS) {
  describe(`every 400 names the offending value next to its field (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(dialect);
    });
    after(async () => t.close());

    const create = async (body: unknown) =>
      t.app.inject({ method: 'POST', url: '/api/v1/users', headers: bearer(t.demo.write), payload: body as object });
    const get = async (url: string) => t.app.inject({ url: `/api/v1/${url}`, headers: bearer(t.demo.read) });

    /** The 400's items; each must also be in its detail, as `Body field "/x" …` or `Query parameter "x" …`. */
    async function problems(res: Awaited<ReturnType<typeof create>>): Promise<Item[]> {
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
      const body = res.json<{ detail: string; errors: Item[] }>();
      for (const item of body.errors) assert.ok(body.detail.includes(item.message), `${body.detail} / ${item.message}`);
      return body.errors;
    }
    const find = (items: Item[], where: string) => {
      const item = items.find((i) => i.pointer === where || i.parameter === where);
      assert.ok(item, `no problem for ${where} in ${JSON.stringify(items)}`);
      return item.message;
    };

    it("enum: the roles value is named (the issue's example)", async () => {
      const res = await create(newUser({ roles: ['wizard'] }));
      assert.match(find(await problems(res), '/roles/0'), /^must be one of: .+ \(got "wizard"\)$/);
      assert.match(res.json().detail, /Body field "\/roles\/0" must be one of: .+ \(got "wizard"\)\./);
    });

    it('pattern: the username, with its control character escaped', async () => {
      assert.match(find(await problems(await create(newUser({ username: 'a/b' }))), '/username'), /\(got "a\/b"\)$/);
      assert.match(
        find(await problems(await create(newUser({ username: 'bell\u0007' }))), '/username'),
        /\(got "bell\\u0007"\)$/,
      );
    });

    it('type: a boolean sent as a string, an object where a string belongs', async () => {
      const items = await problems(await create(newUser({ restrict_recording_download: 'yes', name: { first: 'A' } })));
      assert.equal(find(items, '/restrict_recording_download'), 'must be a boolean (got "yes")');
      assert.equal(find(items, '/name'), 'must be a string (got {"first":"A"})');
    });

    it('minLength and maxLength: the empty value, and a long one cut to 60 characters', async () => {
      assert.match(
        find(await problems(await create(newUser({ name: '' }))), '/name'),
        /^must be at least 1 character\(s\) long \(got ""\)$/,
      );
      const long = `${'x'.repeat(100)}-${'y'.repeat(100)}`;
      assert.equal(
        find(await problems(await create(newUser({ username: long }))), '/username'),
        `must be at most 128 characters long (got "${'x'.repeat(59)}…")`,
      );
    });

    it('minItems and uniqueItems: the empty list, the repeated item', async () => {
      assert.equal(
        find(await problems(await create(newUser({ roles: [] }))), '/roles'),
        'must hold at least 1 item(s) (got [])',
      );
      assert.equal(
        find(await problems(await create(newUser({ roles: ['reporting', 'reporting'] }))), '/roles'),
        'must not hold the same value twice (got "reporting" twice)',
      );
    });

    it('id lists: a bad id and a repeated id in access', async () => {
      const items = await problems(
        await create(newUser({ access: { billing_groups: ['12x'], group_owners: ['5', '5'] } })),
      );
      assert.match(find(items, '/access/billing_groups/0'), /\(got "12x"\)$/);
      assert.equal(find(items, '/access/group_owners'), 'must not hold the same value twice (got "5" twice)');
    });

    it('additionalProperties and required name the key, with no value to show', async () => {
      const { name: _omitted, ...noName } = newUser({ colour: 'red' });
      const items = await problems(await create(noName));
      assert.match(find(items, '/colour'), /^is not a known field; accepted: /);
      assert.doesNotMatch(find(items, '/colour'), /got/);
      assert.equal(find(items, '/name'), 'is required');
    });

    it('query parameters: a number out of range, an unknown status, a repeated parameter', async () => {
      assert.match(find(await problems(await get('users?pagesize=0')), 'pagesize'), /\(got 0\)$/);
      assert.match(find(await problems(await get('users?status=retired')), 'status'), /\(got "retired"\)$/);
      const repeated = await problems(await get('users?sortby=name&sortby=email'));
      assert.match(find(repeated, 'sortby'), /more than once; give it once \(got "name", "email"\)$/);
    });

    it('query parameters: a number past 2^53 is named as sent, not as the nearest safe integer', async () => {
      const huge = '12345678901234567890';
      assert.match(
        find(await problems(await get(`users?pagenumber=${huge}`)), 'pagenumber'),
        /\(got "12345678901234567890"\)$/,
      );
      assert.match(
        find(await problems(await get(`users?pagenumber=-${huge}`)), 'pagenumber'),
        /≥ 1.*\(got "-12345678901234567890"\)$/,
      );
      assert.match(
        find(await problems(await get(`users?pagesize=-${huge}`)), 'pagesize'),
        /≥ 1.*\(got "-12345678901234567890"\)$/,
      );
      const audit = await t.app.inject({ url: `/api/v1/audit?pagenumber=${huge}`, headers: bearer(t.demo.admin) });
      assert.match(find(await problems(audit), 'pagenumber'), /\(got "12345678901234567890"\)$/);
      // A page size past every cap is still served at the cap (the contract), however many digits it has.
      const served = await get(`users?pagesize=${huge}&pagenumber=1`);
      assert.equal(served.statusCode, 200, served.body);
      assert.equal(served.json<{ paging: { pageSize: number } }>().paging.pageSize, 10000);
    });

    it('path parameters: a billing group id that is not a number, a NUL in a user reference', async () => {
      assert.match(find(await problems(await get('billinggroups/abc')), 'id'), /\(got "abc"\)$/);
      assert.match(find(await problems(await get('users/a%00b')), 'user'), /\(got "a\\u0000b"\)$/);
    });

    it('rules beyond the schema: a read-only field sent changed, a timestamp that is not one', async () => {
      const created = await create(newUser({ username: 'ruletest' }));
      assert.equal(created.statusCode, 201, created.body);
      const patch = async (payload: object) =>
        problems(
          await t.app.inject({
            method: 'PATCH',
            url: '/api/v1/users/ruletest',
            headers: { ...bearer(t.demo.write), 'content-type': 'application/merge-patch+json' },
            payload,
          }),
        );
      assert.match(find(await patch({ status: 'activated' }), '/status'), /\(got "activated"\)$/);
      assert.match(find(await patch({ last_login_date: 'yesterday' }), '/last_login_date'), /\(got "yesterday"\)$/);
    });
  });
}

describe('format: a value failing a `format` keyword is named too', () => {
  it('through the same Ajv options and error handler as the API', async () => {
    const app = Fastify({ ajv: AJV_OPTIONS });
    registerErrorHandlers(app);
    app.get(
      '/probe',
      { schema: { querystring: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } } } } },
      async () => 'ok',
    );
    const res = await app.inject({ url: '/probe?id=not-a-uuid' });
    assert.equal(res.statusCode, 400, res.body);
    assert.deepEqual(res.json().errors, [{ parameter: 'id', message: 'must be a valid uuid (got "not-a-uuid")' }]);
    await app.close();
  });
});
