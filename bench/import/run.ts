/**
 * `npm run bench:import`: generates N users (default 1,000,000) as NDJSON in
 * bench/data/, builds the CLI (npm run build) and imports them with it
 * (`node dist/main.js import`, as `npx roster` runs) into a fresh SQLite file and a
 * fresh PostgreSQL database, exports them back, and prints rows/s, seconds and
 * peak RSS (from /usr/bin/time) for each step. A benchmark, not a test.
 *
 * Env: BENCH_IMPORT_COUNT (default 1000000), BENCH_IMPORT_DIALECTS (default sqlite,postgres),
 * ROSTER_TEST_PG_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { writeDatasetNdjson } from './generate.js';

const COUNT = Number(process.env.BENCH_IMPORT_COUNT ?? 1_000_000);
const SEED = 20261129;
const DIALECTS = (process.env.BENCH_IMPORT_DIALECTS ?? 'sqlite,postgres').split(',').map((d) => d.trim());
const PG_ADMIN = process.env.ROSTER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DATA = join(process.cwd(), 'bench', 'data');

interface Measured {
  seconds: number;
  peakMb: number;
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs the CLI under /usr/bin/time: wall seconds and peak RSS of the process. */
function runCli(args: string[], env: Record<string, string>, stdoutFile?: string): Promise<Measured> {
  const timeFile = join(DATA, 'import-time.txt');
  const command = ['-f', '%e %M', '-o', timeFile, process.execPath, 'dist/main.js', ...args];
  const shell = stdoutFile ? `exec /usr/bin/time ${command.map((a) => `'${a}'`).join(' ')} > '${stdoutFile}'` : null;
  return new Promise((resolve, reject) => {
    const child = shell
      ? spawn('/bin/sh', ['-c', shell], { env: { ...process.env, ...env } })
      : spawn('/usr/bin/time', command, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const [seconds = '0', kb = '0'] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).slice(-2);
      resolve({ seconds: Number(seconds), peakMb: Number(kb) / 1024, stdout, stderr, code: code ?? 1 });
    });
  });
}

async function freshDatabase(dialect: string): Promise<{ url: string; drop(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const file = join(DATA, 'import-bench.db');
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    return { url: `sqlite:${file}`, drop: async () => void 0 };
  }
  const name = 'roster_bench_import';
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

interface Row {
  dialect: string;
  step: string;
  rows: number;
  m: Measured;
  target: string;
}
const table: Row[] = [];

const fmt = (m: Measured, rows: number) =>
  `${m.seconds.toFixed(1)} s, ${Math.round(rows / Math.max(m.seconds, 0.001)).toLocaleString('en-US')} rows/s, peak RSS ${Math.round(m.peakMb)} MB`;

async function main(): Promise<void> {
  mkdirSync(DATA, { recursive: true });
  const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const file = join(DATA, `import-users-${COUNT}.ndjson`);
  if (!existsSync(file)) {
    const t = performance.now();
    await writeDatasetNdjson(file, COUNT, SEED);
    console.log(
      `generated ${file} (${(statSync(file).size / 1e6).toFixed(0)} MB) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
  }
  for (const dialect of DIALECTS) {
    const db = await freshDatabase(dialect);
    const env = { DATABASE_URL: db.url, ROSTER_DEMO: '0', LOG_LEVEL: 'silent' };
    try {
      const org = await runCli(['orgs', 'create', 'bench'], env);
      if (org.code !== 0) throw new Error(`orgs create failed: ${org.stderr}`);
      const imported = await runCli(['import', '--org', 'bench', '--create-missing', file], env);
      if (imported.code !== 0) throw new Error(`import failed (${imported.code}): ${imported.stderr.slice(0, 2000)}`);
      console.log(
        `${dialect} import ${COUNT.toLocaleString('en-US')} users from NDJSON: ${fmt(imported, COUNT)} — ${imported.stdout.trim()}`,
      );
      table.push({
        dialect,
        step: 'import (first load)',
        rows: COUNT,
        m: imported,
        target: '≤ 60 s',
      });
      const again = await runCli(['import', '--org', 'bench', file], env);
      console.log(`${dialect} re-import (all unchanged): ${fmt(again, COUNT)} — ${again.stdout.trim()}`);
      table.push({ dialect, step: 're-import (unchanged)', rows: COUNT, m: again, target: '–' });
      const out = join(DATA, `import-export-${dialect}.ndjson`);
      const exported = await runCli(['export', '--org', 'bench'], env, out);
      if (exported.code !== 0) throw new Error(`export failed: ${exported.stderr.slice(0, 2000)}`);
      const lines = readFileSync(out, 'utf8').split('\n').length - 1;
      console.log(`${dialect} export ${lines.toLocaleString('en-US')} users as NDJSON: ${fmt(exported, lines)}`);
      table.push({ dialect, step: 'export NDJSON', rows: lines, m: exported, target: '≤ 30 s' });
      const csv = await runCli(
        ['export', '--org', 'bench', '--format', 'csv'],
        env,
        join(DATA, `import-export-${dialect}.csv`),
      );
      console.log(`${dialect} export as CSV: ${fmt(csv, lines)}`);
      table.push({ dialect, step: 'export CSV', rows: lines, m: csv, target: '≤ 30 s' });
    } finally {
      await db.drop();
    }
  }
}

/** The run as one table (peak memory target: below 300 MB for every step). */
function printTable(): void {
  const header = ['db', 'step', 'rows', 'seconds', 'rows/s', 'peak RSS MB', 'target'];
  const lines = table.map((r) => [
    r.dialect,
    r.step,
    r.rows.toLocaleString('en-US'),
    r.m.seconds.toFixed(1),
    Math.round(r.rows / Math.max(r.m.seconds, 0.001)).toLocaleString('en-US'),
    String(Math.round(r.m.peakMb)),
    r.target,
  ]);
  console.log(`\n| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
  for (const l of lines) console.log(`| ${l.join(' | ')} |`);
}

await main();
printTable();
