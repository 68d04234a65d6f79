import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { copyCommand } from '../../src/commands/copy.js';
import { loadConfig } from '../../src/config.js';
import { connect, type Connection } from '../../src/db/connect.js';
import type { CopyReport } from '../../src/copy/copy.service.js';
import { insertTestUsers } from '../support/users.js';
import type { TestApp } from '../support/app.js';
import { caller, newUser } from '../support/writes.js';
import type { TestDatabase } from '../support/databases.js';
import { prng } from '../../src/shared/prng.js';

/** Runs `roster copy` in-process from one database URL to another; returns the report and what it printed. */
export async function runCopy(from: string, to: string, org?: string): Promise<{ report: CopyReport; out: string }> {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const config = loadConfig({ DATABASE_URL: from, LOG_LEVEL: 'silent' });
  const report = await copyCommand(config, { to, ...(org !== undefined ? { org } : {}) }, sink, sink);
  return { report, out: chunks.join('') };
}

/** An app serving a database a copy wrote. */
export interface CopiedApp {
  readonly app: FastifyInstance;
  readonly conn: Connection;
  close(): Promise<void>;
}

export async function serveCopy(database: TestDatabase): Promise<CopiedApp> {
  const config = loadConfig({ DATABASE_URL: database.target.url, LOG_LEVEL: 'silent', RATE_LIMIT: '0' });
  const conn = connect(config.database);
  const app = await buildApp(config, conn);
  await app.ready();
  return {
    app,
    conn,
    close: async () => {
      await app.close();
      await conn.close();
    },
  };
}

/**
 * Fills the test app's second organization with a generated directory written
 * through the API (a three-level billing group hierarchy, groups, users
 * created, patched and deactivated with reassignment: audit entries,
 * deactivation records, versions above 1) and stored straight (varied
 * statuses and dates). Deterministic but for user_ids.
 */
export async function generateOrganization(t: TestApp, users: number): Promise<void> {
  const api = caller(t, t.other.admin);
  // Every write must land: a silent 4xx would leave the copy comparing less than it claims.
  const call = async (...args: Parameters<typeof api>) => {
    const res = await api(...args);
    if (res.statusCode >= 300) throw new Error(`${args[0]} ${args[1]}: ${res.statusCode} ${res.body}`);
    return res;
  };
  const random = prng(16);
  const leaves: number[] = [];
  for (let r = 1; r <= 2; r++) {
    const root = (await call('POST', 'billinggroups', { body: { billing_group_name: `Region ${r}` } })).json();
    for (let c = 1; c <= 2; c++) {
      const child = (
        await call('POST', `billinggroups/${root.billing_group_id}`, { body: { billing_group_name: `Area ${r}.${c}` } })
      ).json();
      const leaf = (
        await call('POST', `billinggroups/${child.billing_group_id}`, {
          body: { billing_group_name: `Office ${r}.${c}` },
        })
      ).json();
      leaves.push(leaf.billing_group_id as number);
    }
  }
  const groups: number[] = [];
  for (const [i, leaf] of leaves.entries()) {
    const group = (await call('POST', 'groups', { body: { group_name: `Team ${i}`, billing_group_id: leaf } })).json();
    groups.push(group.group_id as number);
  }
  for (let i = 0; i < 12; i++) {
    const access = {
      billing_groups: [String(leaves[i % leaves.length])],
      group_owners: [String(groups[i % groups.length])],
    };
    await call('POST', 'users', { body: newUser(`api.user${i}`, { access, roles: ['reporting', 'ordering'] }) });
  }
  await call('PATCH', 'users/api.user1', { body: { name: 'Renamed Once' } });
  await call('PUT', 'users/api.user2/activate');
  await call('PUT', 'users/api.user3/deactivate', {
    body: {
      reassign_groups_to_user: 'api.user4',
      reassign_reports_to_user: 'api.user5',
      delete_scheduled_reports: true,
    },
  });
  await insertTestUsers(
    t.conn,
    t.other.orgId,
    Array.from({ length: users }, (_, i) => {
      const status = (['activated', 'awaiting_approval', 'deactivated'] as const)[Math.floor(random() * 3)];
      const day = String(1 + Math.floor(random() * 28)).padStart(2, '0');
      return {
        username: `gen-${i}-Ünïcode`,
        name: `Generated ${Math.floor(random() * 1000)}`,
        email: `gen${i}@example.com`,
        phone: i % 2 ? '2065551212' : '',
        status,
        restrict_recording_download: i % 3 === 0,
        last_login_date: i % 4 ? `2025-03-${day}T10:11:12.1234567` : null,
        last_updated_date: `2025-04-${day}T01:02:03.0000001`,
        ...(status === 'deactivated' ? { deactivation_date: `2025-04-${day}T01:02:03.0000001` } : {}),
        access: {
          billing_groups: [String(leaves[i % leaves.length])],
          group_owners: i % 5 ? [] : [String(groups[i % groups.length])],
        },
      };
    }),
  );
}
