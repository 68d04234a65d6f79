import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { loggerOptions } from '../../src/http/logger.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

interface LogLine {
  level: number;
  msg: string;
  req?: { url: string };
}

for (const dialect of DIALECTS) {
  describe(`the log (${dialect})`, () => {
    let t: TestApp;
    let app: FastifyInstance;
    const lines: string[] = [];
    const parsed = () => lines.map((line) => JSON.parse(line) as LogLine);
    /** The log lines written while `send` ran, at `level` (pino's number) or above. */
    const logOf = async (level: number, send: () => Promise<unknown>): Promise<string> => {
      const from = lines.length;
      await send();
      return lines
        .slice(from)
        .filter((line) => (JSON.parse(line) as LogLine).level >= level)
        .join('');
    };

    before(async () => {
      t = await buildTestApp(dialect);
      app = await buildApp(t.config, t.conn, {
        logger: loggerOptions('trace', { write: (line: string) => void lines.push(line) }),
      });
      await app.ready();
    });
    after(async () => {
      await app.close();
      await t.close();
    });

    it('the request line holds the route pattern and the query names, never a value', async () => {
      const info = await logOf(30, () =>
        app.inject({ url: '/api/v1/users/rsmith?fields=name&x=1', headers: bearer(t.demo.read) }),
      );
      const incoming = parsed()
        .filter((line) => line.msg === 'incoming request')
        .at(-1);
      assert.equal(incoming?.req?.url, '/api/v1/users/:user?fields=[redacted]&x=[redacted]');
      assert.doesNotMatch(info, /rsmith/, 'no username from the path at info');
    });

    it('search values (e-mail addresses, names) are not logged at info', async () => {
      const info = await logOf(30, () =>
        app.inject({
          url: '/api/v1/users?email=someone%40example.com&name=Zelda%20Quux&username=zquux',
          headers: bearer(t.demo.read),
        }),
      );
      assert.match(info, /"url":"\/api\/v1\/users\?email=\[redacted\]&name=\[redacted\]&username=\[redacted\]"/);
      assert.doesNotMatch(info, /someone|example\.com|Zelda|Quux|zquux/);
    });

    it('a key sent as ?api_key= is redacted at every level, trace included', async () => {
      const all = await logOf(0, () =>
        app.inject({ url: `/api/v1/users?api_key=${t.demo.read}`, headers: bearer(t.demo.read) }),
      );
      assert.ok(all.includes('request target'), 'the debug line with the whole target was written');
      assert.ok(!all.includes(t.demo.read.slice(4)), 'no key in any line');
      assert.match(all, /api_key=rst_\[redacted\]/);
    });

    it('anything shaped like a key is redacted wherever it appears in a line', async () => {
      const all = await logOf(0, async () => {
        app.log.info({ note: `given ${t.demo.admin} by mistake`, nested: { deep: [t.demo.write] } }, t.demo.read);
        // An unknown path: no route pattern, the key in a path segment.
        await app.inject({ url: `/api/v1/${t.demo.admin}`, headers: bearer(t.demo.read) });
      });
      for (const key of [t.demo.admin, t.demo.write, t.demo.read]) assert.ok(!all.includes(key.slice(4)), all);
      assert.match(all, /given rst_\[redacted\] by mistake/);
      assert.match(all, /"url":"\(no route\)"/);
    });

    it("the request line logs the server's id as reqId and the client's X-Request-Id beside it", async () => {
      await logOf(30, () =>
        app.inject({ url: '/api/v1/users?pagesize=1', headers: { ...bearer(t.demo.read), 'x-request-id': 'mine-42' } }),
      );
      const incoming = parsed()
        .filter((line) => line.msg === 'incoming request')
        .at(-1) as LogLine & { reqId: string; req: { clientRequestId?: string } };
      assert.match(incoming.reqId, /^[0-9a-f-]{36}$/);
      assert.equal(incoming.req.clientRequestId, 'mine-42');
    });

    it('TRUST_PROXY=true logs a warning at start that client addresses can be spoofed; a hop count does not', async () => {
      const warnings = async (trustProxy: string) => {
        const seen: string[] = [];
        const config = loadConfig({ DATABASE_URL: t.database.target.url, TRUST_PROXY: trustProxy });
        const built = await buildApp(config, t.conn, {
          logger: loggerOptions('info', { write: (line: string) => void seen.push(line) }),
        });
        await built.close();
        return seen.map((line) => JSON.parse(line) as LogLine).filter((line) => line.level === 40);
      };
      const [warning, ...more] = await warnings('true');
      assert.equal(more.length, 0);
      assert.match(warning?.msg ?? '', /TRUST_PROXY=true .* spoof .* hop count/);
      assert.deepEqual(await warnings('1'), []);
      assert.deepEqual(await warnings('10.0.0.0/8'), []);
    });
  });
}
