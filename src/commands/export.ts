import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { createBillingGroupService } from '../billing-groups/billing-group.service.js';
import type { BillingGroup } from '../billing-groups/billing-group.schemas.js';
import { loadConfig, type Config } from '../config.js';
import { createGroupService } from '../groups/group.service.js';
import { tuneForExport } from '../db/tuning.js';
import { createOrgService } from '../orgs/org.service.js';
import { ROLES, SORT_FIELDS, STATUSES, type UsersQuery } from '../users/user.schemas.js';
import { formatUserStream, type StreamFormat } from '../users/user.formats.js';
import { createUserService } from '../users/user.service.js';
import { withDatabase } from './with-database.js';

export interface ExportCommandOptions {
  readonly org: string;
  readonly format: StreamFormat;
  /** CSV: write fields that start like a formula as stored (commander's --keep-formulas). */
  readonly keepFormulas?: boolean;
  readonly username?: string[];
  readonly name?: string[];
  readonly status?: string[];
  readonly role?: string[];
  readonly billingGroup?: string[];
  readonly groupOwner?: string[];
  readonly sortby?: UsersQuery['sortby'];
  readonly sortorder?: UsersQuery['sortorder'];
  readonly what?: ExportWhat;
}

const WHAT = ['users', 'billing-groups', 'groups', 'hierarchy'] as const;
type ExportWhat = (typeof WHAT)[number];

const collect = (value: string, previous: string[] = []) => [...previous, value];
const lowered =
  (choices: readonly string[]) =>
  (value: string, previous: string[] = []) => {
    const v = value.toLowerCase();
    if (!choices.includes(v)) throw new InvalidArgumentError(`"${value}" is not one of ${choices.join(', ')}`);
    return [...previous, v];
  };
const ids = (value: string, previous: string[] = []) => {
  if (!/^[0-9]{1,15}$/.test(value)) throw new InvalidArgumentError(`"${value}" is not an id (digits)`);
  return [...previous, value];
};

/** Registers `roster export` on the program. */
export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description(
      "stream an organization's users to stdout (NDJSON, as GET users answers them, or CSV), in GET users' order",
    )
    .requiredOption('--org <name>', 'organization name')
    .addOption(
      new Option(
        '--what <what>',
        'users; billing-groups or groups (NDJSON, as GET billinggroups / GET groups answer them); hierarchy: both, parents first, for `roster import --what hierarchy`',
      )
        .choices(WHAT)
        .default('users'),
    )
    .addOption(new Option('--format <format>', 'ndjson or csv').choices(['ndjson', 'csv']).default('ndjson'))
    .option(
      '--keep-formulas',
      "csv: write fields starting with = + - @ tab or CR as stored (by default they get a leading ' so that a spreadsheet shows them as text)",
    )
    .option('--username <text>', 'username contains (case-insensitive); repeat for any of several', collect)
    .option('--name <text>', 'name contains (case-insensitive); repeat for any of several', collect)
    .option('--status <status>', `exact status (${STATUSES.join(', ')}); repeatable`, lowered(STATUSES))
    .option('--role <role>', 'exact role; repeatable', lowered(ROLES))
    .option('--billing-group <id>', 'billing group id in access.billing_groups; repeatable', ids)
    .option('--group-owner <id>', 'group id in access.group_owners; repeatable', ids)
    .addOption(new Option('--sortby <field>', 'sort field').choices(SORT_FIELDS).default('username'))
    .addOption(new Option('--sortorder <order>', 'asc or desc').choices(['asc', 'desc']).default('asc'))
    .action((opts: ExportCommandOptions) => exportCommand(loadConfig(), opts));
}

/** `roster export --org <name>`: every matching user to stdout, streamed with keyset paging (flat memory). */
export async function exportCommand(
  config: Config,
  opts: ExportCommandOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  if ((opts.what ?? 'users') !== 'users') return exportHierarchy(config, opts, out);
  await withDatabase(config, async (conn) => {
    await tuneForExport(conn);
    const orgId = await createOrgService(conn.db).requireOrganization(opts.org);
    // Empty values mean "not given", as in GET users.
    const given = (list?: string[]) => list?.filter((v) => v !== '');
    const query: UsersQuery = {
      username: given(opts.username),
      name: given(opts.name),
      status: given(opts.status) as UsersQuery['status'],
      role: given(opts.role) as UsersQuery['role'],
      billing_group: given(opts.billingGroup),
      group_owner: given(opts.groupOwner),
      sortby: opts.sortby ?? 'username',
      sortorder: opts.sortorder ?? 'asc',
    };
    const rows = createUserService(conn.db, { cacheBytes: 0 }).streamUsers(orgId, query);
    try {
      await pipeline(formatUserStream(rows, opts.format, { neutralizeFormulas: !opts.keepFormulas }), out, {
        end: out !== process.stdout,
      });
    } catch (error) {
      // A closed stdout (`roster export ... | head`) is the reader's choice, not a failure.
      if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
    }
  });
}

/** Billing groups ordered parents first (an import creates them in file order), then by id. */
function parentsFirst(list: readonly BillingGroup[]): BillingGroup[] {
  const byId = new Map(list.map((bg) => [bg.billing_group_id, bg]));
  const depth = (bg: BillingGroup): number => {
    const parent = bg.parent_id === null ? undefined : byId.get(bg.parent_id);
    return parent ? 1 + depth(parent) : 1;
  };
  return [...list].sort((a, b) => depth(a) - depth(b) || a.billing_group_id - b.billing_group_id);
}

/** `roster export --what billing-groups|groups|hierarchy`: one JSON object per line, as the API answers them. */
async function exportHierarchy(config: Config, opts: ExportCommandOptions, out: NodeJS.WritableStream): Promise<void> {
  const userOnly = [opts.username, opts.name, opts.status, opts.role, opts.billingGroup, opts.groupOwner];
  if (opts.format === 'csv' || userOnly.some((v) => v !== undefined)) {
    throw new InvalidArgumentError(`--what ${opts.what}: NDJSON only, and the user filters do not apply`);
  }
  const lines = await withDatabase(config, async (conn) => {
    const orgId = await createOrgService(conn.db).requireOrganization(opts.org);
    const objects: object[] = [];
    if (opts.what !== 'groups') {
      objects.push(...parentsFirst((await createBillingGroupService(conn.db).listBillingGroups(orgId)).body));
    }
    if (opts.what !== 'billing-groups') objects.push(...(await createGroupService(conn.db).listGroups(orgId, {})).body);
    return objects.map((o) => `${JSON.stringify(o)}\n`).join('');
  });
  await new Promise<void>((resolve, reject) => {
    out.write(lines, (error) => (error ? reject(error) : resolve()));
    if (out !== process.stdout) out.end();
  });
}
