/**
 * The field rules an imported user must meet: the API's own. Each check is one
 * of the API's schemas (users/user.write.schemas.ts, users/user.schemas.ts),
 * compiled by Ajv as Fastify compiles them, or a helper the API calls
 * (parseTimestamp, isUuid); the import adds reasons worded for the person
 * fixing the file. An import keeps what the API's writes set themselves:
 * user_id, status and every date.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { findInvisible, isUuid, quoteValue } from '../shared/text.js';
import { parseTimestamp } from '../shared/timestamps.js';
import {
  CALL_DETAIL_LEVELS,
  ROLES,
  STATUSES,
  User,
  type CallDetailLevel,
  type Role,
  type UserStatus,
} from '../users/user.schemas.js';
import { Email, PersonName, Phone, UserCreate, Username } from '../users/user.schemas.js';

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

// Ajv, as Fastify uses it for the API's bodies, counts lengths in characters (code points) and reads the
// patterns as Unicode (\p{Cc}); TypeBox's own checker does neither, so it would disagree with the API.
const ajv = new Ajv({ allErrors: true });
/** A compiled schema: whether a value passes, and (after it failed) Ajv's errors. */
type Check = ((value: unknown) => boolean) & Pick<ValidateFunction, 'errors'>;
const compile = (schema: object): Check => ajv.compile(schema);
/** Whether the last call of `check` failed on this keyword (minLength, maxLength, minItems, …). */
const failedOn = (check: Check, keyword: string) => (check.errors ?? []).some((e) => e.keyword === keyword);

const { access } = UserCreate.properties;
const check = {
  username: compile(Username),
  name: compile(PersonName),
  email: compile(Email),
  phone: compile(Phone),
  callDetailLevel: compile(UserCreate.properties.call_detail_level),
  status: compile(User.properties.status),
  roles: compile(UserCreate.properties.roles),
  role: compile(UserCreate.properties.roles.items),
  billingGroups: compile(access.properties.billing_groups),
  billingGroup: compile(access.properties.billing_groups.items),
  groups: compile(access.properties.group_owners),
  group: compile(access.properties.group_owners.items),
};
// Phone's pattern as a probe: exactly ten digits among the value's other characters would pass, so only the count is wrong.
const PHONE = new RegExp(Phone.pattern!, 'u');
const characters = (s: string) => [...s].length;
const show = quoteValue;

/** Each rule returns the reason the value is wrong, or null. */
const rules = {
  user_id: (v: string) => (isUuid(v) ? null : `${show(v)} is not a UUID (like 627b4c86-1ff1-4ca7-8827-95c214666636)`),
  username(v: string): string | null {
    if (check.username(v)) return null;
    const max = Username.maxLength!;
    if (failedOn(check.username, 'minLength')) return `is empty; give ${Username.minLength} to ${max} characters`;
    if (failedOn(check.username, 'maxLength'))
      return `${show(v)} has ${characters(v)} characters; at most ${max} are allowed`;
    const invisible = findInvisible(v);
    if (invisible)
      return `${show(v)} holds ${invisible}, a control, format (invisible) or line-separator character; remove it`;
    if (v.includes('/')) return `${show(v)} holds "/", which a username may not contain`;
    if (/^\s|\s$/.test(v)) return `${show(v)} starts or ends with a space; remove it`;
    return `${show(v)} is not allowed: a username is ${Username.description}`;
  },
  name(v: string): string | null {
    if (check.name(v)) return null;
    const max = PersonName.maxLength!;
    if (v.trim() === '') return `${show(v)} is empty; give ${PersonName.minLength} to ${max} characters`;
    if (failedOn(check.name, 'maxLength'))
      return `${show(v)} has ${characters(v)} characters; at most ${max} are allowed`;
    const invisible = findInvisible(v);
    if (invisible)
      return `${show(v)} holds ${invisible}, a control, format (invisible) or line-separator character; remove it`;
    return `${show(v)} is not allowed: a name is ${PersonName.description}`;
  },
  // An empty email means the user has none (an export writes it so).
  email: (v: string) =>
    v === '' || check.email(v)
      ? null
      : `${show(v)} is not an email address (like name@example.com); leave it empty when unknown`,
  phone(v: string): string | null {
    if (check.phone(v)) return null;
    if (failedOn(check.phone, 'maxLength') || !PHONE.test(`${v.replace(/[0-9]/g, '')}0123456789`))
      return `${show(v)} may hold only digits and the separators space - . ( )`;
    return `${show(v)} has ${v.replace(/[^0-9]/g, '').length} digits; a phone number has exactly 10 (like 705-722-4398), or leave it empty`;
  },
} as const;

const oneOf = (list: readonly string[]) => list.map(quoteValue).join(', ');

function checkEnum<T extends string>(
  valid: Check,
  list: readonly T[],
  value: string,
  what: string,
): { value?: T; reason?: string } {
  return valid(value) ? { value: value as T } : { reason: `${show(value)} is not ${what}; use one of ${oneOf(list)}` };
}

function checkTimestamp(value: string): { value?: string; reason?: string } {
  const stored = parseTimestamp(value);
  return stored === null
    ? {
        reason: `${show(value)} is not a UTC timestamp like 2016-03-03T16:13:59.1917141 (or RFC 3339 with Z or an offset)`,
      }
    : { value: stored };
}

/** The first item that repeats an earlier one. */
const repeated = (items: readonly string[]) => items.find((item, i) => items.indexOf(item) !== i);

function checkRoles(items: readonly string[]): { value?: Role[]; reason?: string } {
  if (check.roles(items)) return { value: items as Role[] };
  if (failedOn(check.roles, 'minItems')) return { reason: `needs at least one role: ${oneOf(ROLES)}` };
  const unknown = items.filter((r) => !check.role(r));
  if (unknown.length > 0)
    return {
      reason: `${oneOf(unknown)} ${unknown.length === 1 ? 'is not a role' : 'are not roles'}; roles are ${oneOf(ROLES)}`,
    };
  return { reason: `names ${show(repeated(items) ?? '')} twice; list each role once` };
}

function checkIds(
  items: readonly string[],
  list: Check,
  item: Check,
  what: string,
): { value?: string[]; reason?: string } {
  if (list(items)) return { value: [...items] };
  const bad = items.filter((id) => !item(id));
  if (bad.length > 0)
    return {
      reason: `${oneOf(bad)} ${bad.length === 1 ? 'is not a' : 'are not'} ${what} id${bad.length === 1 ? '' : 's'} (positive whole numbers like 1234)`,
    };
  return { reason: `names ${what} ${show(repeated(items) ?? '')} twice; list each once` };
}

/**
 * Checks one field's value (already a string, boolean or list of strings) and
 * stores it in `input`, or records why it is wrong.
 */
export function acceptField(
  input: UserInput,
  problems: FieldProblem[],
  field: keyof UserInput,
  value: string | boolean | null | readonly string[],
): void {
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
      r = checkEnum(check.callDetailLevel, CALL_DETAIL_LEVELS, value as string, 'a call detail level');
      break;
    case 'status':
      r = checkEnum(check.status, STATUSES, value as string, 'a status');
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
      r = checkIds(value as string[], check.billingGroups, check.billingGroup, 'billing group');
      break;
    case 'group_owners':
      r = checkIds(value as string[], check.groups, check.group, 'group');
      break;
  }
  if (r.reason !== undefined) problems.push({ field, reason: r.reason });
  else (input as Record<string, unknown>)[field] = r.value;
}
