import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { insertBulkUsers } from '../support/users.js';

// Streamed answers are capped per key and per process and cut at a deadline (docs/security.md, section 18).

// Long enough for the steps before the cut on a loaded machine.
const DEADLINE_MS = 5000;

interface Opened {
  readonly res: IncomingMessage;
}

/** Starts a GET and stops reading once the headers are in: a reader that never reads. */
function openSlow(port: number, path: string, key: string, accept: string): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', path, agent: false, headers: { ...bearer(key), accept } }, (res) => {
      res.pause();
      resolve({ res });
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Reads what a paused answer still holds until its connection ends; true when the answer was whole. An answer
 * cut while little of it had arrived (a slow server on a loaded machine) may have closed already: its 'close'
 * came before this listener, and waiting for it would hang the test.
 */
function readRest({ res }: Opened): Promise<boolean> {
  return new Promise((done) => {
    if (res.closed) return done(res.complete);
    res.on('data', () => {});
    res.on('error', () => {});
    res.once('close', () => done(res.complete));
    res.resume();
  });
}

/** A whole GET answer: status, headers and body. */
function fetchWhole(port: number, path: string, key: string, accept: string) {
  return new Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', path, agent: false, headers: { ...bearer(key), accept } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A slow reader of the key's NDJSON stream, opened again on a 429 for up to a second: a reader that left
 * frees its slot as soon as the server sees its socket close, which on a loaded machine can take a moment.
 * Well inside the deadline that would otherwise free the slot, so a slot kept by a reader that left still
 * fails the test.
 */
async function openAdmitted(port: number, key: string): Promise<Opened> {
  for (const started = Date.now(); ;) {
    const slow = await openSlow(port, '/api/v1/users', key, 'application/x-ndjson');
    if (slow.res.statusCode !== 429 || Date.now() - started > 1000) return slow;
    slow.res.destroy();
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const dialect of DIALECTS) {
  describe(`streamed answers are capped (${dialect})`, () => {
    let t: TestApp;
    let port: number;
    before(async () => {
      t = await buildTestApp(dialect, {
        RATE_LIMIT: '0',
        ROSTER_STREAMS_PER_KEY: '2',
        ROSTER_STREAMS_MAX: '3',
        ROSTER_STREAM_DEADLINE_MS: String(DEADLINE_MS),
        // The caps are under test, not the read time limit: a loaded machine must not turn a stream into a 503.
        ROSTER_QUERY_TIMEOUT_MS: '60000',
      });
      // Enough users that an answer cannot hide in socket buffers (several MB).
      await insertBulkUsers(t.conn, t.demo.orgId, 20_000, 'x'.repeat(200));
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      port = (t.app.server.address() as AddressInfo).port;
    });
    after(() => t.close());

    it('per key 429, per process 503, both with Retry-After; slow readers are cut at the deadline', async () => {
      const started = Date.now();
      const a1 = await openSlow(port, '/api/v1/users', t.demo.read, 'application/x-ndjson');
      const a2 = await openSlow(port, '/api/v1/users', t.demo.read, 'text/csv');
      assert.equal(a1.res.statusCode, 200);
      assert.equal(a2.res.statusCode, 200);

      const third = await fetchWhole(port, '/api/v1/users', t.demo.read, 'application/x-ndjson');
      assert.equal(third.status, 429);
      assert.match(String(third.headers['content-type']), /^application\/problem\+json/);
      assert.equal(third.headers['retry-after'], '10');
      assert.equal(JSON.parse(third.body).code, 'TOO_MANY_CONCURRENT');
      assert.match(JSON.parse(third.body).detail, /most one key may have \(2\)/);

      // A big JSON page streams from the database too, and counts as a stream.
      const b1 = await openSlow(port, '/api/v1/users?pagesize=10000', t.demo.write, 'application/json');
      assert.equal(b1.res.statusCode, 200);
      const full = await fetchWhole(port, '/api/v1/users', t.demo.admin, 'application/x-ndjson');
      assert.equal(full.status, 503);
      assert.equal(full.headers['retry-after'], '10');
      assert.match(JSON.parse(full.body).detail, /the most it runs at once \(3\)/);

      // Small answers are not streams: never refused.
      assert.equal((await fetchWhole(port, '/api/v1/users?pagesize=5', t.demo.read, 'application/json')).status, 200);

      // Past the deadline the slow readers were cut, unfinished, and their slots came back.
      await new Promise((r) => setTimeout(r, DEADLINE_MS + 500 - (Date.now() - started)));
      for (const slow of [a1, a2]) assert.equal(await readRest(slow), false);
      await readRest(b1);
      // The server may see the cut readers' sockets close a moment after they did: allow it a second.
      let again = await fetchWhole(port, '/api/v1/users', t.demo.read, 'application/x-ndjson');
      for (const cut = Date.now(); again.status === 429 && Date.now() - cut < 1000;) {
        await new Promise((r) => setTimeout(r, 50));
        again = await fetchWhole(port, '/api/v1/users', t.demo.read, 'application/x-ndjson');
      }
      assert.equal(again.status, 200);
      assert.equal(again.body.split('\n').length - 1, 165 + 20000);
    });

    it('a reader that goes away gives its slot back at once', async () => {
      // Admitted within a second, well before the 5 s deadline would cut a reader: so its slot came back
      // because it left (on a loaded machine the server may take more than a few milliseconds to see that).
      const admitted = () => openAdmitted(port, t.demo.read);
      for (let i = 0; i < 5; i++) {
        const slow = await admitted();
        assert.equal(slow.res.statusCode, 200);
        slow.res.destroy();
      }
      const a = await admitted();
      const b = await admitted();
      assert.equal(a.res.statusCode, 200);
      assert.equal(b.res.statusCode, 200);
      a.res.destroy();
      b.res.destroy();
    });
  });
}
