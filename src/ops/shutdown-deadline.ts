import { Worker } from 'node:worker_threads';

// The watchdog runs on its own thread, so a main thread stuck in a synchronous loop or in an exit handler
// that never returns (a log flush retrying a closed pipe) cannot hold it back.
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
setTimeout(() => process.kill(workerData.pid, 'SIGKILL'), Math.max(0, workerData.at - Date.now()));
`;

let armed = false;

/**
 * Makes sure the process ends within `graceMs` plus one second from now, whatever runs, hangs or fails
 * meanwhile: at `graceMs` + 0.5 s it calls `beforeExit` and exits 1; should this thread be stuck, a
 * watchdog thread kills the process (SIGKILL) at `graceMs` + 0.9 s. Only the first call counts.
 */
export function armShutdownDeadline(graceMs: number, beforeExit: () => void = () => {}): void {
  if (armed) return;
  armed = true;
  setTimeout(() => {
    try {
      beforeExit();
    } finally {
      process.exit(1);
    }
  }, graceMs + 500).unref();
  const watchdog = new Worker(WATCHDOG, {
    eval: true,
    workerData: { pid: process.pid, at: Date.now() + graceMs + 900 },
  });
  watchdog.unref();
}
