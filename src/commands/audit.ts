import { Value } from '@sinclair/typebox/value';
import { AuditQuery } from '../audit/audit.schemas.js';
import { createAuditReader } from '../audit/audit.service.js';
import type { Config } from '../config.js';
import { connect } from '../db/connect.js';
import { migrateToLatest } from '../db/migrator.js';
import { requireOrganization } from '../orgs/org.service.js';

export interface AuditOptions {
  readonly org: string;
  readonly targetId?: string[];
  readonly action?: string[];
  readonly targetType?: string[];
  readonly since?: string;
  readonly until?: string;
  readonly pageNumber?: number;
  readonly pageSize?: number;
  readonly desc?: boolean;
}

/**
 * `roster audit --org <name> [filters]`: prints the entries `GET audit` would
 * answer, one JSON object per line (the same objects), and the paging on stderr.
 */
export async function auditCommand(config: Config, options: AuditOptions): Promise<void> {
  const query = {
    pagenumber: options.pageNumber,
    pagesize: options.pageSize,
    target_id: options.targetId,
    action: options.action,
    target_type: options.targetType,
    since: options.since,
    until: options.until,
    sortorder: options.desc ? 'desc' : undefined,
  };
  const defined = Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined));
  const problem = [...Value.Errors(AuditQuery, defined)][0];
  if (problem) throw new Error(`${problem.path.slice(1).replace(/\/\d+$/, '')} ${problem.message.toLowerCase()}`);
  const conn = connect(config.database);
  try {
    await migrateToLatest(conn);
    const orgId = await requireOrganization(conn.db, options.org);
    const { body } = await createAuditReader(conn.db).listEntries(orgId, defined as AuditQuery);
    for (const entry of body.results) process.stdout.write(`${JSON.stringify(entry)}\n`);
    const { pageNumber, pageSize, total } = body.paging;
    const first = (pageNumber - 1) * pageSize;
    process.stderr.write(`${body.results.length === 0 ? 'no entries' : `entries ${first + 1}–${first + body.results.length}`} of ${total} (page ${pageNumber}, page size ${pageSize})\n`);
  } finally {
    await conn.close();
  }
}
