import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { signalAndWait } from './pipes.js';

const GRACE_MS = 1000;
const DEADLINE_MS = GRACE_MS + 1000;

/** Starts the fixture and resolves once it has installed its SIGTERM handler. */
async function startStuck(how: string) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/faults/fixtures/stuck-shutdown.ts', String(GRACE_MS), how],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    void exited.then(() => reject(new Error('the fixture exited before its signal')));
  });
  return { child, exited };
}

describe('the shutdown deadline ends the process whatever hangs', () => {
  it('a promise that never settles: exit 1 after the grace period, within a second more', async () => {
    const exit = await signalAndWait(await startStuck('promise'), 'SIGTERM', DEADLINE_MS);
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 1, signal: null });
    assert.ok(exit.ms >= GRACE_MS && exit.ms < DEADLINE_MS, `ended ${exit.ms} ms after SIGTERM`);
  });

  for (const how of ['exit-handler', 'loop']) {
    it(`a main thread that never returns (${how}): killed by the watchdog within the deadline`, async () => {
      const exit = await signalAndWait(await startStuck(how), 'SIGTERM', DEADLINE_MS);
      assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: null, signal: 'SIGKILL' });
      assert.ok(exit.ms >= GRACE_MS && exit.ms < DEADLINE_MS, `ended ${exit.ms} ms after SIGTERM`);
    });
  }
});
