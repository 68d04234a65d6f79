import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { newUser, prepareDatabase, sleep, startRoster, storedUsernames } from './support.js';

for (const dialect of DIALECTS) {
  describe(`SIGTERM drains in-flight requests, then exits (${dialect})`, () => {
    let database: TestDatabase;
    before(async () => {
      database = await createTestDatabase(dialect);
    });
    after(async () => database.drop());

    it('finishes a slow upload that was in flight, refuses new connections, and exits 0', async () => {
      const { orgId, write } = await prepareDatabase(database.target);
      const roster = await startRoster(database.target.url, { RATE_LIMIT: '0' });
      const { hostname, port } = new URL(roster.url);
      const body = JSON.stringify(newUser('slow.upload'));
      const half = Math.floor(body.length / 2);

      // A client uploading its body slowly: the request is in flight when SIGTERM arrives.
      const socket = tcpConnect({ host: hostname, port: Number(port) });
      let response = '';
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.on('data', (d) => (response += d.toString()));
      await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
      socket.write(
        `POST /api/v1/users HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${write}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`,
      );
      // Another client whose request headers are half sent when SIGTERM arrives.
      const late = tcpConnect({ host: hostname, port: Number(port) });
      let lateResponse = '';
      const lateClosed = new Promise<void>((resolve) => late.on('close', () => resolve()));
      late.on('data', (d) => (lateResponse += d.toString()));
      late.on('error', () => {});
      await new Promise<void>((resolve) => late.on('connect', () => resolve()));
      late.write(`GET /api/v1/users?pagesize=1 HTTP/1.1\r\nHost: ${hostname}\r\n`);
      await sleep(300);
      const signalledAt = Date.now();
      roster.child.kill('SIGTERM');
      await sleep(500);

      // No new connections once draining.
      const refused = await fetch(`${roster.url}/healthz`, { signal: AbortSignal.timeout(3000) }).then(
        () => false,
        () => true,
      );
      assert.ok(refused, 'a new connection was accepted after SIGTERM');
      assert.equal(roster.child.exitCode, null, 'the process exited before its in-flight request finished');

      // It completes its request while the server drains: 503 problem+json with Retry-After, and the connection closes.
      late.write(`Authorization: Bearer ${write}\r\n\r\n`);
      await lateClosed;
      assert.match(lateResponse, /^HTTP\/1\.1 503 /, lateResponse);
      assert.match(lateResponse, /\r\nretry-after: \d+\r\n/i);
      assert.match(lateResponse, /\r\ncontent-type: application\/problem\+json/i);
      assert.match(lateResponse, /"code":"SERVICE_UNAVAILABLE"/);

      socket.write(body.slice(half));
      await closed;
      assert.match(response, /^HTTP\/1\.1 201 /, response);
      assert.match(response, /\r\nconnection: close\r\n/i);
      const exit = await roster.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, roster.output());
      assert.ok(Date.now() - signalledAt < 10_000, 'drained within the grace period');
      assert.ok((await storedUsernames(database.target.url, orgId)).has('slow.upload'));
    });
  });
}
