import type { Db } from '../db/tables.js';
import { invalidFields, notFound, type ProblemItem } from '../errors.js';
import { isStoredId } from '../shared/ids.js';
import { resolvePage, type PageRequest } from '../shared/paging.js';
import { readTimestamp } from '../shared/timestamps.js';
import { auditRowToEntry, countAuditEntries, findAuditEntries, findAuditEntry, type AuditFilter } from './audit.repository.js';
import { AUDIT_PAGE_SIZE_MAX, type AuditEntry, type AuditPage, type AuditQuery } from './audit.schemas.js';

function timeParameter(name: 'since' | 'until', value: string | undefined): string | null {
  if (value === undefined) return null;
  const problems: ProblemItem[] = [];
  const stored = readTimestamp(value, { parameter: name }, '2016-03-03T08:13:59-08:00', problems);
  if (stored === null) throw invalidFields(problems);
  return stored;
}

/** Builds the repository filter from a validated `GET audit` query; 400 for a malformed since/until. */
export function auditFilterFromQuery(query: AuditQuery): AuditFilter {
  return {
    targetIds: query.target_id ?? [],
    actions: query.action ?? [],
    targetTypes: query.target_type ?? [],
    since: timeParameter('since', query.since),
    until: timeParameter('until', query.until),
  };
}

/** The read side of the audit trail. There is no write side: entries are appended by the writes themselves. */
export function createAuditReader(db: Db) {
  return {
    /** One page of the organization's entries matching the query, with the exact total. */
    async listEntries(orgId: number, query: AuditQuery): Promise<{ body: AuditPage; page: PageRequest }> {
      const filter = auditFilterFromQuery(query);
      const page = resolvePage(query.pagenumber ?? 1, query.pagesize ?? AUDIT_PAGE_SIZE_MAX, AUDIT_PAGE_SIZE_MAX);
      const [rows, total] = await Promise.all([
        findAuditEntries(db, orgId, filter, query.sortorder ?? 'asc', page.pageSize, page.offset),
        countAuditEntries(db, orgId, filter),
      ]);
      return { body: { paging: { pageNumber: page.pageNumber, pageSize: page.pageSize, total }, results: rows.map(auditRowToEntry) }, page };
    },

    /** One entry of the organization; 404 when it has none with this id. */
    async getEntry(orgId: number, id: string): Promise<AuditEntry> {
      const row = isStoredId(Number(id)) ? await findAuditEntry(db, orgId, Number(id)) : undefined;
      if (!row) throw notFound(`Audit entry ${id}`);
      return auditRowToEntry(row);
    },
  };
}

export type AuditReader = ReturnType<typeof createAuditReader>;
