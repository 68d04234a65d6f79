/**
 * `npm run bench [-- --quick] [--dialects sqlite,postgres] [--users N] [--duration S] [--cases Q1,Q4] [--workers N] [--reuse]`
 *
 * Generates the data set (default 1,000,000 users in one organization plus
 * 100,000 in another; `--quick`: 100,000 + 10,000 and a few seconds per case),
 * loads it in bulk, starts Roster as its own process, and measures every case
 * with autocannon on loopback (50 connections) against three servers, in the
 * same run: Roster, the ceiling (bare Fastify replaying Roster's bytes) and
 * the peer (Platformatic DB over the same PostgreSQL table). Prints one table,
 * writes JSON to bench/results/.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { DatabaseTarget } from '../src/config.js';
import { buildCases, type BenchCase, type BenchRequest } from './cases.js';
import { loadDatabase, type LoadedOrg, type OrgSpec } from './load.js';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const API_ROOT = '/api/v1';
// Cold searches a second Roster answers at most, here: Q4c gets this many fresh terms per second of its runs.
const COLD_RATE_MAX = 5000;
// BENCH_PORT moves the three ports (Roster, ceiling, peer), so that two benchmarks can share a machine.
const BASE_PORT = Number(process.env.BENCH_PORT ?? 18080);
const PORTS = { roster: BASE_PORT, ceiling: BASE_PORT + 1, peer: BASE_PORT + 2 } as const;

interface Options {
  quick: boolean;
  users: number;
  duration: number;
  warmup: number;
  connections: number;
  dialects: ('sqlite' | 'postgres')[];
  cases: string[] | null;
  workers: number;
  reuse: boolean;
  tsx: boolean;
  pgUrl: string;
}

function parseArgs(argv: string[]): Options {
  const value = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  return {
    quick,
    users: Number(value('users') ?? (quick ? 100_000 : 1_000_000)),
    duration: Number(value('duration') ?? (quick ? 3 : 10)),
    warmup: Number(value('warmup') ?? (quick ? 1 : 2)),
    connections: Number(value('connections') ?? 50),
    dialects: (value('dialects') ?? 'sqlite,postgres').split(',') as Options['dialects'],
    cases: value('cases')?.split(',') ?? null,
    workers: Number(value('workers') ?? 1),
    reuse: argv.includes('--reuse'),
    tsx: argv.includes('--tsx'),
    pgUrl: value('pg') ?? process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/roster_bench',
  };
}

const log = (line: string) => process.stdout.write(`${line}\n`);

/** autocannon and Platformatic live in bench/node_modules (bench/package.json), installed on first use. */
function benchRequire(): NodeJS.Require {
  if (!existsSync(join(BENCH, 'node_modules', 'autocannon', 'package.json'))) {
    log('installing the bench tools (npm ci --prefix bench)…');
    const r = spawnSync('npm', ['ci', '--prefix', BENCH, '--no-audit', '--no-fund'], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm ci --prefix bench failed');
  }
  return createRequire(join(BENCH, 'package.json'));
}

/**
 * Compiles Roster to node_modules/.cache/roster-bench-dist so that it runs as plain JavaScript (as
 * `npm start` runs it), without tsx's loader; falls back to tsx if that fails.
 */
function rosterCommand(): string[] {
  // Outside bench/: from there, imports would resolve to bench/node_modules (the peer's dependency versions).
  const out = join(ROOT, 'node_modules', '.cache', 'roster-bench-dist');
  log('compiling Roster (tsc -p tsconfig.build.json)…');
  spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', out],
    { cwd: ROOT, stdio: 'ignore' },
  );
  if (existsSync(join(out, 'main.js'))) return [join(out, 'main.js'), 'serve'];
  log('  (compilation produced nothing: running Roster through tsx)');
  return ['--import', 'tsx', 'src/main.ts', 'serve'];
}

/**
 * After a run, the server may still be working through requests whose
 * connections autocannon closed at the deadline: wait until it answers a
 * database round trip promptly, so that the next run starts on an idle server.
 */
async function settle(base: string, pgUrl?: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const t = performance.now();
    try {
      await fetch(`${base}/readyz`);
    } catch {
      // a server without /readyz (the ceiling, the peer) answers 404 quickly enough
    }
    if (performance.now() - t < 50) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (pgUrl) await settlePostgres(pgUrl);
}

/**
 * PostgreSQL keeps running the queries of requests whose client gave up (the
 * peer's time-outs): wait for the database to go idle, and past 30 s cancel
 * what is left, so that no run pays for the one before it.
 */
async function settlePostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const active = `select pid from pg_stat_activity where datname = current_database() and state = 'active' and pid <> pg_backend_pid()`;
    for (let i = 0; ; i++) {
      const { rows } = await client.query<{ pid: number }>(active);
      if (rows.length === 0) return;
      if (i === 300) {
        log(`  (cancelling ${rows.length} queries still running from the previous run)`);
        for (const { pid } of rows) await client.query('select pg_cancel_backend($1)', [pid]);
      }
      if (i > 320) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await client.end();
  }
}

async function waitForUrl(url: string, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up at ${url}`);
}

// The young generation `npm start` gives Roster (package.json), for the ceiling and the peer alike.
const NODE_FLAGS = ['--max-semi-space-size=64'];

function startChild(what: string, args: string[], env: Record<string, string>, cwd = ROOT): ChildProcess {
  const child = spawn(process.execPath, [...NODE_FLAGS, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) log(`${what} exited with ${code}:\n${tail}`);
  });
  return child;
}

async function stop(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/**
 * Starts the organization's search index (one search, for a term no case asks) and waits until /readyz
 * says it is built: Roster's cold start to full speed, in seconds (null when the index is off).
 */
async function awaitSearchIndex(base: string, headers: Record<string, string>): Promise<number | null> {
  const start = performance.now();
  await fetch(`${base}${API_ROOT}/users?username=~~&pagesize=1`, { headers });
  for (;;) {
    if (performance.now() - start > 20 * 60_000) throw new Error('the search index was not built within 20 minutes');
    const ready = (await (await fetch(`${base}/readyz`)).json()) as {
      search_index?: { state: string; organizations_ready: number };
    };
    if (!ready.search_index || ready.search_index.state === 'off') return null;
    if (ready.search_index.state === 'ready' && ready.search_index.organizations_ready > 0)
      return (performance.now() - start) / 1000;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resident memory of a process and its children (the workers), in bytes. */
function rssOf(pid: number): number {
  let total = 0;
  const visit = (p: number) => {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
      const children = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim();
      if (children) for (const c of children.split(/\s+/)) visit(Number(c));
    } catch {
      // gone
    }
  };
  visit(pid);
  return total;
}

export interface Measurement {
  readonly reqPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly rssGrowthMb?: number;
}

/** What the bench reads of autocannon's result (autocannon lives in bench/node_modules, without types). */
interface AutocannonResult {
  readonly requests: { readonly average: number; readonly total: number };
  readonly latency: { readonly p50: number; readonly p99: number };
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
}

type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

async function measure(
  autocannon: Autocannon,
  base: string,
  requests: readonly BenchRequest[],
  headers: { read: Record<string, string>; write: Record<string, string> },
  seconds: number,
  connections: number,
  watchPid?: number,
): Promise<Measurement> {
  let i = 0;
  const readWithBody = { ...headers.read, 'content-type': 'application/json' };
  const setupRequest = (req: Record<string, unknown>) => {
    const r = requests[i++ % requests.length]!;
    req.method = r.method;
    req.path = r.path;
    req.headers = r.write ? headers.write : r.body !== undefined ? readWithBody : headers.read;
    req.body = r.body;
    return req;
  };
  let peak = 0;
  const before = watchPid ? rssOf(watchPid) : 0;
  const timer = watchPid ? setInterval(() => (peak = Math.max(peak, rssOf(watchPid))), 50) : undefined;
  const result = await autocannon({
    url: base,
    connections,
    duration: seconds,
    timeout: 10,
    requests: [{ setupRequest }],
  });
  if (timer) clearInterval(timer);
  return {
    reqPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    ...(watchPid ? { rssGrowthMb: Math.max(0, peak - before) / 1048576 } : {}),
  };
}

/** Roster's answers to every distinct GET of the cases, for the ceiling to replay (and to compare across backends). */
async function fetchBodies(
  cases: BenchCase[],
  headers: Record<string, string>,
  writeHeaders: Record<string, string>,
): Promise<Record<string, string>> {
  const bodies: Record<string, string> = {};
  // The write first: it bumps the organization's write_version, which would void the answers fetched before it.
  for (const c of cases) {
    const patch = c.ceiling ? c.roster.find((r) => r.method === 'PATCH') : undefined;
    if (patch && bodies['*PATCH'] === undefined) {
      const res = await fetch(`http://127.0.0.1:${PORTS.roster}${patch.path}`, {
        method: 'PATCH',
        headers: { ...writeHeaders, 'content-type': 'application/merge-patch+json' },
        body: patch.body!,
      });
      if (res.status !== 200)
        throw new Error(`PATCH ${patch.path} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      bodies['*PATCH'] = await res.text();
    }
  }
  for (const c of cases) {
    if (!c.ceiling) continue;
    for (const r of c.roster) {
      if (r.method === 'GET' && bodies[r.path] === undefined) {
        const res = await fetch(`http://127.0.0.1:${PORTS.roster}${r.path}`, { headers });
        if (res.status !== 200)
          throw new Error(`GET ${r.path} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
        bodies[r.path] = await res.text();
      }
    }
  }
  return bodies;
}

interface Row {
  dialect: string;
  case: string;
  title: string;
  roster: Measurement;
  ceiling: Measurement | null;
  peer: Measurement | null;
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ratio = (a: number, b: number | undefined) =>
  b === undefined || b === 0 ? '–' : `${fmt(a / b, a / b >= 10 ? 0 : 2)}×`;
const bad = (m: Measurement) => m.errors + m.timeouts + m.non2xx;

function table(rows: Row[]): string {
  const lines = [
    '| db | case | Roster req/s | p50 ms | p99 ms | ceiling req/s | peer req/s | peer p50 ms | Roster/ceiling | Roster/peer | errors (R/c/p) | note |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|',
  ];
  for (const r of rows) {
    const note = r.roster.rssGrowthMb !== undefined ? `peak RSS growth ${fmt(r.roster.rssGrowthMb, 1)} MB` : '';
    lines.push(
      `| ${r.dialect} | ${r.case} | ${fmt(r.roster.reqPerSec)} | ${fmt(r.roster.p50, 1)} | ${fmt(r.roster.p99, 1)} | ` +
        `${r.ceiling ? fmt(r.ceiling.reqPerSec) : '–'} | ${r.peer ? fmt(r.peer.reqPerSec, 1) : '–'} | ${r.peer ? fmt(r.peer.p50, 0) : '–'} | ` +
        `${ratio(r.roster.reqPerSec, r.ceiling?.reqPerSec)} | ${ratio(r.roster.reqPerSec, r.peer?.reqPerSec)} | ` +
        `${bad(r.roster)}/${r.ceiling ? bad(r.ceiling) : '–'}/${r.peer ? bad(r.peer) : '–'} | ${note} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const require = benchRequire();
  const autocannon = require('autocannon') as Autocannon;
  const serve = opts.tsx ? ['--import', 'tsx', 'src/main.ts', 'serve'] : rosterCommand();
  const started = new Date();
  log(
    `Roster bench: ${fmt(opts.users)} users (+${fmt(opts.users / 10)} in a second org), ${opts.duration} s per case, ${opts.connections} connections, ` +
      `${cpus().length} cores, ${fmt(totalmem() / 2 ** 30, 1)} GiB, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  mkdirSync(join(BENCH, 'data'), { recursive: true });
  mkdirSync(join(BENCH, 'results'), { recursive: true });

  const specs: OrgSpec[] = [
    { name: 'bench-big', count: opts.users, seed: 1, idBase: 100000 },
    { name: 'bench-small', count: Math.floor(opts.users / 10), seed: 2, idBase: 200000 },
  ];
  const rows: Row[] = [];
  const bodiesByDialect: Record<string, Record<string, string>> = {};
  const peerResults = new Map<string, Measurement>();
  const loadTimes: Record<string, number> = {};
  const searchIndex: Record<string, { seconds: number | null; rssBeforeMb: number; rssAfterMb: number }> = {};
  // PostgreSQL first: the peer is measured there, and the SQLite rows quote the same peer figures.
  const dialects = [...opts.dialects].sort((a, b) => (a === 'postgres' ? -1 : b === 'postgres' ? 1 : 0));

  for (const dialect of dialects) {
    const target: DatabaseTarget =
      dialect === 'sqlite'
        ? {
            dialect,
            file: join(BENCH, 'data', `bench-${opts.users}.db`),
            url: `sqlite:${join(BENCH, 'data', `bench-${opts.users}.db`)}`,
          }
        : { dialect, url: opts.pgUrl.replace(/\/[^/]*$/, `/roster_bench_${opts.users}`) };
    const stamp = join(BENCH, 'data', `${dialect}-${opts.users}.json`);
    let orgs: LoadedOrg[];
    if (opts.reuse && existsSync(stamp)) {
      orgs = JSON.parse(readFileSync(stamp, 'utf8')) as LoadedOrg[];
      log(`\n[${dialect}] reusing the loaded data set`);
    } else {
      log(`\n[${dialect}] generating and loading…`);
      const t = Date.now();
      orgs = await loadDatabase(target, specs, log);
      loadTimes[dialect] = (Date.now() - t) / 1000;
      writeFileSync(stamp, JSON.stringify(orgs));
    }
    const big = orgs[0]!;
    const readHeaders = { authorization: `Bearer ${big.readKey}` };
    const writeHeaders = { authorization: `Bearer ${big.writeKey}`, 'content-type': 'application/merge-patch+json' };
    // Q4c asks each term once: enough of them for its warm-up and its run at more than Roster answers here.
    const coldTerms = COLD_RATE_MAX * (opts.warmup + opts.duration);
    const cases = buildCases(specs[0]!, big.orgId, API_ROOT, { rotation: 1000, terms: 500, coldTerms }).filter(
      (c) => !opts.cases || opts.cases.includes(c.id),
    );

    const roster = startChild('Roster', [...serve, ...(opts.workers > 1 ? ['--workers', String(opts.workers)] : [])], {
      DATABASE_URL: target.url,
      PORT: String(PORTS.roster),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      RATE_LIMIT: '0',
      ROSTER_DEMO: '0',
    });
    let ceiling: ChildProcess | null = null;
    let peer: ChildProcess | null = null;
    try {
      await waitForUrl(`http://127.0.0.1:${PORTS.roster}/healthz`, roster, 'Roster');
      // The search index is built first (timed), whatever the cases: every case measures a process at full
      // speed, not one still building (a search meanwhile goes to the database). Then the cold case, before
      // anything warms Roster's caches.
      const idle = rssOf(roster.pid!);
      const seconds = await awaitSearchIndex(`http://127.0.0.1:${PORTS.roster}`, readHeaders);
      const rss = rssOf(roster.pid!);
      searchIndex[dialect] = { seconds, rssBeforeMb: idle / 1048576, rssAfterMb: rss / 1048576 };
      log(
        `[${dialect}] search index built in ${seconds === null ? 'n/a (off)' : `${fmt(seconds, 1)} s`}; ` +
          `resident memory ${fmt(idle / 1048576)} MB before, ${fmt(rss / 1048576)} MB after`,
      );
      const cold = cases.find((c) => c.id === 'Q4c');
      let coldResult: Measurement | null = null;
      if (cold) {
        log(`[${dialect}] Q4c (cold)`);
        // A warm-up on terms of its own (the process's code and autocannon's warm, no measured term asked),
        // then the run on terms never asked before.
        const base = `http://127.0.0.1:${PORTS.roster}`;
        const pgUrl = dialect === 'postgres' ? target.url : undefined;
        const warm = cold.roster.slice(0, COLD_RATE_MAX * opts.warmup);
        const fresh = cold.roster.slice(warm.length);
        const h = { read: readHeaders, write: writeHeaders };
        await measure(autocannon, base, warm, h, opts.warmup, opts.connections);
        await settle(base, pgUrl);
        coldResult = await measure(autocannon, base, fresh, h, opts.duration, opts.connections);
        if (coldResult.requests > fresh.length) log(`[${dialect}] Q4c asked some of its ${fresh.length} terms twice`);
        await settle(base, pgUrl);
      }
      const bodies = await fetchBodies(cases, readHeaders, writeHeaders);
      bodiesByDialect[dialect] = bodies;
      const bodiesFile = join(BENCH, 'data', `ceiling-${dialect}.json`);
      writeFileSync(bodiesFile, JSON.stringify(bodies));
      ceiling = startChild('ceiling', [join(BENCH, 'ceiling.mjs'), String(PORTS.ceiling), bodiesFile], {});
      await waitForUrl(`http://127.0.0.1:${PORTS.ceiling}/`, ceiling, 'ceiling');
      if (dialect === 'postgres') {
        peer = startChild('peer', [join(BENCH, 'peer.mjs'), String(PORTS.peer), target.url], {}, BENCH);
        await waitForUrl(`http://127.0.0.1:${PORTS.peer}/users?limit=1`, peer, 'peer');
      }
      for (const c of cases) {
        if (c.id === 'Q4c') continue;
        const run = async (base: string, requests: readonly BenchRequest[], pid?: number) => {
          const h = { read: readHeaders, write: writeHeaders };
          const connections = c.connections ?? opts.connections;
          const pgUrl = dialect === 'postgres' ? target.url : undefined;
          await measure(autocannon, base, requests, h, opts.warmup, connections);
          await settle(base, pgUrl);
          const m = await measure(autocannon, base, requests, h, opts.duration, connections, pid);
          await settle(base, pgUrl);
          return m;
        };
        log(`[${dialect}] ${c.id} ${c.title}`);
        const r = await run(`http://127.0.0.1:${PORTS.roster}`, c.roster, c.watchMemory ? roster.pid : undefined);
        const ce = c.ceiling ? await run(`http://127.0.0.1:${PORTS.ceiling}`, c.roster) : null;
        if (peer && c.peer)
          peerResults.set(
            c.id,
            await run(
              `http://127.0.0.1:${PORTS.peer}`,
              c.peer.map((p) => ({ ...p, write: false })),
            ),
          );
        rows.push({ dialect, case: c.id, title: c.title, roster: r, ceiling: ce, peer: null });
      }
      if (coldResult && cold)
        rows.push({ dialect, case: cold.id, title: cold.title, roster: coldResult, ceiling: null, peer: null });
    } finally {
      await stop(peer);
      await stop(ceiling);
      await stop(roster);
    }
  }
  for (const row of rows) row.peer = row.case === 'Q4c' ? null : (peerResults.get(row.case) ?? null);

  // Both backends must give the same bytes for the same request (but for the user the PATCH sample changed:
  // its last_updated_date is the time of the write).
  const [a, b] = Object.values(bodiesByDialect);
  const patched = a?.['*PATCH'] ? (JSON.parse(a['*PATCH']) as { user_id: string; username: string }) : null;
  const changed = (path: string) =>
    patched !== null &&
    (path.endsWith(`/${patched.user_id}`) || path.endsWith(`/${encodeURIComponent(patched.username)}`));
  const differing =
    a && b ? Object.keys(a).filter((k) => k !== '*PATCH' && !changed(k) && b[k] !== undefined && a[k] !== b[k]) : [];
  const out = table(rows);
  log(`\n${out}\n`);
  log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(
        ' ',
      )}; answers compared across backends: ${a && b ? `${Object.keys(a).length - 1}, ${differing.length} differ` : 'n/a'}`,
  );
  if (differing.length > 0) log(`differing: ${differing.slice(0, 5).join(', ')}`);
  const file = join(BENCH, 'results', `bench-${opts.users}-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        started,
        options: opts,
        cores: cpus().length,
        loadavgEnd: loadavg(),
        loadSeconds: loadTimes,
        searchIndex,
        differingAnswers: differing,
        rows,
        table: out,
      },
      null,
      2,
    ),
  );
  log(`results: ${file}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
