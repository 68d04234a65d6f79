import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { connect } from '../../src/db/connect.js';
import { start, type RunningServer } from '../../src/server.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { rosterArgs } from '../support/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KEY_LINE = /^rst_[A-Za-z0-9_-]{32}\n$/;
const STACK = /\n\s+at |node:internal|\.ts:\d+|\.js:\d+/;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `roster <args>` as a real process (support/cli.ts) against a database. */
function roster(databaseUrl: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      rosterArgs(...args),
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', ...env }, timeout: 180_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** Asserts a failed command: non-zero exit, the message on stderr, nothing on stdout, no stack trace. */
function assertFails(run: Run, says: RegExp, what: string): void {
  assert.notEqual(run.code, 0, `${what} must fail`);
  assert.equal(run.stdout, '', `${what}: nothing on stdout`);
  assert.match(run.stderr, says, what);
  assert.doesNotMatch(run.stderr, STACK, `${what}: no stack trace`);
}

/** Spawns `roster serve` on PORT 0 and resolves once it has printed what `until` wants. */
async function serve(
  databaseUrl: string,
  env: Record<string, string>,
  until: RegExp,
): Promise<{ child: ChildProcessWithoutNullStreams; out: () => string; err: () => string }> {
  const child = spawn(process.execPath, rosterArgs('serve'), {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: '0', HOST: '127.0.0.1', ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not print ${until} in time:\n${out}\n${err}`)), 180_000);
    const check = () => {
      if (until.test(out + err)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${out}\n${err}`));
    });
  });
  return { child, out: () => out, err: () => err };
}

/** Stops a spawned server with SIGTERM and resolves with its exit code. */
function stop(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

/** Runs several commands at once (each is a process): the machine's cores work while one waits. */
async function rosterAll<K extends string>(databaseUrl: string, runs: Record<K, string[]>): Promise<Record<K, Run>> {
  const entries = await Promise.all(
    Object.entries<string[]>(runs).map(async ([name, args]) => [name, await roster(databaseUrl, args)] as const),
  );
  return Object.fromEntries(entries) as Record<K, Run>;
}

for (const dialect of DIALECTS) {
  describe(`the roster command line, beside a running server (${dialect})`, () => {
    let database: TestDatabase;
    let server: RunningServer;
    let url: string;
    // The commands run as few rounds of parallel processes (each boots Node and tsx: seconds on a busy machine).
    let first: Record<'created' | 'dupDemo' | 'badName' | 'unknownOrg' | 'badScope' | 'revokeShort' | 'migrate', Run>;
    let created: Run;
    let revoked: Run;
    let acmeKey: string;
    let workedBefore: { status: number; body: unknown };
    let refusedAfter: Response;
    const api = (path: string, key: string) =>
      fetch(`${server.url}/api/v1${path}`, { headers: { authorization: `Bearer ${key}` } });

    before(async () => {
      database = await createTestDatabase(dialect);
      url = database.target.url;
      server = await start(loadConfig({ DATABASE_URL: url, PORT: '0', LOG_LEVEL: 'silent' }));
      assert.ok(server.demoKey, 'start() on an empty database seeds the demo');
      first = await rosterAll(url, {
        created: ['orgs', 'create', 'acme'],
        dupDemo: ['orgs', 'create', 'demo'],
        badName: ['orgs', 'create', 'bad name'],
        unknownOrg: ['keys', 'create', '--org', 'nope', '--scope', 'read'],
        badScope: ['keys', 'create', '--org', 'demo', '--scope', 'root'],
        revokeShort: ['keys', 'revoke', 'abc'],
        migrate: ['migrate'],
      });
      created = await roster(url, ['keys', 'create', '--org', 'acme', '--scope', 'read']);
      acmeKey = created.stdout.trim();
      const before = await api('/users', acmeKey);
      workedBefore = { status: before.status, body: await before.json() };
      revoked = await roster(url, ['keys', 'revoke', acmeKey.slice(0, 12)]);
      refusedAfter = await api('/users', acmeKey);
    });
    after(async () => {
      await server?.close();
      await database?.drop();
    });

    it('start() migrated the database it serves; roster migrate then has nothing to do', async () => {
      const applied = await server.conn.db
        .selectFrom('roster_migrations' as never)
        .select('name' as never)
        .execute();
      assert.ok((applied as Array<{ name: string }>).some((m) => m.name === '001_core'));
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      assert.equal(first.migrate.code, 0, first.migrate.stderr);
      assert.match(first.migrate.stdout, /nothing to migrate/);
    });

    it('orgs create prints the new id; a duplicate or bad name fails with a clear message', () => {
      assert.equal(first.created.code, 0, first.created.stderr);
      assert.match(first.created.stdout, /^\d+\n$/);
      assertFails(first.dupDemo, /already exists/, 'duplicate organization');
      assertFails(first.badName, /organization name/, 'bad name');
    });

    it('keys create prints the key alone on one line; it works over a real socket at once', () => {
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, KEY_LINE);
      assert.equal(workedBefore.status, 200);
      assert.deepEqual(
        workedBefore.body,
        { paging: { pageNumber: 1, pageSize: 10000, total: 0 }, results: [] },
        "acme's key sees acme: empty",
      );
    });

    it('keys create refuses an unknown organization and a bad scope', () => {
      assertFails(first.unknownOrg, /no organization named "nope"/, 'unknown org');
      assertFails(first.badScope, /read, write, admin/, 'bad scope');
    });

    it('keys revoke <prefix> refuses the key at once on the running server', async () => {
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.equal(revoked.stdout, '', 'nothing on stdout');
      assert.equal(refusedAfter.status, 401);
      assert.match(String(refusedAfter.headers.get('www-authenticate')), /^Bearer/);
      assertFails(first.revokeShort, /prefix/, 'a short prefix');
      assert.equal((await api('/users?pagesize=1', server.demoKey!)).status, 200, 'other keys still work');
    });
  });

  describe(`roster migrate and roster serve on empty databases (${dialect})`, () => {
    const made: TestDatabase[] = [];
    const children: ChildProcessWithoutNullStreams[] = [];
    const fresh = async () => {
      const database = await createTestDatabase(dialect);
      made.push(database);
      return database.target.url;
    };
    let migrateUrl: string;
    let migrated: Run;
    let demoUrl: string;
    let demo: Awaited<ReturnType<typeof serve>>;
    let bareUrl: string;
    let bare: Awaited<ReturnType<typeof serve>>;

    before(async () => {
      [migrateUrl, demoUrl, bareUrl] = await Promise.all([fresh(), fresh(), fresh()]);
      // Three processes at once, each on its own empty database.
      [migrated, demo, bare] = await Promise.all([
        roster(migrateUrl, ['migrate']),
        serve(demoUrl, {}, /curl -H "Authorization: Bearer rst_[^"]+" '[^']+'/),
        serve(bareUrl, { ROSTER_DEMO: '0' }, /Roster is serving/),
      ]);
      children.push(demo.child, bare.child);
    });
    after(async () => {
      for (const child of children) await stop(child);
      for (const database of made) await database.drop();
    });

    it('roster migrate applies every migration once', async () => {
      assert.equal(migrated.code, 0, migrated.stderr);
      assert.match(migrated.stdout, /^applied: 001_core, 002_audit/);
      const conn = connect(loadConfig({ DATABASE_URL: migrateUrl }).database);
      try {
        const tables = (await conn.db.introspection.getTables()).map((t) => t.name);
        for (const table of ['organizations', 'api_keys', 'users', 'user_billing_groups', 'user_group_owners'])
          assert.ok(tables.includes(table), table);
      } finally {
        await conn.close();
      }
    });

    it('serve prints the URL, and on stderr the demo key and a curl line that answers total 165 over a real socket', async () => {
      const base = /Roster is serving (http:\/\/127\.0\.0\.1:\d+\/api\/v1)/.exec(demo.out())?.[1];
      assert.ok(base, demo.out());
      assert.doesNotMatch(demo.out(), /rst_/, 'no key on stdout, where the JSON log goes');
      const text = demo.err();
      const key = /^\s+(rst_[A-Za-z0-9_-]{32})$/m.exec(text)?.[1];
      assert.ok(key, 'the demo key on a line of its own');
      const curl = /curl -H "Authorization: Bearer (rst_[^"]+)" '([^']+)'/.exec(text)!;
      assert.equal(curl[1], key);
      assert.equal(curl[2], `${base}/users?pagesize=3`);
      const res = await fetch(curl[2], { headers: { Authorization: `Bearer ${curl[1]}` } });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { paging: unknown; results: unknown[] };
      assert.deepEqual(body.paging, { pageNumber: 1, pageSize: 3, total: 165 });
      assert.equal(body.results.length, 3);
      assert.equal(await stop(demo.child), 0, 'SIGTERM stops it cleanly');
    });

    it('ROSTER_DEMO=0 serves an empty database and creates nothing', async () => {
      const base = /Roster is serving (http:\/\/\S+)\/api\/v1/.exec(bare.out())![1]!;
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
      await stop(bare.child);
      assert.doesNotMatch(bare.out() + bare.err(), /rst_|curl/);
      const conn = connect(loadConfig({ DATABASE_URL: bareUrl }).database);
      try {
        const orgs = await conn.db
          .selectFrom('organizations')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        const users = await conn.db
          .selectFrom('users')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        assert.equal(Number(orgs.n), 0);
        assert.equal(Number(users.n), 0);
      } finally {
        await conn.close();
      }
    });

    it('a start that cannot listen seeds nothing, so the next start still shows the demo key', async () => {
      const url = await fresh();
      const blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const port = (blocker.address() as { port: number }).port;
      try {
        await assert.rejects(
          start(loadConfig({ DATABASE_URL: url, PORT: String(port), LOG_LEVEL: 'silent' })),
          /EADDRINUSE/,
        );
      } finally {
        await new Promise((resolve) => blocker.close(resolve));
      }
      const second = await start(loadConfig({ DATABASE_URL: url, PORT: '0', LOG_LEVEL: 'silent' }));
      try {
        assert.match(second.demoKey ?? '', /^rst_/);
        const res = await fetch(`${second.url}/api/v1/users?pagesize=1`, {
          headers: { authorization: `Bearer ${second.demoKey}` },
        });
        assert.equal(((await res.json()) as { paging: { total: number } }).paging.total, 165);
      } finally {
        await second.close();
      }
    });
  });
}
