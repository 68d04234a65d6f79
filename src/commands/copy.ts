import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { ConfigError, loadConfig, parseDatabaseUrl, type Config, type DatabaseTarget } from '../config.js';
import { connect } from '../db/connect.js';
import { tuneForExport } from '../db/tuning.js';
import { CopyError } from '../copy/copy.errors.js';
import { copyDatabase, requireSourceOrganization, type CopyProgress, type CopyReport } from '../copy/copy.service.js';
import type { TableCheck } from '../copy/copy.verify.js';
import { withDatabase } from './with-database.js';

export interface CopyCommandOptions {
  readonly to: string;
  readonly org?: string;
}

/** Registers `roster copy` on the program. */
export function registerCopyCommand(program: Command): void {
  program
    .command('copy')
    .description(
      'copy every organization (or one) from DATABASE_URL to another database, SQLite ⇄ PostgreSQL, keeping ids, keys and versions; then verify',
    )
    .requiredOption('--to <url>', 'the target database: sqlite:<file> or postgres://user@host:port/db')
    .option('--org <name>', 'copy this organization only')
    .action(async (opts: CopyCommandOptions) => {
      await copyCommand(loadConfig(), opts);
    });
}

function parseTarget(url: string): DatabaseTarget {
  try {
    return parseDatabaseUrl(url);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new CopyError(`--to "${url}" is not a database URL: give sqlite:<file> or postgres://user@host:port/db`);
  }
}

/** A bar on a terminal; otherwise one line per organization (logs stay readable). */
function progressOn(
  out: NodeJS.WritableStream,
  err: NodeJS.WriteStream | NodeJS.WritableStream,
): CopyProgress & { stop(): void } {
  const tty = 'isTTY' in err && err.isTTY;
  const bar = tty
    ? new SingleBar(
        {
          format: 'copying {org} |{bar}| {percentage}% | {value}/{total} rows | {table} | ETA {eta_formatted}',
          hideCursor: true,
          stream: err,
          etaBuffer: 50,
        },
        Presets.shades_classic,
      )
    : null;
  let value = 0;
  const started = performance.now();
  return {
    snapshot: (description) => err.write(`reading the source as ${description}\n`),
    startOrganization(name, rows) {
      bar?.stop();
      value = 0;
      if (bar) bar.start(Math.max(1, rows), 0, { org: name, table: '' });
      else err.write(`copying organization "${name}": ${rows} rows\n`);
    },
    step(description) {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      if (bar) bar.update({ table: description });
      else err.write(`${description} (${seconds} s)\n`);
    },
    advance(table, rows) {
      value += rows;
      bar?.update(value, { table });
    },
    stop: () => bar?.stop(),
    committed(name, id, tables) {
      bar?.stop();
      out.write(describeOrganization(name, id, tables));
    },
    paused(table) {
      bar?.stop();
      err.write(`paused after the first batch of ${table} (ROSTER_COPY_PAUSE_AFTER)\n`);
    },
  };
}

/** An organization's line, printed as it commits: what an interrupted copy leaves complete. */
function describeOrganization(name: string, id: number, tables: readonly TableCheck[]): string {
  const counts = tables.map((t) => `${t.table} ${t.rows}`).join(', ');
  const users = tables.find((t) => t.table === 'users');
  return `copied "${name}" (id ${id}): ${counts}; users checksum ${users?.checksum.slice(0, 16) ?? '-'}\n`;
}

function summarize(report: CopyReport, seconds: number): string {
  const rows = report.organizations.reduce((n, o) => n + o.tables.reduce((m, t) => m + t.rows, 0), 0);
  return (
    `copied ${report.organizations.length} organization(s), ${rows} rows in ${seconds.toFixed(1)} s; ` +
    `verified: every table's count and every row's checksum match the source snapshot\n`
  );
}

/** `roster copy --to <url> [--org <name>]`: copies and verifies; the source stays in use meanwhile. */
export async function copyCommand(
  config: Config,
  opts: CopyCommandOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<CopyReport> {
  const target = parseTarget(opts.to);
  const started = performance.now();
  const progress = progressOn(out, err);
  return withDatabase(config, async (source) => {
    await requireSourceOrganization(source, opts.org);
    const conn = connect(target, { preparedWrites: config.pgPreparedWrites });
    try {
      // One pass over each table: the server's large SQLite cache and memory map would only add to the RSS.
      await tuneForExport(source);
      const report = await copyDatabase(source, conn, {
        org: opts.org,
        progress,
        pauseAfter: config.copyPauseAfter ?? undefined,
      });
      progress.stop();
      out.write(summarize(report, (performance.now() - started) / 1000));
      return report;
    } finally {
      progress.stop();
      await conn.close();
    }
  });
}
