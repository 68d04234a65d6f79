import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import closeWithGrace from 'close-with-grace';
import type { Config } from '../config.js';
import { seedDemo } from '../demo/demo.seed.js';
import { armShutdownDeadline } from '../ops/shutdown-deadline.js';
import { start } from '../server.js';
import { CONSOLE_PATH } from '../web/console.plugin.js';
import { withDatabase } from './with-database.js';

export interface ServeOptions {
  /** Worker processes sharing the port (node:cluster); 1: serve in this process. */
  readonly workers?: number;
}

/** `--workers`: a count, or `auto` for one per core. */
export function parseWorkers(value: string): number {
  if (value === 'auto') return availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw new Error(`--workers takes a count from 1 to 256 or "auto", not "${value}"`);
  return n;
}

/** The demo key goes to stderr: stdout carries the JSON log, which must never hold a key. */
function printDemoKey(base: string, key: string | null): void {
  if (!key) return;
  process.stderr.write(
    `\nCreated the demo organization "demo" with 165 users. Its admin key, shown only this once:\n\n  ${key}\n\n` +
      `Try it:\n\n  curl -H "Authorization: Bearer ${key}" '${base}/users?pagesize=3'\n\n`,
  );
}

/**
 * `roster serve --workers N`: the primary migrates and seeds once, then forks
 * N workers that share the port (node:cluster hands them connections in
 * turn). Workers are stateless: every answer comes from the database, and
 * their caches are validated against it on every request, so any worker
 * answers any request the same. A worker that dies is replaced; SIGTERM or
 * SIGINT drains every worker, then the primary exits.
 */
async function servePrimary(config: Config, workers: number): Promise<void> {
  const demoKey = await withDatabase(config, async (conn) => (config.demo ? seedDemo(conn) : null));
  let stopping = false;
  let failed = false;
  let listening = 0;
  // The primary has seeded the demo already; a worker must not try again.
  const fork = (): Worker => cluster.fork({ ROSTER_DEMO: '0' });
  cluster.on('listening', (_worker, address) => {
    if (++listening !== workers) return;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${host}:${address.port}`;
    process.stdout.write(
      `Roster is serving ${url}${config.apiRoot} with ${workers} workers (database: ${config.database.dialect})\n`,
    );
    process.stdout.write(`API reference: ${url}/docs\n`);
    process.stdout.write(`Console: ${url}${CONSOLE_PATH}\n`);
    printDemoKey(`${url}${config.apiRoot}`, demoKey);
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      failed ||= code !== 0;
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failed ? 1 : 0);
      return;
    }
    process.stderr.write(`worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`);
    fork();
  });
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const signalWorkers = (signal: NodeJS.Signals) => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
    };
    signalWorkers('SIGTERM');
    // Workers keep the same deadline themselves; none outlives the primary.
    armShutdownDeadline(config.shutdownGraceMs, () => signalWorkers('SIGKILL'));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  for (let i = 0; i < workers; i++) fork();
}

/** `roster serve`: runs the API until SIGINT/SIGTERM, then drains in-flight requests and exits. */
export async function serveCommand(config: Config, options: ServeOptions = {}): Promise<void> {
  const workers = options.workers ?? 1;
  if (workers > 1 && cluster.isPrimary) return servePrimary(config, workers);
  const server = await start(config);
  const base = `${server.url}${config.apiRoot}`;
  if (cluster.isPrimary) {
    process.stdout.write(`Roster is serving ${base} (database: ${config.database.dialect})\n`);
    process.stdout.write(`API reference: ${server.url}/docs\n`);
    process.stdout.write(`Console: ${server.url}${CONSOLE_PATH}\n`);
    printDemoKey(base, server.demoKey);
  }
  // SIGTERM/SIGINT (or a crash): stop accepting, let in-flight requests finish (new ones on open connections get
  // 503 + Retry-After), close the database, exit 0; past SHUTDOWN_GRACE_MS, exit 1 whatever is still running,
  // and past one more second the deadline ends the process even if exiting itself hangs.
  closeWithGrace({ delay: config.shutdownGraceMs, logger: false }, async ({ signal, err }) => {
    armShutdownDeadline(config.shutdownGraceMs);
    if (err) server.app.log.error({ err }, 'fatal error: shutting down');
    else server.app.log.info({ signal }, 'shutting down: draining in-flight requests');
    await server.close();
  });
}
