import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { connect, type Connection, type Dialect } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrator.js';
import { seedDemo } from '../../src/demo/demo.seed.js';
import { createKeyService } from '../../src/auth/key.service.js';
import { createOrgService } from '../../src/orgs/org.service.js';
import { createTestDatabase, type TestDatabase } from './databases.js';

export interface TestApp {
  readonly app: FastifyInstance;
  readonly conn: Connection;
  readonly config: Config;
  readonly database: TestDatabase;
  /** The demo organization (165 users) and a key of each scope. */
  readonly demo: { orgId: number; read: string; write: string; admin: string };
  /** A second organization, empty but for what a test puts in it, with an admin key. */
  readonly other: { orgId: number; admin: string };
  close(): Promise<void>;
}

/** Builds the app on a fresh, migrated database of the dialect, seeded with the demo organization and a second one. */
export async function buildTestApp(dialect: Dialect, env: Record<string, string> = {}): Promise<TestApp> {
  const database = await createTestDatabase(dialect);
  const config = loadConfig({ DATABASE_URL: database.target.url, LOG_LEVEL: 'silent', ...env });
  const conn = connect(config.database);
  await migrateToLatest(conn);
  const admin = await seedDemo(conn);
  if (!admin) throw new Error('expected an empty database');
  const orgs = createOrgService(conn.db);
  const keys = createKeyService(conn.db);
  const orgId = await orgs.requireOrganization('demo');
  const read = (await keys.createApiKey(orgId, 'read')).key;
  const write = (await keys.createApiKey(orgId, 'write')).key;
  const otherId = await orgs.createOrganization('other');
  const otherAdmin = (await keys.createApiKey(otherId, 'admin')).key;
  const app = await buildApp(config, conn);
  await app.ready();
  return {
    app,
    conn,
    config,
    database,
    demo: { orgId, read, write, admin },
    other: { orgId: otherId, admin: otherAdmin },
    close: async () => {
      await app.close();
      await conn.close();
      await database.drop();
    },
  };
}

/** Authorization header for a key. */
export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
