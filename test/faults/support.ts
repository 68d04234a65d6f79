import { spawn, type ChildProcess } from 'node:child_process';
import { parseDatabaseUrl, type DatabaseTarget } from '../../src/config.js';
import { connect } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrator.js';
import { createKeyService } from '../../src/auth/key.service.js';
import { createOrgService } from '../../src/orgs/org.service.js';
import { rosterArgs } from '../support/cli.js';

/** A `roster serve` child process. */
export interface RosterProcess {
  readonly child: ChildProcess;
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Starts the real server (`roster serve [args]`, from source) on a free port and waits until it listens. */
export async function startRoster(
  databaseUrl: string,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<RosterProcess> {
  const child = spawn(process.execPath, rosterArgs('serve', ...args), {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      ROSTER_DEMO: '0',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`roster serve did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Roster is serving (http:\/\/[^\s/]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then(() => reject(new Error(`roster serve exited:\n${output}`)));
  });
  return { child, url, exited, output: () => output };
}

/** Migrates a database and gives it an organization with a write key. */
export async function prepareDatabase(target: DatabaseTarget): Promise<{ orgId: number; write: string }> {
  const conn = connect(target);
  try {
    await migrateToLatest(conn);
    const orgId = await createOrgService(conn.db).createOrganization('faults');
    return { orgId, write: (await createKeyService(conn.db).createApiKey(orgId, 'write')).key };
  } finally {
    await conn.close();
  }
}

/** The usernames of an organization's users, read straight from the database. */
export async function storedUsernames(url: string, orgId: number): Promise<Set<string>> {
  const conn = connect(parseDatabaseUrl(url));
  try {
    const rows = await conn.db.selectFrom('users').select('username').where('org_id', '=', orgId).execute();
    return new Set(rows.map((r) => r.username));
  } finally {
    await conn.close();
  }
}

/** How many user.create audit entries an organization has. */
export async function countUserCreateEntries(url: string, orgId: number): Promise<number> {
  const conn = connect(parseDatabaseUrl(url));
  try {
    const row = await conn.db
      .selectFrom('audit_entries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('org_id', '=', orgId)
      .where('action', '=', 'user.create')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  } finally {
    await conn.close();
  }
}

/** A new user's body for POST users. */
export const newUser = (username: string) => ({
  username,
  name: `Fault ${username}`,
  email: `${username}@example.com`,
  call_detail_level: 'full',
  roles: ['reporting'],
});

/** POST users with a client time-out: a hang becomes a thrown error, never a stuck test. */
export async function postUser(base: string, key: string, username: string, timeoutMs = 15_000): Promise<Response> {
  return fetch(`${base}/api/v1/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(newUser(username)),
    signal: AbortSignal.timeout(timeoutMs),
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
