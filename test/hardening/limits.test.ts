import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MAX_HEADER_BYTES, MAX_URL_BYTES, PARSER_MAX_HEADER_BYTES } from '../../src/http/server-limits.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  closed: boolean;
}

/** Writes raw bytes to a server (optionally pausing mid-request) and reads what comes back until it closes. */
function rawRequest(port: number, chunks: string[], options: { waitMs?: number } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ port, host: '127.0.0.1' });
    let data = '';
    let closed = false;
    const giveUp = setTimeout(() => {
      socket.destroy();
      finish();
    }, options.waitMs ?? 5000);
    const finish = () => {
      clearTimeout(giveUp);
      const [head = '', ...rest] = data.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1] ?? 0), headers, body: rest.join('\r\n\r\n'), closed });
    };
    socket.on('data', (d) => (data += d.toString('utf8')));
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk);
    });
    socket.on('timeout', reject);
  });
}

function assertProblem(res: { headers: Record<string, unknown>; body: string }, status: number, code: string) {
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const problem = JSON.parse(res.body);
  assert.equal(problem.status, status);
  assert.equal(problem.code, code);
  assert.ok(problem.detail.length > 10);
  assert.doesNotMatch(res.body, /at .*\.(ts|js):\d+|node_modules|\/work\//);
}

for (const dialect of DIALECTS) {
  describe(`request limits and security headers through app.inject (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(dialect, { BODY_LIMIT: '2048' });
    });
    after(async () => t.close());

    it(`answers 414 for a request target over ${MAX_URL_BYTES} bytes, and serves one just under`, async () => {
      const base = '/api/v1/users?username=';
      const ok = await t.app.inject({
        url: base + 'x'.repeat(MAX_URL_BYTES - base.length),
        headers: bearer(t.demo.read),
      });
      assert.equal(ok.statusCode, 200);
      const res = await t.app.inject({
        url: base + 'x'.repeat(MAX_URL_BYTES - base.length + 1),
        headers: bearer(t.demo.read),
      });
      assert.equal(res.statusCode, 414);
      assertProblem(res, 414, 'URI_TOO_LONG');
      assert.ok(res.headers['x-request-id']);
    });

    it(`answers 431 when the header fields pass ${MAX_HEADER_BYTES} bytes`, async () => {
      const res = await t.app.inject({
        url: '/api/v1/users',
        headers: { ...bearer(t.demo.read), 'x-padding': 'p'.repeat(MAX_HEADER_BYTES) },
      });
      assert.equal(res.statusCode, 431);
      assertProblem(res, 431, 'HEADERS_TOO_LARGE');
    });

    it('answers 413 for a body over BODY_LIMIT', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/audit',
        headers: { ...bearer(t.demo.admin), 'content-type': 'application/json' },
        payload: JSON.stringify({ pad: 'x'.repeat(4096) }),
      });
      assert.equal(res.statusCode, 413);
      assertProblem(res, 413, 'BODY_TOO_LARGE');
    });

    it('sends the security headers an API needs, and no X-Powered-By', async () => {
      for (const url of ['/api/v1/users?pagesize=1', '/api/v1/users/nobody', '/healthz', '/nowhere']) {
        const res = await t.app.inject({ url, headers: bearer(t.demo.read) });
        assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
        assert.equal(res.headers['x-powered-by'], undefined);
        assert.equal(res.headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP');
        assert.equal(res.headers['access-control-allow-origin'], undefined);
      }
      const api = await t.app.inject({ url: '/api/v1/users?pagesize=1', headers: bearer(t.demo.read) });
      assert.equal(api.headers['cache-control'], 'private, no-cache');
      assert.equal(api.headers.vary, 'authorization, x-organization-token');
      // A route's own Vary is kept.
      const csv = await t.app.inject({ url: '/api/v1/users', headers: { ...bearer(t.demo.read), accept: 'text/csv' } });
      assert.equal(csv.statusCode, 200);
      assert.equal(csv.headers.vary, 'accept, authorization, x-organization-token');
      const unauthorized = await t.app.inject({ url: '/api/v1/users' });
      assert.equal(unauthorized.headers['cache-control'], 'private, no-cache');
    });

    it('leaves CORS off unless CORS_ORIGINS is set: no CORS headers, no preflight', async () => {
      const res = await t.app.inject({
        url: '/api/v1/users?pagesize=1',
        headers: { ...bearer(t.demo.read), origin: 'https://evil.example' },
      });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['access-control-allow-origin'], undefined);
      const preflight = await t.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/users',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
      });
      assert.equal(preflight.headers['access-control-allow-origin'], undefined);
      assert.ok(preflight.statusCode >= 400 && preflight.statusCode < 500);
    });
  });

  describe(`CORS and HSTS when configured (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(dialect, {
        CORS_ORIGINS: 'https://app.example, https://admin.example',
        TRUST_PROXY: 'true',
      });
    });
    after(async () => t.close());

    it('answers a preflight from an allowed origin and exposes the headers a client reads', async () => {
      const preflight = await t.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/users',
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'authorization',
        },
      });
      assert.equal(preflight.statusCode, 204);
      assert.equal(preflight.headers['access-control-allow-origin'], 'https://app.example');
      assert.match(String(preflight.headers['access-control-allow-headers']), /authorization/);
      const res = await t.app.inject({
        url: '/api/v1/users?pagesize=1',
        headers: { ...bearer(t.demo.read), origin: 'https://admin.example' },
      });
      assert.equal(res.headers['access-control-allow-origin'], 'https://admin.example');
      assert.match(String(res.headers['access-control-expose-headers']), /ratelimit/);
      assert.equal(res.headers['access-control-allow-credentials'], undefined);
      const other = await t.app.inject({
        url: '/api/v1/users?pagesize=1',
        headers: { ...bearer(t.demo.read), origin: 'https://evil.example' },
      });
      assert.equal(other.headers['access-control-allow-origin'], undefined);
    });

    it('sends HSTS on responses that came over TLS through a trusted proxy', async () => {
      const tls = await t.app.inject({
        url: '/api/v1/users?pagesize=1',
        headers: { ...bearer(t.demo.read), 'x-forwarded-proto': 'https' },
      });
      assert.equal(tls.headers['strict-transport-security'], 'max-age=31536000');
      const plain = await t.app.inject({ url: '/api/v1/users?pagesize=1', headers: bearer(t.demo.read) });
      assert.equal(plain.headers['strict-transport-security'], undefined);
    });
  });

  describe(`request limits and time-outs on a real socket (${dialect})`, () => {
    let t: TestApp;
    let port: number;
    before(async () => {
      t = await buildTestApp(dialect, {
        HEADERS_TIMEOUT_MS: '400',
        REQUEST_TIMEOUT_MS: '800',
        KEEP_ALIVE_TIMEOUT_MS: '300',
      });
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const address = t.app.server.address();
      port = typeof address === 'object' && address ? address.port : 0;
    });
    after(async () => t.close());

    const auth = () => `Authorization: Bearer ${t.demo.read}\r\n`;

    it('answers 414 problem+json for a long target, below and past the parser limit', async () => {
      const request = (length: number) =>
        `GET /api/v1/users?name=${'n'.repeat(length)} HTTP/1.1\r\nHost: x\r\n${auth()}Connection: close\r\n\r\n`;
      const res = await rawRequest(port, [request(MAX_URL_BYTES * 2)]);
      assert.equal(res.status, 414);
      assertProblem(res, 414, 'URI_TOO_LONG');
      // Past the parser's limit Node tells only that line and headers overflowed: 414 when the last packet ends the
      // request line (as here, on loopback), else 431 naming both limits; problem+json either way.
      const huge = await rawRequest(port, [request(PARSER_MAX_HEADER_BYTES + 1024)]);
      assert.ok(huge.status === 414 || huge.status === 431, String(huge.status));
      assertProblem(huge, huge.status, huge.status === 414 ? 'URI_TOO_LONG' : 'HEADERS_TOO_LARGE');
      const enormous = await rawRequest(port, [request(PARSER_MAX_HEADER_BYTES * 4)]);
      assert.ok(enormous.status === 414 || enormous.status === 431, String(enormous.status));
      assertProblem(enormous, enormous.status, enormous.status === 414 ? 'URI_TOO_LONG' : 'HEADERS_TOO_LARGE');
    });

    it('answers 431 problem+json for large headers, below and past the parser limit', async () => {
      for (const length of [MAX_HEADER_BYTES * 2, PARSER_MAX_HEADER_BYTES + 1024]) {
        const res = await rawRequest(port, [
          `GET /api/v1/users HTTP/1.1\r\nHost: x\r\n${auth()}X-Pad: ${'p'.repeat(length)}\r\nConnection: close\r\n\r\n`,
        ]);
        assert.equal(res.status, 431, `headers of ${length}`);
        assertProblem(res, 431, 'HEADERS_TOO_LARGE');
      }
    });

    it('answers 408 problem+json and closes when headers trickle in too slowly (slowloris)', async () => {
      const res = await rawRequest(port, ['GET /api/v1/users HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n']);
      assert.equal(res.status, 408);
      assertProblem(res, 408, 'REQUEST_TIMEOUT');
      assert.ok(res.closed);
    });

    it('answers 408 problem+json when a body does not arrive in time', async () => {
      const res = await rawRequest(port, [
        `POST /api/v1/audit HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.demo.admin}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":`,
      ]);
      assert.equal(res.status, 408);
      assertProblem(res, 408, 'REQUEST_TIMEOUT');
      assert.ok(res.closed);
    });

    it('answers 400 problem+json to bytes that are not HTTP', async () => {
      const res = await rawRequest(port, ['HELLO THERE\r\n\r\n']);
      assert.equal(res.status, 400);
      assertProblem(res, 400, 'VALIDATION_FAILED');
    });

    it('the raw-socket 408, 400, 414 and 431 answers carry the security headers', async () => {
      const answers = await Promise.all([
        rawRequest(port, ['GET /api/v1/users HTTP/1.1\r\nHost: x\r\n']),
        rawRequest(port, ['HELLO THERE\r\n\r\n']),
        rawRequest(port, [`GET /?q=${'q'.repeat(PARSER_MAX_HEADER_BYTES * 2)} HTTP/1.1\r\nHost: x\r\n\r\n`]),
        rawRequest(port, [`GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(PARSER_MAX_HEADER_BYTES)}\r\n\r\n`]),
      ]);
      const [timedOut, garbage, longTarget, largeHeaders] = answers.map((res) => res.status);
      assert.equal(timedOut, 408);
      assert.equal(garbage, 400);
      // Past the parser's limit a long target is 414 or 431 depending on where the last packet ends (see above).
      assert.ok(longTarget === 414 || longTarget === 431, String(longTarget));
      assert.equal(largeHeaders, 431);
      for (const res of answers) {
        assert.equal(res.headers['referrer-policy'], 'no-referrer', String(res.status));
        assert.equal(res.headers['x-content-type-options'], 'nosniff', String(res.status));
        assert.ok(res.headers['x-request-id'], String(res.status));
      }
    });

    it('closes an idle keep-alive connection after KEEP_ALIVE_TIMEOUT_MS', async () => {
      const res = await rawRequest(port, [`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`], { waitMs: 5000 });
      assert.equal(res.status, 200);
      assert.ok(res.closed, 'the server closed the idle connection');
    });
  });
}
