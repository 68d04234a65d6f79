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
  const stop = (signal: string) => {
    server.app.log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
