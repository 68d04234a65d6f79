import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

/**
 * Property-based cost inputs: deep, wide and long bodies, query strings and paths, sent to every route of the
 * OpenAPI document, are answered below 500 with problem+json errors (SCIM error objects under /scim/v2) (docs/security.md, section 18).
 */

const RUNS = Number(process.env.ROSTER_PROPERTY_RUNS ?? 40);

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface Route {
  readonly method: Method;
  readonly path: string;
}

/** Nests `inner` `depth` levels deep in arrays or objects. */
const nest = (depth: number, object: boolean, inner: string) =>
  object ? `${'{"a":'.repeat(depth)}${inner}${'}'.repeat(depth)}` : `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;

/** JSON texts: deep (up to 20,000 levels), wide (up to 60,000 items or 20,000 keys), long (up to 900,000 characters). */
const bodies = fc.oneof(
  fc
    .tuple(fc.integer({ min: 1, max: 20_000 }), fc.boolean(), fc.constantFrom('name', 'access', 'username', ''))
    .map(([depth, object, field]) =>
      field === '' ? nest(depth, object, '1') : `{"${field}":${nest(depth, object, '"x"')}}`,
    ),
  fc
    .tuple(fc.integer({ min: 0, max: 60_000 }), fc.constantFrom('billing_groups', 'group_owners', 'roles'))
    .map(
      ([n, list]) =>
        `{"username":"w","name":"W","email":"w@example.com","call_detail_level":"full","roles":["reporting"],"access":{"${list}":[${Array.from({ length: n }, (_, i) => `"${i + 1}"`).join(',')}]}}`,
    ),
  fc.integer({ min: 0, max: 20_000 }).map((n) => `{${Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(',')}}`),
  fc
    .tuple(
      fc.integer({ min: 0, max: 900_000 }),
      fc.constantFrom('name', 'username', 'email', 'billing_group_name', 'reassign_groups_to_user'),
    )
    .map(([n, field]) => `{"${field}":"${'é'.repeat(n)}"}`),
);

/** Query strings within the 8 KiB target: one parameter repeated, many parameters, one long value. */
const queries = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('name', 'username', 'status', 'role', 'billing_group', 'group_owner', 'target_id', 'x'),
      fc.integer({ min: 1, max: 2_000 }),
      fc.boolean(),
    )
    .map(([name, n, distinct]) => Array.from({ length: n }, (_, i) => `${name}=${distinct ? `v${i}` : 'a'}`).join('&')),
  fc.integer({ min: 1, max: 1_000 }).map((n) => Array.from({ length: n }, (_, i) => `p${i}=1`).join('&')),
  fc
    .tuple(
      fc.constantFrom('name', 'username', 'pagenumber', 'pagesize', 'since', 'sortby'),
      fc.integer({ min: 0, max: 8_100 }),
    )
    .map(([name, n]) => `${name}=${'z'.repeat(n)}`),
);

/** Path parameters: long, or many segments. */
const segments = fc.oneof(
  fc.integer({ min: 1, max: 8_100 }).map((n) => 'u'.repeat(n)),
  fc.integer({ min: 1, max: 2_000 }).map((n) => Array<string>(n).fill('a').join('/')),
  fc.integer({ min: 1, max: 400 }).map((n) => '9'.repeat(n)),
  fc.integer({ min: 1, max: 2_000 }).map((n) => '%2F'.repeat(n)),
);

for (const dialect of DIALECTS) {
  describe(`deep, wide and long inputs to every route (${dialect})`, () => {
    let t: TestApp;
    let routes: Route[];
    before(async () => {
      t = await buildTestApp(dialect, { RATE_LIMIT: '0' });
      const doc = (await t.app.inject({ url: '/openapi.json' })).json<{
        paths: Record<string, Record<string, unknown>>;
      }>();
      routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((m) => ['get', 'head', 'post', 'put', 'patch', 'delete'].includes(m))
          .map((m) => ({ method: m.toUpperCase() as Method, path })),
      );
      assert.ok(routes.length >= 20, `routes found: ${routes.length}`);
    });
    after(() => t.close());

    const tally: Record<string, number> = {};
    after(() => process.stdout.write(`# ${dialect} answers: ${JSON.stringify(tally)}\n`));

    async function send(route: Route, segment: string, query: string, body: string | undefined) {
      const url = `${route.path.replace(/\{[^}]+\}/g, segment)}${query ? `?${query}` : ''}`;
      const res = await t.app.inject({
        method: route.method,
        url,
        headers: { ...bearer(t.demo.admin), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { payload: body } : {}),
      });
      tally[res.statusCode] = (tally[res.statusCode] ?? 0) + 1;
      const what = `${route.method} ${url.slice(0, 120)} (body ${body?.length ?? 0} characters)`;
      assert.ok(res.statusCode < 500, `${res.statusCode} for ${what}: ${res.body.slice(0, 300)}`);
      // SCIM answers its errors as SCIM error objects (RFC 7644 section 3.12), the API as problem+json.
      const errorType = route.path.startsWith('/scim/') ? /^application\/scim\+json/ : /^application\/problem\+json/;
      if (res.statusCode >= 400 && route.method !== 'HEAD')
        assert.match(String(res.headers['content-type']), errorType, what);
    }

    it('bodies: deep, wide and long, on every route that takes one and every other', async () => {
      await fc.assert(
        fc.asyncProperty(fc.nat(), bodies, async (i, body) => {
          const route = routes[i % routes.length]!;
          await send(route, 'bob', '', route.method === 'GET' || route.method === 'HEAD' ? undefined : body);
        }),
        { numRuns: RUNS },
      );
      // And each write route at least once with the deepest body.
      for (const route of routes.filter((r) => !['GET', 'HEAD'].includes(r.method)))
        await send(route, '1', '', nest(20_000, false, '1'));
    });

    it('query strings: repeated, many and long parameters on every route', async () => {
      await fc.assert(
        fc.asyncProperty(fc.nat(), queries, async (i, query) =>
          send(routes[i % routes.length]!, 'bob', query, undefined),
        ),
        { numRuns: RUNS },
      );
    });

    it('paths: long and many-segment parameters on every route', async () => {
      await fc.assert(
        fc.asyncProperty(fc.nat(), segments, async (i, segment) =>
          send(routes[i % routes.length]!, segment, '', undefined),
        ),
        { numRuns: RUNS },
      );
    });
  });
}
