import { TARGET_TYPES, type AuditQuery } from '../audit/audit.schemas.js';
import { createAuditService } from '../audit/audit.service.js';
import type { Config } from '../config.js';
import { createOrgService } from '../orgs/org.service.js';
import { withDatabase } from './with-database.js';

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
  const bad = options.targetType?.find((t) => !(TARGET_TYPES as readonly string[]).includes(t.toLowerCase()));
  if (bad !== undefined) throw new Error(`--target-type "${bad}" must be one of: ${TARGET_TYPES.join(', ')}`);
  const query: AuditQuery = {
    ...(options.pageNumber !== undefined && { pagenumber: options.pageNumber }),
    ...(options.pageSize !== undefined && { pagesize: options.pageSize }),
    ...(options.targetId && { target_id: options.targetId }),
    ...(options.action && { action: options.action }),
    ...(options.targetType && {
      target_type: options.targetType.map((t) => t.toLowerCase()) as AuditQuery['target_type'],
    }),
    ...(options.since !== undefined && { since: options.since }),
    ...(options.until !== undefined && { until: options.until }),
    ...(options.desc && { sortorder: 'desc' as const }),
  };
  const { body } = await withDatabase(config, async (conn) =>
    createAuditService(conn.db).listEntries(await createOrgService(conn.db).requireOrganization(options.org), query),
  );
  for (const entry of body.results) process.stdout.write(`${JSON.stringify(entry)}\n`);
  const { pageNumber, pageSize, total } = body.paging;
  const first = (pageNumber - 1) * pageSize;
  process.stderr.write(
    `${body.results.length === 0 ? 'no entries' : `entries ${first + 1}–${first + body.results.length}`} of ${total} (page ${pageNumber}, page size ${pageSize})\n`,
  );
}
