import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

/**
 * Property-based hostile input: whatever a client sends in the query, the path,
 * the headers or the body, Roster answers below 500, errors are problem+json,
 * and nothing of another organization ever shows. SQL-, JSON-, path- and
 * script-shaped values are only data.
 */

const RUNS = Number(process.env.ROSTER_PROPERTY_RUNS ?? 100);
const ascii = (max: number) =>
  fc.string({
    unit: fc.constantFrom(...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i))),
    maxLength: max,
  });

interface Secrets {
  userId: string;
  username: string;
  email: string;
  name: string;
  billingGroupId: number;
  billingGroupName: string;
}

function hostileValues(secrets: Secrets) {
  const shaped = fc.constantFrom(
    "' OR '1'='1",
    "'; DROP TABLE users; --",
    '" OR ""="',
    '1 UNION SELECT * FROM api_keys',
    '1); SELECT pg_sleep(5); --',
    'org_id=2',
    '%',
    '_',
    '%_%',
    '\\',
    '\\%',
    '*',
    '?',
    '&',
    '=',
    '#',
    ';',
    '+',
    '{"$ne":null}',
    '{"$gt":""}',
    '[]',
    '{}',
    'null',
    'true',
    '__proto__',
    'constructor',
    'toString',
    '../../etc/passwd',
    '..%2f..%2f',
    '/',
    '//',
    '%2e%2e',
    'C:\\Windows',
    '%00',
    '\u0000',
    '\r\nX-Injected: 1',
    '<script>alert(1)</script>',
    '"><img src=x onerror=alert(1)>',
    '${7*7}',
    '{{7*7}}',
    'javascript:alert(1)',
    '-1',
    '0',
    '1e999',
    '99999999999999999999',
    'NaN',
    'Infinity',
    '0x10',
    ' 1',
    '1 ',
    'ÉMILE',
    'émile',
    '\u202e',
    '😀',
    'İ',
    'ß',
    'a'.repeat(300),
    ' ',
    '',
    'secret',
    'other',
    'rsmith',
    '1234',
    '5555',
    secrets.userId,
    secrets.username,
    String(secrets.billingGroupId),
  );
  return fc.oneof(
    shaped,
    shaped.chain((a) => shaped.map((b) => a + b)),
    fc.string({ unit: 'binary', maxLength: 30 }),
    ascii(30),
    fc.json({ maxDepth: 2 }),
  );
}

/** Percent-encodes every UTF-8 byte that is not unreserved (lone surrogates become U+FFFD, as a client would send). */
const pct = (s: string) =>
  [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9._~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).padStart(2, '0').toUpperCase()}`,
    )
    .join('');

for (const dialect of DIALECTS) {
  describe(`hostile input, property-based (${dialect})`, () => {
    let t: TestApp;
    let secrets: Secrets;
    let leaks: string[];

    before(async () => {
      t = await buildTestApp(dialect, { RATE_LIMIT: '0' });
      const tag = randomBytes(8).toString('hex');
      const admin = bearer(t.other.admin);
      const bg = await t.app.inject({
        method: 'POST',
        url: '/api/v1/billinggroups',
        headers: admin,
        payload: { billing_group_name: `bg ${tag}` },
      });
      assert.equal(bg.statusCode, 201, bg.body);
      const user = await t.app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: admin,
        payload: {
          username: `secret-${tag}`,
          name: `Secret Name ${tag}x`,
          email: `secret.${tag}y@other.example`,
          call_detail_level: 'full',
          roles: ['reporting'],
          access: { billing_groups: [String(bg.json().billing_group_id)] },
        },
      });
      assert.equal(user.statusCode, 201, user.body);
      secrets = {
        userId: user.json().user_id,
        username: user.json().username,
        email: user.json().email,
        name: user.json().name,
        billingGroupId: bg.json().billing_group_id,
        billingGroupName: `bg ${tag}`,
      };
      // What no answer to the demo organization may hold (values the generators never send).
      leaks = [secrets.email, secrets.name, secrets.billingGroupName, t.other.admin];
    });
    after(async () => t.close());

    const tally: Record<string, number> = {};
    after(() => process.stdout.write(`# ${dialect} answers: ${JSON.stringify(tally)}\n`));

    function checkAnswer(
      res: { statusCode: number; headers: Record<string, unknown>; body: string },
      what: string,
      method = 'GET',
    ) {
      tally[res.statusCode] = (tally[res.statusCode] ?? 0) + 1;
      assert.ok(res.statusCode < 500, `${res.statusCode} for ${what}: ${res.body.slice(0, 300)}`);
      for (const leak of leaks)
        assert.ok(!res.body.includes(leak), `another organization's data in the answer to ${what}`);
      if (res.statusCode >= 400 && method !== 'HEAD') {
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
        const problem = JSON.parse(res.body);
        assert.equal(problem.status, res.statusCode);
        assert.doesNotMatch(res.body, /\bat \S+:\d+:\d+|node_modules|\/work\/|SQLITE_|syntax error at or near/, what);
      }
    }

    it('query strings on GET users and GET audit', async () => {
      const names = fc.oneof(
        fc.constantFrom(
          'pagenumber',
          'pagesize',
          'PageSize',
          'username',
          'USERNAME',
          'name',
          'status',
          'role',
          'billing_group',
          'group_owner',
          'sortby',
          'sortorder',
          'target_id',
          'action',
          'target_type',
          'since',
          'until',
        ),
        hostileValues(secrets),
      );
      const query = fc.array(fc.tuple(names, hostileValues(secrets), fc.boolean()), { maxLength: 5 });
      await fc.assert(
        fc.asyncProperty(fc.constantFrom('/api/v1/users', '/api/v1/audit'), query, async (path, params) => {
          const qs = params
            .map(([n, v, raw]) => `${pct(n)}=${raw ? v.replace(/[^\x21-\x7e]/g, (c) => pct(c)) : pct(v)}`)
            .join('&');
          const url = `${path}?${qs}`;
          checkAnswer(await t.app.inject({ url, headers: bearer(t.demo.admin) }), url);
        }),
        { numRuns: RUNS },
      );
    });

    it('path segments and methods under the API root', async () => {
      const segment = fc.oneof(
        fc.constantFrom('users', 'audit', 'billinggroups', 'groups', 'activate', 'deactivate'),
        hostileValues(secrets),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
          fc.array(segment, { minLength: 1, maxLength: 4 }),
          async (method, segments) => {
            const url = `/api/v1/${segments.map(pct).join('/')}`;
            const res = await t.app.inject({ method: method as 'GET', url, headers: bearer(t.demo.admin) });
            checkAnswer(res, `${method} ${url}`, method);
          },
        ),
        { numRuns: RUNS },
      );
      // Another organization's user and billing group are the same 404 as ones that never existed.
      for (const url of [
        `/api/v1/users/${secrets.userId}`,
        `/api/v1/users/${secrets.username}`,
        `/api/v1/billinggroups/${secrets.billingGroupId}`,
      ]) {
        const res = await t.app.inject({ url, headers: bearer(t.demo.admin) });
        assert.equal(res.statusCode, 404, url);
      }
    });

    it('headers: keys, tokens, request ids, conditions, media types', async () => {
      const value = fc.oneof(
        ascii(60),
        hostileValues(secrets).map((v) => v.replace(/[^\x20-\x7e]/g, '')),
      );
      const headers = fc.record(
        {
          authorization: fc.oneof(
            value,
            value.map((v) => `Bearer ${v}`),
            fc.constant(`Bearer ${'x'.repeat(20)}`),
            fc.constant(`Bearer ${t.demo.read}`),
          ),
          'x-organization-token': fc.oneof(value, fc.constant(t.demo.read)),
          'x-request-id': value,
          'if-none-match': value,
          accept: fc.oneof(value, fc.constantFrom('application/json', 'text/csv', 'application/x-ndjson', '*/*')),
          'content-type': value,
          'x-forwarded-for': value,
        },
        { requiredKeys: [] },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('/api/v1/users?pagesize=2', '/api/v1/users/rsmith', '/api/v1/audit?pagesize=1'),
          headers,
          async (url, h) => {
            const res = await t.app.inject({ url, headers: h as Record<string, string> });
            checkAnswer(res, `${url} with ${JSON.stringify(h)}`);
            const requestId = String(res.headers['x-request-id']);
            assert.match(requestId, /^[A-Za-z0-9._:-]{1,128}$/);
            const hasKey = [h.authorization, h['x-organization-token']].some((v) => v?.includes(t.demo.read));
            if (!hasKey) assert.equal(res.statusCode, 401, `${url} answered without a valid key: ${JSON.stringify(h)}`);
          },
        ),
        { numRuns: RUNS },
      );
    });

    it('SQL-, JSON-, path- and script-shaped names are stored and found as they are', async () => {
      const shapedText = hostileValues(secrets).filter(
        (v) => !/[\uD800-\uDFFF]/.test(v) || /[\uD800-\uDBFF][\uDC00-\uDFFF]/.test(v),
      );
      const clean = (v: string, max: number) => {
        // Invisible characters (controls, separators, format characters but ZWNJ/ZWJ) are refused: see unicode-bodies.test.ts.
        const kept = [...v.replace(/[\p{Cc}\p{Zl}\p{Zp}/]|(?![\u200C\u200D])\p{Cf}/gu, '').trim()]
          .slice(0, max)
          .join('')
          .trim();
        return kept === '' || kept === '.' || kept === '..' ? `x${kept}` : kept;
      };
      let created = 0;
      await fc.assert(
        fc.asyncProperty(shapedText, shapedText, fc.nat(), async (u, n, i) => {
          const username = clean(`${u}${i % 7 === 0 ? '' : i}`, 128);
          const name = clean(n, 256);
          const res = await t.app.inject({
            method: 'POST',
            url: '/api/v1/users',
            headers: bearer(t.demo.write),
            payload: { username, name, email: 'data@example.com', call_detail_level: 'no_call', roles: ['reporting'] },
          });
          checkAnswer(res, `POST users ${JSON.stringify({ username, name })}`, 'POST');
          assert.ok(
            res.statusCode === 201 || res.statusCode === 409,
            `${res.statusCode} for ${JSON.stringify(username)}: ${res.body}`,
          );
          if (res.statusCode === 409) return;
          created++;
          const user = res.json();
          assert.equal(user.username.normalize('NFC'), username.normalize('NFC'));
          assert.equal(user.name.normalize('NFC'), name.normalize('NFC'));
          const back = await t.app.inject({ url: `/api/v1/users/${pct(username)}`, headers: bearer(t.demo.read) });
          assert.equal(back.statusCode, 200, `GET users/${username}`);
          assert.equal(back.json().user_id, user.user_id);
          const found = await t.app.inject({
            url: `/api/v1/users?username=${pct(username)}&name=${pct(name)}&pagesize=50`,
            headers: bearer(t.demo.read),
          });
          assert.equal(found.statusCode, 200);
          assert.ok(
            found.json().results.some((r: { user_id: string }) => r.user_id === user.user_id),
            `search for ${JSON.stringify(username)} missed it`,
          );
        }),
        { numRuns: RUNS },
      );
      assert.ok(created > RUNS / 2, `only ${created} of ${RUNS} users were created`);
    });

    it('bodies of user and billing group writes: only data, never a reference into another organization', async () => {
      const field = hostileValues(secrets);
      const anyValue = fc.oneof(field, fc.jsonValue({ maxDepth: 2 }), fc.array(field, { maxLength: 3 }));
      const userBody = fc.record(
        {
          username: fc.oneof(field, fc.constant('data-')),
          name: anyValue,
          email: fc.oneof(anyValue, fc.constant('someone@example.com')),
          phone: anyValue,
          call_detail_level: fc.oneof(anyValue, fc.constant('full')),
          roles: fc.oneof(anyValue, fc.constant(['reporting'])),
          access: fc.oneof(
            anyValue,
            fc.record({
              billing_groups: fc.array(
                fc.oneof(field, fc.constant(String(secrets.billingGroupId)), fc.constant('1234')),
                { maxLength: 2 },
              ),
            }),
          ),
          restrict_recording_download: anyValue,
          [fc.sample(fc.constantFrom('__proto__', 'constructor', 'org_id', 'user_id', 'status'), 1)[0]!]: anyValue,
        },
        { requiredKeys: [] },
      );
      const write = fc.oneof(
        userBody.map((b) => ({
          method: 'POST' as const,
          url: '/api/v1/users',
          payload: JSON.stringify(b),
          type: 'application/json',
        })),
        userBody.map((b) => ({
          method: 'PATCH' as const,
          url: '/api/v1/users/mhopper',
          payload: JSON.stringify(b),
          type: 'application/merge-patch+json',
        })),
        userBody.map((b) => ({
          method: 'PUT' as const,
          url: `/api/v1/users/${pct(secrets.username)}`,
          payload: JSON.stringify(b),
          type: 'application/json',
        })),
        fc.record({ billing_group_name: anyValue, status: anyValue }, { requiredKeys: [] }).map((b) => ({
          method: 'PUT' as const,
          url: `/api/v1/billinggroups/${secrets.billingGroupId}`,
          payload: JSON.stringify(b),
          type: 'application/json',
        })),
        fc.record({ billing_group_name: anyValue }, { requiredKeys: [] }).map((b) => ({
          method: 'POST' as const,
          url: `/api/v1/billinggroups/${secrets.billingGroupId}`,
          payload: JSON.stringify(b),
          type: 'application/json',
        })),
        fc
          .oneof(fc.string({ unit: 'binary', maxLength: 80 }), hostileValues(secrets))
          .map((raw) => ({ method: 'POST' as const, url: '/api/v1/users', payload: raw, type: 'application/json' })),
      );
      await fc.assert(
        fc.asyncProperty(write, async (w) => {
          const res = await t.app.inject({
            method: w.method,
            url: w.url,
            headers: { ...bearer(t.demo.admin), 'content-type': w.type },
            payload: w.payload,
          });
          checkAnswer(res, `${w.method} ${w.url} ${w.payload.slice(0, 200)}`, w.method);
          if (w.url.includes(pct(secrets.username)) || w.url.includes(`/billinggroups/${secrets.billingGroupId}`)) {
            assert.ok(
              res.statusCode === 404 || res.statusCode === 400 || res.statusCode === 415,
              `${w.method} ${w.url} reached another organization: ${res.statusCode}`,
            );
          }
          if (res.statusCode === 201 && w.url === '/api/v1/users') {
            // Stored as sent: the username reads back the same, by itself, whatever it looks like.
            const sent = JSON.parse(w.payload) as { username: string };
            const back = await t.app.inject({
              url: `/api/v1/users/${pct(sent.username)}`,
              headers: bearer(t.demo.read),
            });
            assert.equal(back.statusCode, 200, sent.username);
            assert.equal(back.json().username, res.json().username);
            assert.ok(!res.json().access.billing_groups.includes(String(secrets.billingGroupId)));
          }
        }),
        { numRuns: RUNS },
      );
      // The other organization is untouched.
      const theirs = await t.app.inject({ url: `/api/v1/users/${secrets.userId}`, headers: bearer(t.other.admin) });
      assert.equal(theirs.json().name, secrets.name);
      const bg = await t.app.inject({
        url: `/api/v1/billinggroups/${secrets.billingGroupId}`,
        headers: bearer(t.other.admin),
      });
      assert.equal(bg.json().billing_group_name, secrets.billingGroupName);
      const count = await t.app.inject({ url: '/api/v1/users?pagesize=1', headers: bearer(t.other.admin) });
      assert.equal(count.json().paging.total, 1);
      const cross = await t.conn.db
        .selectFrom('user_billing_groups')
        .innerJoin('billing_groups', 'billing_groups.id', 'user_billing_groups.billing_group_id')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .whereRef('billing_groups.org_id', '!=', 'user_billing_groups.org_id')
        .executeTakeFirstOrThrow();
      assert.equal(Number(cross.n), 0, 'a user holds a billing group of another organization');
    });
  });
}
