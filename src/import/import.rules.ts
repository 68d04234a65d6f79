/**
 * The field rules an imported user must meet: the API's user object rules,
 * with the patterns of the write side's schemas (user.write.schemas.ts) and
 * reasons worded for the person fixing the file. An import keeps what the
 * API's writes set themselves: user_id, status and every date.
 */
import { parseTimestamp } from '../shared/timestamps.js';
import { isUuid } from '../shared/text.js';
import { CALL_DETAIL_LEVELS, ROLES, STATUSES, type CallDetailLevel, type Role, type UserStatus } from '../users/user.schemas.js';
import { Email, PersonName, Phone, Username } from '../users/user.schemas.js';

/** What is wrong with one field of a row. */
export interface FieldProblem {
  readonly field: string;
  readonly reason: string;
}

/** The fields a row gives, already checked and in stored form (timestamps with 7 fraction digits). Absent = not given. */
export interface UserInput {
  user_id?: string;
  username?: string;
  name?: string;
  email?: string;
  phone?: string;
  call_detail_level?: CallDetailLevel;
  restrict_recording_download?: boolean;
  status?: UserStatus;
  last_login_date?: string | null;
  last_updated_date?: string;
  deactivation_date?: string;
  roles?: Role[];
  billing_groups?: string[];
  group_owners?: string[];
}

// The write side's field schemas are the one source of the patterns; the import adds reasons in plain words.
const compiled = (schema: { pattern?: string }) => new RegExp(schema.pattern!, 'u');
const USERNAME = compiled(Username);
const PERSON_NAME = compiled(PersonName);
const EMAIL = compiled(Email);
const PHONE = compiled(Phone);
const CONTROL = /\p{Cc}/u;
const ID = /^[1-9][0-9]{0,14}$/;
// A string of n UTF-16 units has at most n characters: count code points only when it could matter.
const length = (s: string, max: number) => (s.length <= max ? s.length : [...s].length);
const show = (value: string) => JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);

/** Each rule returns the reason the value is wrong, or null. */
export const rules = {
  user_id: (v: string) => (isUuid(v) ? null : `${show(v)} is not a UUID (like 627b4c86-1ff1-4ca7-8827-95c214666636)`),
  username(v: string): string | null {
    const max = Username.maxLength!;
    if (v === '') return `is empty; give 1 to ${max} characters`;
    if (length(v, max) > max) return `has ${length(v, max)} characters; at most ${max} are allowed`;
    if (USERNAME.test(v)) return null;
    if (CONTROL.test(v)) return `${show(v)} holds a control character (such as a tab or line break); remove it`;
    if (v.includes('/')) return `${show(v)} holds "/", which a username may not contain`;
    if (/^\s|\s$/.test(v)) return `${show(v)} starts or ends with a space; remove it`;
    return `${show(v)} is not allowed: a username is ${Username.description}`;
  },
  name(v: string): string | null {
    const max = PersonName.maxLength!;
    if (v.trim() === '') return `is empty; give 1 to ${max} characters`;
    if (length(v, max) > max) return `has ${length(v, max)} characters; at most ${max} are allowed`;
    if (PERSON_NAME.test(v)) return null;
    if (CONTROL.test(v)) return `${show(v)} holds a control character (such as a tab or line break); remove it`;
    return `${show(v)} is not allowed: a name is ${PersonName.description}`;
  },
  email: (v: string) => (v === '' || (v.length <= Email.maxLength! && EMAIL.test(v)) ? null : `${show(v)} is not an email address (like name@example.com); leave it empty when unknown`),
  phone(v: string): string | null {
    if (v.length <= Phone.maxLength! && PHONE.test(v)) return null;
    if (!/^[0-9 ().-]*$/.test(v) || v.length > Phone.maxLength!) return `${show(v)} may hold only digits and the separators space - . ( )`;
    return `${show(v)} has ${v.replace(/[^0-9]/g, '').length} digits; a phone number has exactly 10 (like 705-722-4398), or leave it empty`;
  },
} as const;

const oneOf = (list: readonly string[]) => list.map((v) => `"${v}"`).join(', ');

function checkEnum<T extends string>(list: readonly T[], value: string, what: string): { value?: T; reason?: string } {
  return (list as readonly string[]).includes(value) ? { value: value as T } : { reason: `${show(value)} is not ${what}; use one of ${oneOf(list)}` };
}

const PLAIN_STAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** parseTimestamp, with a fast path for the seed's own form (no zone), which a million-row import is made of. */
function toStored(value: string): string | null {
  const m = PLAIN_STAMP.exec(value);
  if (!m) return parseTimestamp(value);
  const year = Number(m[1]), month = Number(m[2]), day = Number(m[3]);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : DAYS[month - 1];
  if (year < 1 || days === undefined || day < 1 || day > days || Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) return null;
  return `${value.slice(0, 19)}.${(m[7] ?? '').padEnd(7, '0')}`;
}

function checkTimestamp(value: string): { value?: string; reason?: string } {
  const stored = toStored(value);
  return stored === null ? { reason: `${show(value)} is not a UTC timestamp like 2016-03-03T16:13:59.1917141 (or RFC 3339 with Z or an offset)` } : { value: stored };
}

function checkRoles(items: readonly string[]): { value?: Role[]; reason?: string } {
  if (items.length === 0) return { reason: `needs at least one role: ${oneOf(ROLES)}` };
  const unknown = items.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (unknown.length > 0) return { reason: `${oneOf(unknown)} ${unknown.length === 1 ? 'is not a role' : 'are not roles'}; roles are ${oneOf(ROLES)}` };
  const dup = items.find((r, i) => items.indexOf(r) !== i);
  if (dup !== undefined) return { reason: `names "${dup}" twice; list each role once` };
  return { value: items as Role[] };
}

function checkIds(items: readonly string[], what: string): { value?: string[]; reason?: string } {
  const bad = items.filter((id) => !ID.test(id));
  if (bad.length > 0) return { reason: `${oneOf(bad)} ${bad.length === 1 ? 'is not a' : 'are not'} ${what} id${bad.length === 1 ? '' : 's'} (positive whole numbers like 1234)` };
  const dup = items.find((id, i) => items.indexOf(id) !== i);
  if (dup !== undefined) return { reason: `names ${what} ${dup} twice; list each once` };
  return { value: [...items] };
}

/**
 * Checks one field's value (already a string, boolean or list of strings) and
 * stores it in `input`, or records why it is wrong.
 */
export function acceptField(input: UserInput, problems: FieldProblem[], field: keyof UserInput, value: string | boolean | null | readonly string[]): void {
  let r: { value?: unknown; reason?: string };
  switch (field) {
    case 'user_id':
    case 'username':
    case 'name':
    case 'email':
    case 'phone': {
      const reason = rules[field](value as string);
      r = reason !== null ? { reason } : { value: field === 'user_id' ? (value as string).toLowerCase() : value };
      break;
    }
    case 'call_detail_level':
      r = checkEnum(CALL_DETAIL_LEVELS, value as string, 'a call detail level');
      break;
    case 'status':
      r = checkEnum(STATUSES, value as string, 'a status');
      break;
    case 'restrict_recording_download':
      r = { value };
      break;
    case 'last_login_date':
      r = value === null ? { value: null } : checkTimestamp(value as string);
      break;
    case 'last_updated_date':
    case 'deactivation_date':
      r = checkTimestamp(value as string);
      break;
    case 'roles':
      r = checkRoles(value as string[]);
      break;
    case 'billing_groups':
      r = checkIds(value as string[], 'billing group');
      break;
    case 'group_owners':
      r = checkIds(value as string[], 'group');
      break;
  }
  if (r.reason !== undefined) problems.push({ field, reason: r.reason });
  else (input as Record<string, unknown>)[field] = r.value;
}
