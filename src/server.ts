import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { connect, type Connection } from './db/connect.js';
import { migrateToLatest } from './db/migrator.js';
import { seedDemo } from './demo/demo.seed.js';
import { loggerOptions } from './http/logger.js';
import { createLogDestination } from './ops/log-destination.js';

/** How long closing waits for a slow log reader to take the last lines. */
const LOG_DRAIN_MS = 1000;

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly conn: Connection;
  readonly url: string;
  /** The demo key when this start created the demo organization. */
  readonly demoKey: string | null;
  close(): Promise<void>;
}

/**
 * Opens the database, migrates it, builds the app, listens, then seeds the demo (when enabled and the
 * database is empty). The demo comes last so that a start that cannot listen (port taken) does not use up
 * the demo key it could never show; on any failure the database is closed before the error is rethrown.
 */
export async function start(config: Config): Promise<RunningServer> {
  const conn = connect(config.database, { poolSize: config.pgPoolSize, preparedWrites: config.pgPreparedWrites });
  const logs = createLogDestination();
  let app: FastifyInstance | undefined;
  try {
    await migrateToLatest(conn);
    app = await buildApp(config, conn, {
      logger: loggerOptions(config.logLevel, logs),
      processMetrics: true,
    });
    await app.listen({ port: config.port, host: config.host });
    const demoKey = config.demo ? await seedDemo(conn) : null;
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const running = app;
    let closing: Promise<void> | undefined;
    return {
      app: running,
      conn,
      url: `http://${host}:${port}`,
      demoKey,
      close: () =>
        (closing ??= running
          .close()
          .then(() => conn.close())
          .then(() => logs.drain(LOG_DRAIN_MS))),
    };
  } catch (error) {
    await app?.close().catch(() => {});
    await conn.close().catch(() => {});
    throw error;
  }
}
