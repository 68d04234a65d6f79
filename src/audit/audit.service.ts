import type { Transaction } from 'kysely';
import type { Database, Db } from '../db/tables.js';
import { invalidFields, notFound, type ProblemItem } from '../errors.js';
import { isStoredId } from '../shared/ids.js';
import { resolvePage, type PageRequest } from '../shared/paging.js';
import { readTimestamp } from '../shared/timestamps.js';
import { auditRowToEntry } from './audit.mapper.js';
import {
  appendAudit,
  appendAuditsWith,
  appendAuditWith,
  countAuditEntries,
  findAuditEntries,
  findAuditEntry,
  type AuditFilter,
  type NewAuditEntry,
} from './audit.repository.js';
import { AUDIT_PAGE_SIZE_MAX, type AuditEntry, type AuditPage, type AuditQuery } from './audit.schemas.js';

export type { NewAuditEntry };

function timeParameter(name: 'since' | 'until', value: string | undefined): string | null {
  if (value === undefined) return null;
  const problems: ProblemItem[] = [];
  const stored = readTimestamp(value, { parameter: name }, '2016-03-03T08:13:59-08:00', problems);
  if (stored === null) throw invalidFields(problems);
  return stored;
}

/** Builds the repository filter from a validated `GET audit` query; 400 for a malformed since/until. */
function auditFilterFromQuery(query: AuditQuery): AuditFilter {
  return {
    targetIds: query.target_id ?? [],
    actions: query.action ?? [],
    targetTypes: query.target_type ?? [],
    since: timeParameter('since', query.since),
    until: timeParameter('until', query.until),
  };
}

/** The audit trail: read by `GET audit`, appended to by every write inside its own transaction. */
export function createAuditService(db: Db) {
  return {
    /** One page of the organization's entries matching the query, with the exact total. */
    async listEntries(orgId: number, query: AuditQuery): Promise<{ body: AuditPage; page: PageRequest }> {
      const filter = auditFilterFromQuery(query);
      const page = resolvePage(query.pagenumber ?? 1, query.pagesize ?? AUDIT_PAGE_SIZE_MAX, AUDIT_PAGE_SIZE_MAX);
      const [rows, total] = await Promise.all([
        findAuditEntries(db, orgId, filter, query.sortorder ?? 'asc', page.pageSize, page.offset),
        countAuditEntries(db, orgId, filter),
      ]);
      return {
        body: {
          paging: { pageNumber: page.pageNumber, pageSize: page.pageSize, total },
          results: rows.map(auditRowToEntry),
        },
        page,
      };
    },

    /** One entry of the organization; 404 when it has none with this id. */
    async getEntry(orgId: number, id: string): Promise<AuditEntry> {
      const row = isStoredId(Number(id)) ? await findAuditEntry(db, orgId, Number(id)) : undefined;
      if (!row) throw notFound(`Audit entry ${id}`);
      return auditRowToEntry(row);
    },

    /** Appends an entry inside the write's transaction, so that both land or neither does. */
    appendEntry: (trx: Transaction<Database>, entry: NewAuditEntry): Promise<void> => appendAudit(trx, entry),

    /**
     * Runs a write that returns rows (an UPDATE … RETURNING) and appends its entry, as one statement on
     * PostgreSQL; returns the write's first row, undefined when it changed none (then roll back: the entry
     * may have been appended).
     */
    appendEntryWith: appendAuditWith,

    /**
     * PostgreSQL: several users' updates (each row with its `batch_ord`) and their entries, in that order, as one
     * statement; returns each update's row, undefined for one that changed none (then roll back).
     */
    appendEntriesWith: appendAuditsWith,
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
