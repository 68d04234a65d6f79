/**
 * Turns one record of the file (a CSV record, or a JSON value) into checked
 * user fields. CSV: an empty field means "not given" except for email and
 * phone (empty), last_login_date (null) and the access lists (empty).
 */
import { quoteValue } from '../shared/text.js';
import { CSV_LIST_SEPARATOR, USER_CSV_COLUMNS, type UserCsvColumn } from '../users/user.formats.js';
import { acceptField, type FieldProblem, type UserInput } from './import.rules.js';

/** A record of the file, checked: the fields it gives, or what is wrong with it. */
export interface CheckedRow {
  /** The line the record starts on (1-based, the header being line 1 in CSV). */
  readonly line: number;
  /** The record exactly as in the file, without its line end. */
  readonly raw: string;
  /** CSV names the access lists billing_groups and group_owners; JSON access.billing_groups and access.group_owners. */
  readonly source: 'csv' | 'json';
  readonly input: UserInput;
  readonly problems: FieldProblem[];
}

const splitList = (value: string) =>
  value
    .split(CSV_LIST_SEPARATOR)
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** The user fields of one CSV record, given the header's columns. */
export function checkCsvRecord(
  columns: readonly UserCsvColumn[],
  record: readonly string[],
): { input: UserInput; problems: FieldProblem[] } {
  const input: UserInput = {};
  const problems: FieldProblem[] = [];
  if (record.length !== columns.length) {
    problems.push({
      field: '(row)',
      reason: `has ${record.length} field${record.length === 1 ? '' : 's'} but the header has ${columns.length}: check for a missing or extra comma, or a value holding a comma that is not in quotes`,
    });
    return { input, problems };
  }
  columns.forEach((column, i) => {
    const value = record[i]!;
    switch (column) {
      case 'email':
      case 'phone':
        return acceptField(input, problems, column, value);
      case 'last_login_date':
        return acceptField(input, problems, column, value === '' ? null : value);
      case 'billing_groups':
      case 'group_owners':
        return acceptField(input, problems, column, splitList(value));
      default:
        if (value === '') return;
        if (column === 'roles') return acceptField(input, problems, column, splitList(value));
        if (column === 'restrict_recording_download') {
          const v = value.trim().toLowerCase();
          if (v === 'true' || v === '1') return acceptField(input, problems, column, true);
          if (v === 'false' || v === '0') return acceptField(input, problems, column, false);
          return void problems.push({ field: column, reason: `${quoteValue(value)} is not true or false` });
        }
        return acceptField(input, problems, column, value);
    }
  });
  return { input, problems };
}

const STRING_KEYS = new Set([
  'user_id',
  'username',
  'name',
  'email',
  'phone',
  'call_detail_level',
  'status',
  'last_updated_date',
]);
const OBJECT_KEYS = new Set<string>([
  ...USER_CSV_COLUMNS.filter((c) => c !== 'billing_groups' && c !== 'group_owners'),
  'access',
]);
const kind = (v: unknown) =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'a list'
      : typeof v === 'object'
        ? 'an object'
        : typeof v === 'string'
          ? 'a string'
          : `${typeof v}`;

/** The value a message names: ` (got [1,2])`. */
const got = (v: unknown) => ` (got ${quoteValue(v)})`;

function idList(value: unknown, field: string, problems: FieldProblem[]): string[] | undefined {
  if (!Array.isArray(value))
    return void problems.push({
      field,
      reason: `must be a list of ids like ["1234"], not ${kind(value)}${got(value)}`,
    });
  if (value.some((v) => typeof v !== 'string' && !(typeof v === 'number' && Number.isSafeInteger(v)))) {
    return void problems.push({ field, reason: `must hold ids as strings of digits like "1234"${got(value)}` });
  }
  return value.map(String);
}

/** The user fields of one JSON value: a user object as the API returns it. */
export function checkJsonUser(value: unknown): { input: UserInput; problems: FieldProblem[] } {
  const input: UserInput = {};
  const problems: FieldProblem[] = [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push({
      field: '(row)',
      reason: `must be one user object {"username": ...}, not ${kind(value)}${got(value)}`,
    });
    return { input, problems };
  }
  for (const [key, v] of Object.entries(value)) {
    if (!OBJECT_KEYS.has(key)) {
      problems.push({
        field: key,
        reason: `is not a field of the user object (fields: ${[...OBJECT_KEYS].join(', ')})`,
      });
    } else if (STRING_KEYS.has(key)) {
      if (typeof v === 'string') acceptField(input, problems, key as keyof UserInput, v);
      else problems.push({ field: key, reason: `must be a string, not ${kind(v)}${got(v)}` });
    } else if (key === 'last_login_date' || key === 'deactivation_date') {
      if (v === null) {
        if (key === 'last_login_date') input.last_login_date = null;
      } else if (typeof v === 'string') acceptField(input, problems, key, v);
      else problems.push({ field: key, reason: `must be a timestamp string or null, not ${kind(v)}${got(v)}` });
    } else if (key === 'restrict_recording_download') {
      if (typeof v === 'boolean') input.restrict_recording_download = v;
      else problems.push({ field: key, reason: `must be true or false, not ${kind(v)}${got(v)}` });
    } else if (key === 'roles') {
      if (Array.isArray(v) && v.every((r) => typeof r === 'string')) acceptField(input, problems, 'roles', v);
      else problems.push({ field: key, reason: `must be a list of role names like ["reporting"]${got(v)}` });
    } else if (key === 'access') {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        problems.push({
          field: key,
          reason: `must be an object {"billing_groups": [...], "group_owners": [...]}${got(v)}`,
        });
        continue;
      }
      for (const [sub, list] of Object.entries(v as Record<string, unknown>)) {
        const field = `access.${sub}`;
        if (sub !== 'billing_groups' && sub !== 'group_owners')
          problems.push({ field, reason: 'is not a field of access (fields: billing_groups, group_owners)' });
        else {
          const ids = idList(list, field, problems);
          if (ids) {
            const before = problems.length;
            acceptField(input, problems, sub, ids);
            for (let i = before; i < problems.length; i++) problems[i] = { field, reason: problems[i]!.reason };
          }
        }
      }
    }
  }
  return { input, problems };
}
