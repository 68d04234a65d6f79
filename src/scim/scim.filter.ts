import { parse, type Filter } from 'scim2-parse-filter';
import { foldUsername } from '../db/username-keys.js';
import { fold, needleFolds } from '../shared/text.js';
import { parseTimestamp } from '../shared/timestamps.js';
import type { CompareOp, DirectoryField, DirectorySort, UserCondition } from '../users/user.scim.service.js';
import { ROLES } from '../users/user.schemas.js';
import { scimBadRequest } from './scim.errors.js';
import { splitPath } from './scim.attributes.js';

// SCIM filters (RFC 7644 §3.4.2.2) over users, parsed by scim2-parse-filter and translated into the
// repository's condition tree, which compiles to SQL over Roster's indexes (users/user.scim.repository.ts).

/** Every attribute a filter or sortBy may name, lower-cased, and the column it means. */
const FIELDS: Record<string, DirectoryField> = {
  username: 'userName',
  externalid: 'externalId',
  emails: 'email',
  'emails.value': 'email',
  'name.formatted': 'name',
  displayname: 'name',
  'name.givenname': 'givenName',
  'name.familyname': 'familyName',
  active: 'active',
  id: 'id',
  roles: 'role',
  'roles.value': 'role',
  'meta.lastmodified': 'lastModified',
  'meta.created': 'created',
};

const FILTERABLE =
  'userName, externalId, emails.value, emails[type eq "work"].value, name.formatted, name.givenName, name.familyName, displayName, active, id, roles.value, meta.lastModified, meta.created';

const ALWAYS: UserCondition = { op: 'pr', field: 'id' };
const NEVER: UserCondition = { op: 'not', item: ALWAYS };

const invalid = (detail: string) => scimBadRequest('invalidFilter', detail);

function resolve(attrPath: string): { field?: DirectoryField; key: string } {
  const { top, sub } = splitPath(attrPath);
  const key = (sub === undefined ? top : `${top}.${sub}`).toLowerCase();
  return { field: FIELDS[key], key };
}

/** A comparison value in the column's form (folded, parsed), or a constant condition. */
function compare(op: CompareOp, attrPath: string, value: unknown): UserCondition {
  const { field, key } = resolve(attrPath);
  // Roster keeps one email, the work one, primary: `emails[type eq "work"]` and `primary eq true` are its presence.
  if (key === 'emails.type')
    return (op === 'eq') === (typeof value === 'string' && value.toLowerCase() === 'work')
      ? { op: 'pr', field: 'email' }
      : NEVER;
  if (key === 'emails.primary') return (op === 'eq') === (value === true) ? { op: 'pr', field: 'email' } : NEVER;
  if (!field) throw invalid(`Filter attribute "${attrPath}" cannot be filtered on; use one of ${FILTERABLE}.`);
  if (value === null) {
    if (op !== 'eq' && op !== 'ne')
      throw invalid(`Filter "${attrPath} ${op} null" compares with null; use "pr" or "eq null".`);
    return op === 'eq' ? { op: 'not', item: { op: 'pr', field } } : { op: 'pr', field };
  }
  const ordering = op === 'eq' || op === 'ne';
  if (field === 'active') {
    if (!ordering) throw invalid(`Filter attribute "active" is a boolean: compare it with eq or ne, not ${op}.`);
    const flag = typeof value === 'string' ? value.toLowerCase() === 'true' : value === true;
    return { op, field, value: flag };
  }
  if (typeof value !== 'string')
    throw invalid(`Filter value ${JSON.stringify(value)} for "${attrPath}" must be a string in double quotes.`);
  if (field === 'role') {
    if (!ordering) throw invalid(`Filter attribute "${attrPath}" names a role: compare it with eq or ne, not ${op}.`);
    const role = ROLES.find((r) => r === value.toLowerCase());
    if (!role) return op === 'eq' ? NEVER : ALWAYS;
    return { op, field, value: role };
  }
  if (field === 'lastModified' || field === 'created') {
    if (op === 'co' || op === 'sw' || op === 'ew')
      throw invalid(`Filter attribute "${attrPath}" is a date: compare it with eq, ne, gt, ge, lt or le.`);
    const stored = parseTimestamp(value);
    if (stored === null)
      throw invalid(
        `Filter value "${value}" for "${attrPath}" is not an xsd:dateTime such as 2026-01-31T08:00:00.1234567Z.`,
      );
    return { op, field, value: stored };
  }
  // A name substring ending in a Greek sigma is searched in both its forms, as the API's name search does;
  // usernames are fully case-folded (one sigma), like the API's username search.
  if (field === 'name' && (op === 'co' || op === 'sw' || op === 'ew')) {
    const needles = needleFolds(value);
    if (needles.length > 1) return { op: 'or', items: needles.map((needle) => ({ op, field, value: needle })) };
  }
  // userName, emails and names compare case-insensitively (caseExact false); externalId exactly.
  const text =
    field === 'externalId'
      ? value
      : field === 'userName'
        ? foldUsername(value)
        : field === 'name'
          ? fold(value)
          : value.toLowerCase();
  return { op, field, value: field === 'id' ? value.toLowerCase() : text };
}

/** Refuses a value no stored text can hold (PostgreSQL rejects NUL outright): a 400, never a 500. */
function refuseNul(value: unknown, attrPath: string): void {
  if (typeof value === 'string' && value.includes('\u0000'))
    throw invalid(`Filter value for "${attrPath}" holds the NUL character (U+0000), which no attribute can hold.`);
}

function translate(filter: Filter, prefix: string): UserCondition {
  switch (filter.op) {
    case 'and':
    case 'or':
      return { op: filter.op, items: filter.filters.map((f) => translate(f, prefix)) };
    case 'not':
      return { op: 'not', item: translate(filter.filter, prefix) };
    case '[]':
      return translate(filter.valFilter, `${prefix}${filter.attrPath}.`);
    case 'pr': {
      const path = `${prefix}${filter.attrPath}`;
      const { field, key } = resolve(path);
      if (key === 'emails.type' || key === 'emails.primary') return { op: 'pr', field: 'email' };
      if (!field) throw invalid(`Filter attribute "${path}" cannot be filtered on; use one of ${FILTERABLE}.`);
      return { op: 'pr', field };
    }
    default:
      refuseNul(filter.compValue, filter.attrPath);
      return compare(filter.op, `${prefix}${filter.attrPath}`, filter.compValue);
  }
}

/** Parses a filter into the repository's condition; 400 invalidFilter naming what is wrong. */
export function parseUserFilter(text: string): UserCondition {
  let ast: Filter;
  try {
    ast = parse(text);
  } catch (error) {
    throw invalid(
      `The filter ${JSON.stringify(text)} is not valid SCIM filter syntax (${(error as Error).message}); write e.g. userName eq "jdoe".`,
    );
  }
  return translate(ast, '');
}

/** sortBy and sortOrder; by default userName ascending. */
export function parseUserSort(sortBy: string | undefined, sortOrder: string | undefined): DirectorySort {
  const order = (sortOrder ?? 'ascending').toLowerCase();
  if (order !== 'ascending' && order !== 'descending')
    throw scimBadRequest('invalidValue', `sortOrder "${sortOrder}" must be ascending or descending.`);
  const field = sortBy === undefined ? 'userName' : resolve(sortBy).field;
  if (!field) throw scimBadRequest('invalidValue', `sortBy "${sortBy}" cannot be sorted on; use one of ${FILTERABLE}.`);
  return { field, order: order === 'ascending' ? 'asc' : 'desc' };
}
