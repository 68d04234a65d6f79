import { member, type ScimResource } from './scim.mapper.js';
import { MAX_RESULTS, URN, type ScimBody, type ScimListQuery } from './scim.schemas.js';

// The paging and the ListResponse of SCIM lists (RFC 7644 §3.4.2.4), shared by Users and Groups.

/** A SCIM list's paging: startIndex from 1 (below 1 counts as 1), count from 0 to MAX_RESULTS. */
export function listWindow(startIndex: unknown, count: unknown): { start: number; count: number } {
  const int = (value: unknown, fallback: number) => {
    const n =
      typeof value === 'number'
        ? value
        : typeof value === 'string' && /^-?\d+$/.test(value.trim())
          ? Number(value)
          : NaN;
    return Number.isFinite(n) ? Math.trunc(n) : fallback;
  };
  return {
    start: Math.max(1, int(startIndex, 1)),
    count: Math.min(MAX_RESULTS, Math.max(0, int(count, MAX_RESULTS))),
  };
}

/** A ListResponse of already projected resources. */
export function listResponse(resources: ScimResource[], total: number, start: number): ScimResource {
  return {
    schemas: [URN.list],
    totalResults: total,
    itemsPerPage: resources.length,
    startIndex: start,
    Resources: resources,
  };
}

/** A SearchRequest body (POST /Users/.search) as the list parameters of GET /Users. */
export function searchToQuery(body: ScimBody): ScimListQuery {
  const text = (name: string) => {
    const value = member(body, name);
    if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(',');
    if (value === undefined || value === null) return undefined;
    return typeof value === 'string' ? value : JSON.stringify(value);
  };
  const query: Record<string, string> = {};
  for (const [name, key] of [
    ['filter', 'filter'],
    ['startIndex', 'startindex'],
    ['count', 'count'],
    ['sortBy', 'sortby'],
    ['sortOrder', 'sortorder'],
    ['attributes', 'attributes'],
    ['excludedAttributes', 'excludedattributes'],
  ] as const) {
    const value = text(name);
    if (value !== undefined) query[key] = value;
  }
  return query;
}
