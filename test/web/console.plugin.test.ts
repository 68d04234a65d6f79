import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { CONSOLE_DIR } from '../../src/web/console.plugin.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

/** The budget for the console's whole JavaScript, gzipped. */
const JS_BUDGET_GZIP = 150 * 1024;

const ASSETS = join(CONSOLE_DIR, 'assets');
const scripts = () => readdirSync(ASSETS).filter((f) => f.endsWith('.js'));

describe('console build', () => {
  it('is built (npm run build:console)', () => {
    assert.ok(existsSync(join(CONSOLE_DIR, 'index.html')), `${CONSOLE_DIR}index.html: run npm run build:console`);
  });

  it(`keeps its whole JavaScript at most ${JS_BUDGET_GZIP / 1024} KB gzipped`, () => {
    const total = scripts().reduce((sum, f) => sum + gzipSync(readFileSync(join(ASSETS, f)), { level: 9 }).length, 0);
    assert.ok(total > 10_000, 'there is a bundle');
    assert.ok(total <= JS_BUDGET_GZIP, `${total} bytes gzipped > ${JS_BUDGET_GZIP}`);
  });
});

for (const dialect of DIALECTS) {
  describe(`GET /console (${dialect})`, () => {
    let t: TestApp;
    let custom: TestApp;

    before(async () => {
      t = await buildTestApp(dialect);
      custom = await buildTestApp(dialect, { API_ROOT: '/marketingedge/v5/api' });
    });
    after(async () => {
      await t.close();
      await custom.close();
    });

    it('answers index.html, never cached, with the API root, for /console and every deep link', async () => {
      for (const url of [
        '/console',
        '/console/',
        '/console/users?status=activated',
        '/console/users/rsmith',
        '/console/new-user',
        '/console/index.html',
      ]) {
        const res = await t.app.inject({ url });
        assert.equal(res.statusCode, 200, url);
        assert.match(String(res.headers['content-type']), /^text\/html/, url);
        assert.equal(res.headers['cache-control'], 'no-cache', url);
        assert.match(res.body, /<meta name="roster-api-root" content="\/api\/v1" \/>/, url);
        assert.match(String(res.headers['content-security-policy']), /default-src 'self'.*frame-ancestors 'none'/, url);
      }
      const other = await custom.app.inject({ url: '/console/users' });
      assert.match(other.body, /content="\/marketingedge\/v5\/api"/);
    });

    it('serves the hashed assets precompressed, cached for a year, immutable', async () => {
      const [script] = scripts();
      assert.ok(script);
      const url = `/console/assets/${script}`;
      const raw = readFileSync(join(ASSETS, script));
      for (const [accept, encoding] of [
        ['br, gzip', 'br'],
        ['gzip', 'gzip'],
        ['identity', undefined],
      ] as const) {
        const res = await t.app.inject({ url, headers: { 'accept-encoding': accept } });
        assert.equal(res.statusCode, 200, accept);
        assert.equal(res.headers['content-encoding'], encoding, accept);
        assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable', accept);
        assert.match(String(res.headers.vary), /accept-encoding/i);
        assert.match(String(res.headers['content-type']), /javascript/);
        if (!encoding) assert.equal(res.rawPayload.length, raw.length);
        else assert.ok(res.rawPayload.length < raw.length / 2, `${encoding} is smaller`);
      }
    });

    it('serves a favicon', async () => {
      const res = await t.app.inject({ url: '/console/favicon.svg' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^image\/svg\+xml/);
      const index = await t.app.inject({ url: '/console' });
      assert.match(index.body, /<link rel="icon" href="\/console\/favicon.svg"/);
    });

    it('answers a missing asset or another method with a 404 problem, not the app', async () => {
      for (const [method, url] of [
        ['GET', '/console/assets/index-gone.js'],
        ['POST', '/console/users'],
      ] as const) {
        const res = await t.app.inject({ method, url });
        assert.equal(res.statusCode, 404, `${method} ${url}`);
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
        assert.match(res.json().detail, /console/);
      }
    });
  });
}
