import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { connect } from '../../src/db/connect.js';
import { createOrgService } from '../../src/orgs/org.service.js';
import type { UsersQuery } from '../../src/users/user.schemas.js';
import { createUserService } from '../../src/users/user.service.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { rosterArgs } from '../support/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Server {
  readonly child: ChildProcessWithoutNullStreams;
  readonly base: string;
  readonly output: () => string;
}

/** `roster serve [args]` as a real process on a free port; resolves once it prints where it serves. */
async function serve(databaseUrl: string, args: string[], env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, rosterArgs('serve', ...args), {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      RATE_LIMIT: '0',
      ...env,
    },
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), 180_000);
    const check = () => {
      const m = /Roster is serving (http:\/\/\S+?\/api\/v1)/.exec(out);
      // With a demo key to print, wait for it too.
      if (m && (env.ROSTER_DEMO === '0' || /rst_[A-Za-z0-9_-]{32}/.test(out))) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${out}`));
    });
  });
  return { child, base, output: () => out };
}

async function stop(server: Server | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}

for (const dialect of DIALECTS) {
  describe(`several Roster processes on one database (${dialect})`, () => {
    let database: TestDatabase;
    let a: Server | undefined;
    let b: Server | undefined;
    let key = '';

    before(async () => {
      database = await createTestDatabase(dialect);
      a = await serve(database.target.url, [], { ROSTER_DEMO: '1' });
      key = /rst_[A-Za-z0-9_-]{32}/.exec(a.output())![0];
      // The second is itself a cluster: two workers sharing its port.
      b = await serve(database.target.url, ['--workers', '2'], { ROSTER_DEMO: '0' });
    });
    after(async () => {
      await stop(a);
      await stop(b);
      await database.drop();
    });

    const call = async (server: Server | undefined, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${server!.base}/${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    };

    it('gives the same answers through every process and worker', async () => {
      const first = await call(a, 'GET', 'users?pagesize=5&sortby=last_updated_date');
      for (let i = 0; i < 4; i++)
        assert.deepEqual(
          await call(b, 'GET', 'users?pagesize=5&sortby=last_updated_date'),
          first,
          `through b, request ${i}`,
        );
    });

    it('shows a write through one process to the next read through another, totals included', async () => {
      // Warm every process's cache with the answers the writes will change.
      for (let i = 0; i < 4; i++) {
        assert.equal((await call(b, 'GET', 'users/rsmith')).body.name, 'Rob Smith');
        assert.equal((await call(b, 'GET', 'users?pagesize=1')).body.paging.total, 165);
        assert.equal((await call(b, 'GET', 'users?name=robert&pagesize=1')).body.paging.total, 0);
      }
      const patched = await call(a, 'PATCH', 'users/rsmith', { name: 'Robert Smith' });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      for (let i = 0; i < 4; i++) {
        assert.equal((await call(b, 'GET', 'users/rsmith')).body.name, 'Robert Smith', `read ${i} through b`);
        const search = await call(b, 'GET', 'users?name=robert&pagesize=1');
        assert.equal(search.body.paging.total, 1, `search ${i} through b`);
        assert.equal(search.body.results[0].username, 'rsmith');
      }
      const created = await call(b, 'POST', 'users', {
        username: 'scale.out',
        name: 'Scale Out',
        email: 'scale@example.com',
        call_detail_level: 'full',
        roles: ['reporting'],
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal((await call(a, 'GET', 'users?pagesize=1')).body.paging.total, 166, 'through a');
      for (let i = 0; i < 4; i++) {
        assert.equal((await call(b, 'GET', 'users?pagesize=1')).body.paging.total, 166, `through b, request ${i}`);
        assert.equal(
          (await call(b, 'GET', 'users?status=awaiting_approval&role=reporting&pagesize=1')).body.paging.total,
          (await call(a, 'GET', 'users?status=awaiting_approval&role=reporting&pagesize=1')).body.paging.total,
        );
      }
      const deactivated = await call(a, 'DELETE', 'users/scale.out/deactivate');
      assert.equal(deactivated.status, 200);
      for (let i = 0; i < 4; i++) assert.equal((await call(b, 'GET', 'users/scale.out')).body.status, 'deactivated');
    });

    it('keeps the answers of every process exact while writes through each interleave with reads through all', async () => {
      // The same queries computed straight from the database, without a cache.
      const conn = connect(database.target);
      try {
        const orgId = await createOrgService(conn.db).requireOrganization('demo');
        const fresh = createUserService(conn.db, { cacheBytes: 0 });
        const queries: UsersQuery[] = [
          { username: ['smi'], pagesize: 3 },
          { name: ['rob', 'an'], pagesize: 2, sortby: 'last_updated_date', sortorder: 'desc' },
          { pagesize: 5, pagenumber: 2, sortby: 'last_updated_date', sortorder: 'desc' },
          { status: ['activated'], role: ['reporting'], pagesize: 4, sortby: 'name' },
          { pagesize: 3 },
        ];
        const path = (q: UsersQuery) =>
          `users?${new URLSearchParams(Object.entries(q).flatMap(([k, v]) => [v].flat().map((x) => [k, String(x)])))}`;
        const users = JSON.parse((await fresh.listUsers(orgId, { pagesize: 40 }, '')).body as string).results as {
          user_id: string;
        }[];
        const writes = [
          (id: string) => ['PATCH', `users/${id}`, { phone: '705-722-4398' }] as const,
          (id: string) => ['PATCH', `users/${id}`, { name: 'Annie Smithers' }] as const,
          (id: string) => ['DELETE', `users/${id}/deactivate`, undefined] as const,
          (id: string) => ['PUT', `users/${id}/activate`, undefined] as const,
          (id: string) => ['PATCH', `users/${id}`, { username: `smi.${id.slice(0, 8)}` }] as const,
        ];
        for (let round = 0; round < 10; round++) {
          // Every process and worker reads (and caches) every answer, then one write lands through one of them.
          for (const server of [a, b, b, b, a])
            for (const q of queries) {
              const expected = JSON.parse((await fresh.listUsers(orgId, q, '')).body as string);
              assert.deepEqual((await call(server, 'GET', path(q))).body, expected, `round ${round}: ${path(q)}`);
            }
          const [method, target, body] = writes[round % writes.length]!(users[(round * 7) % users.length]!.user_id);
          const written = await call(round % 2 === 0 ? a : b, method, target, body);
          assert.ok(written.status < 300, `round ${round}: ${method} ${target}: ${JSON.stringify(written.body)}`);
        }
        // Answers older than a write were kept where the write did not touch them, not all dropped.
        const metrics = await (await fetch(new URL('/metrics', a!.base))).text();
        assert.ok(Number(/^roster_answer_cache_kept_total (\d+)$/m.exec(metrics)?.[1]) > 0, metrics);
      } finally {
        await conn.close();
      }
    });
  });
}
