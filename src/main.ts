import { Command, Option } from 'commander';
import { SCOPES, type Scope } from './auth/api-key.js';
import { ConfigError, loadConfig } from './config.js';
import { createKeyCommand, revokeKeyCommand } from './commands/keys.js';
import { migrateCommand } from './commands/migrate.js';
import { createOrgCommand } from './commands/orgs.js';
import { serveCommand } from './commands/serve.js';
import { MigrationError } from './db/migrator.js';
import { OrgError } from './orgs/org.service.js';

/** The `roster` command line: parses argv and hands off to one command. */
const program = new Command('roster')
  .description('Roster, the user directory. Reads PORT, HOST, DATABASE_URL and API_ROOT from the environment.')
  .showHelpAfterError();

program.command('serve').description('serve the API (npm start runs this)').action(() => serveCommand(loadConfig()));
program
  .command('migrate')
  .description('apply pending database migrations')
  .option('--down', 'revert the most recent migration instead')
  .action((opts: { down?: boolean }) => migrateCommand(loadConfig(), opts));

const orgs = program.command('orgs').description('manage organizations');
orgs.command('create <name>').description("create an organization; prints its id").action((name: string) => createOrgCommand(loadConfig(), name));

const keys = program.command('keys').description('manage API keys');
keys
  .command('create')
  .description('create an API key; prints the key alone on one line (it is shown only once)')
  .requiredOption('--org <name>', 'organization name')
  .addOption(new Option('--scope <scope>', 'read, write or admin').choices(SCOPES).makeOptionMandatory())
  .action((opts: { org: string; scope: Scope }) => createKeyCommand(loadConfig(), opts.org, opts.scope));
keys
  .command('revoke <key-prefix>')
  .description('revoke a key by its prefix (its first 12 characters)')
  .action((prefix: string) => revokeKeyCommand(loadConfig(), prefix));


program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof OrgError || error instanceof MigrationError) {
    process.stderr.write(`roster: ${error.message}\n`);
  } else {
    process.stderr.write(`roster: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exitCode = 1;
});
