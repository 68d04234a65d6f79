import type { FastifyInstance } from 'fastify';
import { buildApp, loggerOptions } from './app.js';
import type { Config } from './config.js';
import { connect, type Connection } from './db/connect.js';
import { migrateToLatest } from './db/migrator.js';
import { seedDemo } from './demo/demo.seed.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly conn: Connection;
  readonly url: string;
  /** The demo key when this start created the demo organization. */
  readonly demoKey: string | null;
  close(): Promise<void>;
}

/** Opens the database, migrates it, seeds the demo (when enabled and empty), builds the app and listens. */
export async function start(config: Config): Promise<RunningServer> {
  const conn = connect(config.database, { poolSize: config.pgPoolSize });
  await migrateToLatest(conn);
  const demoKey = config.demo ? await seedDemo(conn) : null;
  const app = await buildApp(config, conn, {
    logger: loggerOptions(config.logLevel),
    processMetrics: true,
  });
  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    app,
    conn,
    url: `http://${host}:${port}`,
    demoKey,
    close: () => (closing ??= app.close().then(() => conn.close())),
  };
}
