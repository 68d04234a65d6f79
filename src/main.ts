import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfig } from './config.js';
import { auditCommand, type AuditOptions } from './commands/audit.js';
import { registerCopyCommand } from './commands/copy.js';
import { registerExportCommand } from './commands/export.js';
import { registerImportCommand } from './commands/import.js';
import { createKeyCommand, listKeysCommand, revokeKeyCommand } from './commands/keys.js';
import { migrateCommand } from './commands/migrate.js';
import { createOrgCommand } from './commands/orgs.js';
import { parseWorkers, serveCommand } from './commands/serve.js';
import { MigrationError } from './db/migrator.js';
import { SCOPES, type Scope } from './http/caller.js';
import { endOutputQuietlyWhenReaderCloses, keepServingWhenOutputCloses } from './ops/stdio-guard.js';
import { OrgError } from './orgs/org.service.js';

/** The `roster` command line: parses argv and hands off to one command. */
const program = new Command('roster')
  .description('Roster, the user directory. Reads PORT, HOST, DATABASE_URL and API_ROOT from the environment.')
  .showHelpAfterError()
  .hook('preAction', (_program, command) => {
    if (command.name() === 'serve') keepServingWhenOutputCloses();
    else endOutputQuietlyWhenReaderCloses();
  });

function workersArg(value: string): number {
  try {
    return parseWorkers(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

program
  .command('serve')
  .description('serve the API (npm start runs this)')
  .option('--workers <n>', 'worker processes sharing the port: a count, or "auto" for one per core', workersArg, 1)
  .action((opts: { workers: number }) => serveCommand(loadConfig(), { workers: opts.workers }));
program
  .command('migrate')
  .description('apply pending database migrations')
  .option('--down', 'revert the most recent migration instead')
  .action((opts: { down?: boolean }) => migrateCommand(loadConfig(), opts));

const orgs = program.command('orgs').description('manage organizations');
orgs
  .command('create <name>')
  .description('create an organization; prints its id')
  .action((name: string) => createOrgCommand(loadConfig(), name));

const keys = program.command('keys').description('manage API keys');
keys
  .command('create')
  .description('create an API key; prints the key alone on one line (it is shown only once)')
  .requiredOption('--org <name>', 'organization name')
  .addOption(new Option('--scope <scope>', 'read, write or admin').choices(SCOPES).makeOptionMandatory())
  .option('--expires <when>', 'expiry: a duration from now (90m, 12h, 30d, 2w) or a timestamp (2027-01-31T00:00:00Z)')
  .action((opts: { org: string; scope: Scope; expires?: string }) =>
    createKeyCommand(loadConfig(), opts.org, opts.scope, opts.expires),
  );
keys
  .command('list')
  .description("list an organization's keys: id, prefix, scope, created, last used, expiry, revoked (never the key)")
  .requiredOption('--org <name>', 'organization name')
  .action((opts: { org: string }) => listKeysCommand(loadConfig(), opts.org));
keys
  .command('revoke <key-prefix>')
  .description('revoke a key by its prefix (its first 12 characters)')
  .action((prefix: string) => revokeKeyCommand(loadConfig(), prefix));

const collect = (value: string, previous: string[] = []) => [...previous, value];
const positive = (name: string) => (value: string) => {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`${name} must be an integer ≥ 1`);
  return Number(value);
};
program
  .command('audit')
  .description("print an organization's audit trail, one JSON entry per line (as GET audit answers it)")
  .requiredOption('--org <name>', 'organization name')
  .option('--target-id <id>', 'only entries about this target (repeat for several)', collect)
  .option('--action <action>', 'only this action, e.g. user.create (repeat for several)', collect)
  .option(
    '--target-type <type>',
    'only this target type: user, billing_group, group, api_key (repeat for several)',
    collect,
  )
  .option('--since <time>', 'entries at or after this time')
  .option('--until <time>', 'entries before this time')
  .option('--page-number <n>', 'page number, from 1', positive('--page-number'))
  .option('--page-size <n>', 'page size, at most 10000', positive('--page-size'))
  .option('--desc', 'newest first')
  .action((opts: AuditOptions) => auditCommand(loadConfig(), opts));

registerImportCommand(program);
registerExportCommand(program);
registerCopyCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof OrgError || error instanceof MigrationError) {
    process.stderr.write(`roster: ${error.message}\n`);
  } else {
    process.stderr.write(`roster: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exitCode = 1;
});
