import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { drainOnClose } from '../../src/http/drain.js';

/**
 * An app shaped like buildApp's: drainOnClose before the routes, a later onClose hook standing for the
 * database's close, and the wait for running handlers registered last (so it runs first).
 */
async function appWithSlowRoute(maxWaitMs: number) {
  const app = Fastify();
  const handlers = drainOnClose(app);
  const state = { databaseClosed: false, closedUnderHandler: undefined as boolean | undefined };
  let entered!: () => void;
  const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  app.get('/slow', async () => {
    entered();
    await released;
    // What a write does after its client left: it still needs the database.
    state.closedUnderHandler = state.databaseClosed;
    return { ok: true };
  });
  app.get('/quick', (_request, reply) => {
    reply.send({ ok: true });
  });
  app.addHook('onClose', () => {
    state.databaseClosed = true;
  });
  app.addHook('onClose', () => handlers.settled(maxWaitMs));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return { app, port, state, handlerEntered, release };
}

/** A GET whose client hangs up as soon as the server has begun its handler. */
async function hangUpDuring(port: number, handlerEntered: Promise<void>): Promise<void> {
  const req = request({ host: '127.0.0.1', port, path: '/slow' });
  req.on('error', () => {});
  req.end();
  await handlerEntered;
  req.destroy();
  await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('the close waits for handlers whose client hung up', () => {
  it('runs the other onClose hooks (the database) only after the handler finished', async () => {
    const { app, port, state, handlerEntered, release } = await appWithSlowRoute(10_000);
    const quick = await fetch(`http://127.0.0.1:${port}/quick`);
    assert.equal(quick.status, 200);
    await hangUpDuring(port, handlerEntered);
    let closed = false;
    const closing = app.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(closed, false, 'the close waits for the running handler');
    assert.equal(state.databaseClosed, false);
    release();
    await closing;
    assert.equal(state.closedUnderHandler, false, 'the handler finished with the database open');
    assert.equal(state.databaseClosed, true);
  });

  it('waits no longer than its bound for a handler that never finishes', async () => {
    const { app, port, state, handlerEntered } = await appWithSlowRoute(300);
    await hangUpDuring(port, handlerEntered);
    const started = Date.now();
    await app.close();
    const waited = Date.now() - started;
    assert.ok(waited >= 250 && waited < 5_000, `closed after ${waited} ms`);
    assert.equal(state.databaseClosed, true);
  });

  it('closes at once when no handler runs', async () => {
    const { app, port, state } = await appWithSlowRoute(10_000);
    assert.equal((await fetch(`http://127.0.0.1:${port}/quick`)).status, 200);
    const started = Date.now();
    await app.close();
    assert.ok(Date.now() - started < 2_000);
    assert.equal(state.databaseClosed, true);
  });
});
