import assert from 'node:assert/strict';
import { connect as connectSocket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loggerOptions } from '../../src/http/logger.js';
import { connect } from '../../src/db/connect.js';
import { createKeyService } from '../../src/auth/key.service.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { USER_KEY_ORDER } from '../support/users.js';

/** What must never reach a client: stack frames, file paths, SQL, driver codes. */
const LEAK =
  /\bat [\w.<>]+ \(|node_modules|\/work\/|\/tmp\/|[\w-]+\.(ts|js):\d+|\bselect\b.*\bfrom\b|\binsert into\b|\bwhere\b.*=|SQLITE_|sqlite3?\b|postgres|relation "|syntax error|kysely|better-sqlite|"stack"|TypeError|ReferenceError/i;

interface Answer {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}

/** An error answer is RFC 9457 problem+json with type, title, status and detail, and leaks nothing. */
function assertProblem(res: Answer, status: number, what: string): void {
  assert.equal(res.statusCode, status, `${what}: ${res.body.slice(0, 300)}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
  const problem = JSON.parse(res.body);
  for (const member of ['type', 'title', 'detail'])
    assert.equal(typeof problem[member], 'string', `${what}: ${member}`);
  assert.equal(problem.status, status, what);
  assert.ok(problem.detail.length > 10, `${what}: a detail a person can act on`);
  // A 400 quotes the client's own value back (`(got "…")`): that is the request, not the server's internals.
  const ownValues = /\(got "(?:[^"\\]|\\.)*"(?: twice)?\)/g;
  const text = JSON.stringify(problem, (_key, value: unknown) =>
    typeof value === 'string' ? value.replace(ownValues, '(got …)') : value,
  );
  assert.doesNotMatch(text, LEAK, `${what} leaks internals`);
}

for (const dialect of DIALECTS) {
  describe(`operations and errors (${dialect})`, () => {
    let t: TestApp;
    const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ url, headers });
    before(async () => {
      t = await buildTestApp(dialect);
    });
    after(async () => t.close());

    it('/healthz and /readyz answer without a key', async () => {
      const health = await get('/healthz');
      assert.equal(health.statusCode, 200);
      assert.deepEqual(health.json(), { status: 'ok' });
      const ready = await get('/readyz');
      assert.equal(ready.statusCode, 200);
      assert.equal(ready.json().status, 'ready');
      // Search indexes build lazily, for organizations of 10,000 users or more: none here.
      assert.deepEqual(ready.json().search_index, {
        state: 'ready',
        organizations_ready: 0,
        organizations_building: 0,
        rows_indexed: 0,
        rows_total: 0,
      });
    });

    it('/metrics is Prometheus text counting requests by method, route pattern and status', async () => {
      await get('/api/v1/users?pagesize=1', bearer(t.demo.read));
      await get('/api/v1/users/rsmith', bearer(t.demo.read));
      await get('/api/v1/users/nobody', bearer(t.demo.read));
      await get('/api/v1/users');
      const res = await get('/metrics');
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      assert.match(res.body, /^# HELP roster_http_requests_total /m);
      assert.match(res.body, /^# TYPE roster_http_requests_total counter$/m);
      assert.match(
        res.body,
        /^roster_http_requests_total\{method="GET",route="\/api\/v1\/users",status="200"\} [1-9]\d*$/m,
      );
      assert.match(
        res.body,
        /^roster_http_requests_total\{method="GET",route="\/api\/v1\/users",status="401"\} [1-9]\d*$/m,
      );
      assert.match(
        res.body,
        /^roster_http_requests_total\{method="GET",route="\/api\/v1\/users\/:user",status="404"\} [1-9]\d*$/m,
      );
      assert.ok(
        !res.body.includes('rsmith') && !res.body.includes('nobody'),
        'labels are route patterns, never raw URLs',
      );
    });

    describe('/openapi.json', () => {
      let doc: {
        openapi: string;
        paths: Record<
          string,
          Record<
            string,
            {
              security?: Array<Record<string, unknown>>;
              parameters?: Array<{ name: string; in: string }>;
              responses: Record<string, unknown>;
            }
          >
        >;
        components: {
          schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }>;
          securitySchemes: Record<string, { type: string; scheme?: string }>;
        };
      };
      before(async () => {
        const res = await get('/openapi.json');
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /^application\/json/);
        doc = res.json();
      });

      it('is OpenAPI 3.1 with the users paths and the User schema in the contract order', () => {
        assert.match(doc.openapi, /^3\.1\.\d+$/);
        assert.ok(doc.paths['/api/v1/users']?.get, 'GET /api/v1/users');
        assert.ok(doc.paths['/api/v1/users/{user}']?.get, 'GET /api/v1/users/{user}');
        const user = doc.components.schemas.User;
        assert.ok(user?.properties, 'components.schemas.User');
        assert.deepEqual(Object.keys(user.properties), USER_KEY_ORDER);
        assert.ok(!user.required?.includes('deactivation_date'));
        assert.ok(doc.components.schemas.UsersPage);
        assert.ok(doc.components.schemas.Problem);
      });

      it('documents the query parameters and the error responses of GET users', () => {
        const list = doc.paths['/api/v1/users']!.get!;
        const names = (list.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
        for (const name of [
          'pagenumber',
          'pagesize',
          'username',
          'name',
          'status',
          'role',
          'billing_group',
          'group_owner',
          'sortby',
          'sortorder',
        ])
          assert.ok(names.includes(name), name);
        for (const status of ['200', '400', '401']) assert.ok(list.responses[status], status);
        const one = doc.paths['/api/v1/users/{user}']!.get!;
        for (const status of ['200', '304', '400', '401', '404']) assert.ok(one.responses[status], status);
      });

      it('lists bearer security on every API route, and security: [] on the operations routes', () => {
        assert.equal(doc.components.securitySchemes.bearer?.scheme, 'bearer');
        let api = 0;
        for (const [path, ops] of Object.entries(doc.paths)) {
          for (const [method, op] of Object.entries(ops)) {
            // SCIM's discovery needs no key (RFC 7644 section 4); its Users and Groups do.
            const scimResource = path.startsWith('/scim/v2/Users') || path.startsWith('/scim/v2/Groups');
            if (path.startsWith('/api/v1/') || scimResource) {
              api++;
              assert.ok(
                op.security?.some((s) => 'bearer' in s),
                `${method} ${path} lists bearer security`,
              );
            } else {
              // An empty requirement says it in the document itself: this operation needs no key.
              assert.deepEqual(op.security, [], `${method} ${path} needs no key`);
            }
          }
        }
        assert.ok(api >= 2);
      });
    });

    it('/docs answers with the interactive reference', async () => {
      let res = await get('/docs');
      if (res.statusCode >= 300 && res.statusCode < 400)
        res = await get(
          String(res.headers.location).startsWith('/') ? String(res.headers.location) : `/docs/${res.headers.location}`,
        );
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      assert.match(res.body, /swagger/i);
    });

    describe('X-Request-Id', () => {
      const requests = () => [
        { what: '200 list', url: '/api/v1/users?pagesize=1', headers: bearer(t.demo.read) },
        { what: '200 one', url: '/api/v1/users/rsmith', headers: bearer(t.demo.read) },
        { what: '400', url: '/api/v1/users?pagesize=abc', headers: bearer(t.demo.read) },
        { what: '400 unknown parameter', url: '/api/v1/users?bogus=1', headers: bearer(t.demo.read) },
        { what: '400 NUL in path', url: '/api/v1/users/a%00b', headers: bearer(t.demo.read) },
        { what: '400 bad encoding', url: '/api/v1/users/%E0%A4%A', headers: bearer(t.demo.read) },
        { what: '401', url: '/api/v1/users', headers: {} },
        { what: '401 unknown key', url: '/api/v1/users', headers: bearer('rst_nope') },
        { what: '404 user', url: '/api/v1/users/nobody', headers: bearer(t.demo.read) },
        { what: '404 route', url: '/api/v1/nothing-here', headers: bearer(t.demo.read) },
        { what: '404 outside the API', url: '/nothing', headers: {} },
        { what: '414', url: `/api/v1/users/${'x'.repeat(3000)}`, headers: bearer(t.demo.read) },
        { what: 'healthz', url: '/healthz', headers: {} },
        { what: 'readyz', url: '/readyz', headers: {} },
        { what: 'metrics', url: '/metrics', headers: {} },
        { what: 'openapi', url: '/openapi.json', headers: {} },
        { what: 'docs', url: '/docs', headers: {} },
      ];

      it('is on every response, a fresh one each time', async () => {
        const seen = new Set<string>();
        for (const { what, url, headers } of requests()) {
          const res = await get(url, headers);
          const id = res.headers['x-request-id'];
          assert.equal(typeof id, 'string', `${what} (${res.statusCode})`);
          assert.ok(!seen.has(id as string), `${what}: a fresh id`);
          seen.add(id as string);
        }
        const notModified = await get('/api/v1/users/rsmith', { ...bearer(t.demo.read), 'if-none-match': '*' });
        assert.equal(notModified.statusCode, 304);
        assert.ok(notModified.headers['x-request-id']);
        const head = await t.app.inject({ method: 'HEAD', url: '/api/v1/users/rsmith', headers: bearer(t.demo.read) });
        assert.ok(head.headers['x-request-id']);
      });

      it('is on answers Node gives before Fastify sees a request (headers beyond the parser limit), over a real socket', async () => {
        const app = await buildApp(t.config, t.conn);
        await app.listen({ port: 0, host: '127.0.0.1' });
        try {
          const { port } = app.server.address() as { port: number };
          for (const request of [
            `GET /api/v1/users HTTP/1.1\r\nHost: x\r\nX-Big: ${'x'.repeat(70_000)}\r\n\r\n`,
            `GET /api/v1/users?q=${'x'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
          ]) {
            const answer = await new Promise<string>((resolve, reject) => {
              let text = '';
              const socket = connectSocket(port, '127.0.0.1', () => socket.write(request));
              socket.on('data', (chunk) => (text += chunk.toString('latin1')));
              socket.on('close', () => resolve(text));
              socket.on('error', reject);
            });
            assert.match(answer, /^HTTP\/1\.1 4(14|31) /);
            assert.match(answer, /\r\nX-Request-Id: [0-9a-f-]{36}\r\n/i);
            assert.match(answer, /\r\nContent-Type: application\/problem\+json/i);
          }
        } finally {
          await app.close();
        }
      });

      it("answers its own X-Request-Id, and a client's sane one back as X-Client-Request-Id; drops one that is not sane", async () => {
        for (const { what, url, headers } of requests()) {
          const res = await get(url, { ...headers, 'x-request-id': 'client-req.42:abc_DEF' });
          assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/, what);
          assert.equal(res.headers['x-client-request-id'], 'client-req.42:abc_DEF', what);
        }
        for (const insane of ['has space', 'x'.repeat(129), '<script>', 'a/b', 'quote"d', '']) {
          const res = await get('/api/v1/users?pagesize=1', { ...bearer(t.demo.read), 'x-request-id': insane });
          assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
          assert.equal(res.headers['x-client-request-id'], undefined);
        }
      });
    });

    describe('errors', () => {
      it('are problem+json with type, title, status and detail, and never carry a stack, SQL or a path', async () => {
        const cases: Array<[number, string, Record<string, string>, string?]> = [
          [400, '/api/v1/users?pagesize=1.5', bearer(t.demo.read)],
          [400, '/api/v1/users?sortby=password', bearer(t.demo.read)],
          [400, "/api/v1/users?username=a&name=%27%20OR%201%3D1&status=x'", bearer(t.demo.read)],
          [400, '/api/v1/users?status=deactivated;select%20*%20from%20api_keys', bearer(t.demo.read)],
          [400, '/api/v1/users/a%00b', bearer(t.demo.read)],
          [400, '/api/v1/users/%E0%A4%A', bearer(t.demo.read)],
          [401, '/api/v1/users', {}],
          [401, '/api/v1/users/rsmith', bearer('rst_invalidinvalidinvalidinvalidinva')],
          [403, '/api/v1/users', bearer(t.demo.read), 'POST'],
          [404, '/api/v1/users/nobody', bearer(t.demo.read)],
          [404, '/api/v1/users/00000000-0000-4000-8000-000000000000', bearer(t.demo.read)],
          [404, '/api/v1/nothing', bearer(t.demo.read)],
          [404, '/etc/passwd', {}],
          [414, `/api/v1/users/${'x'.repeat(3000)}`, bearer(t.demo.read)],
        ];
        for (const [status, url, headers, method] of cases) {
          const res = await t.app.inject({
            method: (method ?? 'GET') as 'GET',
            url,
            headers: { ...headers, ...(method ? { 'content-type': 'application/json' } : {}) },
            payload: method ? '{}' : undefined,
          });
          assertProblem(res, status, `${method ?? 'GET'} ${url.slice(0, 60)}`);
        }
      });

      it('a database that is gone is 503 on /readyz and a 5xx problem without internals on the API', async () => {
        const conn = connect(t.config.database);
        const app: FastifyInstance = await buildApp(t.config, conn);
        await app.ready();
        try {
          assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
          await conn.close();
          assertProblem(await app.inject({ url: '/readyz' }), 503, 'readyz');
          const res = await app.inject({ url: '/api/v1/users?pagesize=1', headers: bearer(t.demo.read) });
          assert.ok(res.statusCode >= 500, `${res.statusCode}`);
          assertProblem(res, res.statusCode, 'API on a closed database');
          assert.ok(res.headers['x-request-id']);
          if (res.statusCode === 500)
            assert.ok(
              JSON.parse(res.body).detail.includes(String(res.headers['x-request-id'])),
              'a 500 names the request id',
            );
        } finally {
          await app.close();
        }
      });
    });

    describe('API_ROOT', () => {
      let moved: TestApp;
      before(async () => {
        moved = await buildTestApp(dialect, { API_ROOT: '/marketingedge/v5/api' });
      });
      after(async () => moved.close());

      it('moves every API route, its Link headers and its OpenAPI paths; operations stay at the root', async () => {
        const res = await moved.app.inject({
          url: '/marketingedge/v5/api/users?pagesize=3',
          headers: bearer(moved.demo.read),
        });
        assert.equal(res.statusCode, 200);
        assert.equal(res.json().paging.total, 165);
        assert.match(String(res.headers.link), /^<\/marketingedge\/v5\/api\/users\?/);
        assert.equal(
          (
            await moved.app.inject({ url: '/marketingedge/v5/api/users/rsmith', headers: bearer(moved.demo.read) })
          ).json().username,
          'rsmith',
        );
        assert.equal((await moved.app.inject({ url: '/marketingedge/v5/api/users' })).statusCode, 401);
        assertProblem(
          await moved.app.inject({ url: '/api/v1/users', headers: bearer(moved.demo.read) }),
          404,
          'the old root',
        );
        const doc = (await moved.app.inject({ url: '/openapi.json' })).json();
        assert.ok(doc.paths['/marketingedge/v5/api/users']);
        assert.ok(!doc.paths['/api/v1/users']);
        assert.equal((await moved.app.inject({ url: '/healthz' })).statusCode, 200);
      });
    });

    describe('logs', () => {
      it('never contain a key, whichever header carries it and whatever the answer', async () => {
        const lines: string[] = [];
        const app = await buildApp(t.config, t.conn, {
          logger: loggerOptions('trace', { write: (line: string) => void lines.push(line) }),
        });
        await app.ready();
        try {
          const revoked = await createKeyService(t.conn.db).createApiKey(t.demo.orgId, 'read');
          await createKeyService(t.conn.db).revokeApiKey(revoked.prefix);
          const keys = [t.demo.read, t.demo.write, t.demo.admin, revoked.key, 'rst_madeUpKeyThatIsNotStoredAnywhere00'];
          for (const key of keys) {
            for (const headers of [
              bearer(key),
              { 'x-organization-token': key },
              { authorization: key },
              { 'x-organization-token': key, 'subscription-key': key },
            ]) {
              await app.inject({ url: '/api/v1/users?pagesize=1', headers });
              await app.inject({ url: '/api/v1/users/rsmith', headers });
              await app.inject({ url: '/api/v1/users?bogus=1', headers });
              await app.inject({
                method: 'POST',
                url: '/api/v1/users',
                headers: { ...headers, 'content-type': 'application/json' },
                payload: '{"username":',
              });
            }
          }
          const text = lines.join('');
          assert.ok(lines.length > 20 && text.includes('"reqId"'), 'the logger wrote the requests');
          for (const key of keys) {
            assert.ok(!text.includes(key), 'a key reached the log');
            assert.ok(!text.includes(key.slice(4)), 'the secret part of a key reached the log');
          }
        } finally {
          await app.close();
        }
      });
    });
  });
}
