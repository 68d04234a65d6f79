import { createWriteStream, type WriteStream } from 'node:fs';
import { basename } from 'node:path';
import { MultiBar, Presets } from 'cli-progress';
import { Option, type Command } from 'commander';
import { loadConfig, type Config } from '../config.js';
import {
  IMPORT_FORMATS,
  ImportFileError,
  openImportSource,
  type ImportFormat,
  type ImportSource,
} from '../import/import.source.js';
import { importHierarchy } from '../import/import.hierarchy.js';
import { refreshStatistics, tuneForBulkImport } from '../import/import.repository.js';
import { importUsers, type ImportCounts, type Rejection } from '../import/import.service.js';
import { createOrgService } from '../orgs/org.service.js';
import { withDatabase } from './with-database.js';

export interface ImportCommandOptions {
  readonly org: string;
  readonly format?: ImportFormat;
  readonly createMissing?: boolean;
  readonly rejects?: string;
  readonly strict?: boolean;
  readonly batchSize?: number;
  readonly what?: 'users' | 'hierarchy';
}

/** Registers `roster import` on the program. */
export function registerImportCommand(program: Command): void {
  program
    .command('import <file>')
    .description(
      'import users from CSV, NDJSON or a JSON array: upserts by user_id, else by username (case-insensitive)',
    )
    .requiredOption('--org <name>', 'organization name')
    .addOption(
      new Option('--format <format>', 'the file format (default: from the extension, else the content)').choices(
        IMPORT_FORMATS,
      ),
    )
    .option(
      '--create-missing',
      'create the billing groups and groups the file names that do not exist yet, keeping their ids',
    )
    .option('--rejects <file>', 'write the rejected rows, verbatim, to this file (to fix and import again)')
    .option('--strict', 'write nothing at all if any row is rejected')
    .addOption(
      new Option(
        '--what <what>',
        'users, or hierarchy: billing groups and groups as `roster export --what hierarchy` writes them, ids kept',
      )
        .choices(['users', 'hierarchy'])
        .default('users'),
    )
    .addOption(
      new Option('--batch-size <n>', 'rows per transaction')
        .argParser((v) => Math.max(1, Number.parseInt(v, 10) || 2000))
        .hideHelp(),
    )
    .action((file: string, opts: ImportCommandOptions) =>
      opts.what === 'hierarchy'
        ? importHierarchyCommand(loadConfig(), file, opts.org)
        : importCommand(loadConfig(), file, opts),
    );
}

/**
 * `roster import --org <name> <file>`: prints each rejected row (stderr) and a one-line summary (stdout).
 * Exit 1 when a row was rejected, 2 when the file cannot be read (from a line on: the rows before it are still
 * imported or reported, and the summary says which lines were not reached).
 */
async function importCommand(config: Config, file: string, opts: ImportCommandOptions): Promise<void> {
  const started = performance.now();
  const progress = process.stderr.isTTY ? new Progress() : null;
  const strict = opts.strict ?? false;
  await withDatabase(config, async (conn) => {
    let rejects: RejectsWriter | null = null;
    try {
      await tuneForBulkImport(conn);
      const orgId = await createOrgService(conn.db).requireOrganization(opts.org);
      const source = await openImportSource(file, opts.format);
      rejects = opts.rejects ? new RejectsWriter(opts.rejects, source) : null;
      progress?.start(source);
      let counts: Readonly<ImportCounts>;
      let broken: ImportFileError | null = null;
      try {
        counts = await importUsers(
          conn,
          source.rows(),
          {
            orgId,
            dialect: conn.dialect,
            createMissing: opts.createMissing ?? false,
            strict,
            batchSize: opts.batchSize,
            label: basename(file),
          },
          {
            onRejected(r) {
              const text = describeRejection(r);
              if (progress) progress.log(text);
              else process.stderr.write(text);
              rejects?.write(r);
            },
            onProgress: (c) => progress?.update(source, c),
          },
        );
      } catch (error) {
        // A file that breaks part-way still has an account of the rows before the break.
        if (!(error instanceof ImportFileError) || error.counts === null || error.line === null) throw error;
        broken = error;
        counts = error.counts;
      }
      const wrote = !(strict && (counts.rejected > 0 || broken));
      if (counts.imported + counts.updated > 0 && wrote) await refreshStatistics(conn);
      progress?.stop(source, counts);
      await rejects?.close();
      if (broken) process.stderr.write(`roster: ${broken.message}\n`);
      const seconds = (performance.now() - started) / 1000;
      process.stdout.write(`${summary(counts, broken?.line ?? null, wrote, seconds)}\n`);
      process.exitCode = broken ? 2 : counts.rejected > 0 ? 1 : 0;
    } catch (error) {
      progress?.abort();
      await rejects?.close();
      if (!(error instanceof ImportFileError)) throw error;
      process.stderr.write(`roster: ${error.message}\n`);
      process.exitCode = 2;
    }
  });
}

/** `roster import --what hierarchy --org <name> <file>`: billing groups and groups, ids kept; exit codes as for users. */
async function importHierarchyCommand(config: Config, file: string, org: string): Promise<void> {
  const started = performance.now();
  await withDatabase(config, async (conn) => {
    const orgId = await createOrgService(conn.db).requireOrganization(org);
    try {
      const counts = await importHierarchy(conn.db, orgId, file, (line, message) =>
        process.stderr.write(`line ${line}: ${message}\n`),
      );
      process.stdout.write(`${summary(counts, null, true, (performance.now() - started) / 1000)}\n`);
      if (counts.rejected > 0) process.exitCode = 1;
    } catch (error) {
      if (!(error instanceof ImportFileError)) throw error;
      process.stderr.write(`roster: ${error.message}\n`);
      process.exitCode = 2;
    }
  });
}

/** One line per problem: `line 12, email: "x" is not an email address ...`. */
function describeRejection(r: Rejection): string {
  return r.problems.map((p) => `line ${r.line}, ${p.field}: ${p.reason}\n`).join('');
}

/** The exact account: every row read is imported, updated, unchanged or rejected; a broken file names the lines not reached. */
function summary(c: Readonly<ImportCounts>, brokenAt: number | null, wrote: boolean, seconds: number): string {
  const read = c.imported + c.updated + c.unchanged + c.rejected;
  const notReached = brokenAt === null ? '' : `, not reached: lines ${brokenAt}–end`;
  const line = `read ${read}: imported ${c.imported}, updated ${c.updated}, unchanged ${c.unchanged}, rejected ${c.rejected}${notReached} in ${seconds.toFixed(1)} s`;
  return wrote ? line : `${line}; --strict: nothing was written`;
}

/** Writes rejected rows as they were in the file: CSV after the file's header line, NDJSON one per line, a JSON array's elements as an array. */
class RejectsWriter {
  private readonly out: WriteStream;
  private count = 0;

  constructor(
    path: string,
    private readonly source: ImportSource,
  ) {
    this.out = createWriteStream(path);
    this.out.on('error', (error) => process.stderr.write(`roster: cannot write ${path}: ${error.message}\n`));
  }

  write(r: Rejection): void {
    const first = this.count++ === 0;
    if (this.source.format === 'csv') {
      const header = this.source.header() ?? '';
      if (first) this.out.write(header);
      this.out.write(`${r.raw}${header.endsWith('\r\n') ? '\r\n' : '\n'}`);
    } else if (this.source.format === 'json') this.out.write(`${first ? '[\n' : ',\n'}${r.raw}`);
    else this.out.write(`${r.raw}\n`);
  }

  async close(): Promise<void> {
    if (this.source.format === 'json' && this.count > 0) this.out.write('\n]\n');
    if (this.source.format === 'csv' && this.count === 0) this.out.write(this.source.header() ?? '');
    await new Promise<void>((resolve) => this.out.end(resolve));
  }
}

/** The progress bar on a terminal: bytes read drive the percentage and ETA; rows and rows/s are shown. */
class Progress {
  private readonly bars = new MultiBar(
    {
      format: 'importing |{bar}| {percentage}% | {rows} rows | {rate} rows/s | ETA {eta_formatted}',
      hideCursor: true,
      stream: process.stderr,
      etaBuffer: 50,
    },
    Presets.shades_classic,
  );
  private bar: ReturnType<MultiBar['create']> | null = null;
  private readonly started = performance.now();

  start(source: ImportSource): void {
    this.bar = this.bars.create(Math.max(1, source.size), 0, { rows: 0, rate: 0 });
  }

  update(source: ImportSource, c: Readonly<ImportCounts>): void {
    const rows = c.imported + c.updated + c.unchanged + c.rejected;
    const rate = Math.round(rows / Math.max(0.001, (performance.now() - this.started) / 1000));
    this.bar?.update(source.bytesRead(), { rows, rate });
  }

  log(text: string): void {
    this.bars.log(text);
  }

  stop(source: ImportSource, c: Readonly<ImportCounts>): void {
    this.update(source, c);
    this.bar?.update(Math.max(1, source.size));
    this.bars.stop();
  }

  abort(): void {
    this.bars.stop();
  }
}
