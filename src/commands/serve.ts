import closeWithGrace from 'close-with-grace';
import type { Config } from '../config.js';
import { start } from '../server.js';

/** `roster serve`: runs the API until SIGINT/SIGTERM, then drains in-flight requests and exits. */
export async function serveCommand(config: Config): Promise<void> {
  const server = await start(config);
  const base = `${server.url}${config.apiRoot}`;
  process.stdout.write(`Roster is serving ${base} (database: ${config.database.dialect})\n`);
  process.stdout.write(`API reference: ${server.url}/docs\n`);
  if (server.demoKey) {
    process.stdout.write(
      `\nCreated the demo organization "demo" with 165 users. Its admin key, shown only this once:\n\n  ${server.demoKey}\n\n` +
        `Try it:\n\n  curl -H "Authorization: Bearer ${server.demoKey}" '${base}/users?pagesize=3'\n\n`,
    );
  }
  // SIGTERM/SIGINT (or a crash): stop accepting, let in-flight requests finish (new ones on open connections get
  // 503 + Retry-After), close the database, exit 0; past SHUTDOWN_GRACE_MS, exit 1 whatever is still running.
  closeWithGrace({ delay: config.shutdownGraceMs, logger: false }, async ({ signal, err }) => {
    if (err) server.app.log.error({ err }, 'fatal error: shutting down');
    else server.app.log.info({ signal }, 'shutting down: draining in-flight requests');
    await server.close();
  });
}
