import { Ajv } from 'ajv';
import type { UserRow } from '../db/tables.js';
import { splitList, userEtag } from '../users/user.mapper.js';
import type { ProvisionedUser } from '../users/user.scim.service.js';
import {
  CALL_DETAIL_LEVELS,
  Email,
  PersonName,
  ROLES,
  Username,
  type CallDetailLevel,
  type Role,
} from '../users/user.schemas.js';
import { scimBadRequest } from './scim.errors.js';
import { URN, type ScimBody } from './scim.schemas.js';

// The one mapping between a Roster user and a SCIM User (docs/scim.md, "User mapping").

export type ScimResource = Record<string, unknown>;

/** How a body is read: a new user, a PUT (omitted roles and extension kept) or a PATCH result (omitted means removed). */
export type ReadMode = 'create' | 'replace' | 'patch';

// The API's own field rules, compiled as Fastify compiles them (Unicode patterns, lengths in code points).
const ajv = new Ajv({ allErrors: true });
const valid = { username: ajv.compile(Username), name: ajv.compile(PersonName), email: ajv.compile(Email) };
const STORED_ID = /^[1-9][0-9]{0,14}$/;
const show = (value: unknown) => JSON.stringify(value);

/** A member of a SCIM object by name, case-insensitively (RFC 7643 §2.1: attribute names are case-insensitive). */
export function member(object: unknown, name: string): unknown {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) return undefined;
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(object)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

/** A boolean, or the strings Entra ID sends ("True", "False"). */
function readBoolean(value: unknown, attribute: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  throw scimBadRequest('invalidValue', `Attribute "${attribute}" must be true or false; got ${show(value)}.`);
}

const CONTROL = /\p{Cc}/u;
// No attribute Roster keeps is longer (names 256, emails 254, userName 128): a bound for the ones without a rule.
const MAX_TEXT = 256;

/** A string attribute: no control characters (PostgreSQL cannot store NUL) and at most 256 characters. */
function readString(value: unknown, attribute: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw scimBadRequest('invalidValue', `Attribute "${attribute}" must be a string; got ${show(value)}.`);
  if (CONTROL.test(value))
    throw scimBadRequest(
      'invalidValue',
      `Attribute "${attribute}" ${show(value)} holds a control character; remove it.`,
    );
  if ([...value].length > MAX_TEXT)
    throw scimBadRequest('invalidValue', `Attribute "${attribute}" is longer than ${MAX_TEXT} characters; shorten it.`);
  return value;
}

function readList(value: unknown, attribute: string): unknown[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value))
    throw scimBadRequest('invalidValue', `Attribute "${attribute}" must be an array; got ${show(value)}.`);
  return value as unknown[];
}

/**
 * A phone number in Roster's form (`705-722-4398`): ten digits, or eleven
 * starting with the North American country code 1 (`+1 705 722 4398`), among
 * spaces, dots, dashes and parentheses. Anything else is a 400 naming it.
 */
function normalizePhone(value: string): string {
  const digits = value.replace(/[\s().-]/g, '').replace(/^\+?1(?=\d{10}$)/, '');
  if (!/^\d{10}$/.test(digits))
    throw scimBadRequest(
      'invalidValue',
      `Attribute "phoneNumbers[type eq "work"].value" ${show(value)} is not a North American number: send ten digits, optionally after +1, such as +1 705 722 4398 or (705) 722-4398.`,
    );
  return `${digits.slice(0, 3)}-${digits.slice(3, 6)}-${digits.slice(6)}`;
}

/** The element of a multi-valued attribute Roster keeps: the primary one, else the one of `type`, else an untyped one. */
function pick(list: unknown[] | undefined, type: string): unknown {
  if (!list) return undefined;
  const primary = list.find(
    (e) => member(e, 'primary') === true || member(e, 'primary') === 'True' || member(e, 'primary') === 'true',
  );
  return primary ?? list.find((e) => member(e, 'type') === type) ?? list.find((e) => member(e, 'type') === undefined);
}

function readRoles(value: unknown): Role[] {
  const roles: Role[] = [];
  for (const item of readList(value, 'roles') ?? []) {
    const raw = typeof item === 'string' ? item : member(item, 'value');
    const role = typeof raw === 'string' ? ROLES.find((r) => r === raw.toLowerCase()) : undefined;
    if (!role)
      throw scimBadRequest(
        'invalidValue',
        `Attribute "roles" holds ${show(raw)}, which is not a Roster role; use one of ${ROLES.join(', ')}.`,
      );
    if (!roles.includes(role)) roles.push(role);
  }
  return roles;
}

function readIds(value: unknown, attribute: string): string[] | undefined {
  const list = readList(value, `${URN.roster}:${attribute}`);
  if (!list) return undefined;
  const ids = list.map((v) => String(typeof v === 'object' ? member(v, 'value') : v));
  const bad = ids.find((id) => !STORED_ID.test(id));
  if (bad !== undefined)
    throw scimBadRequest(
      'invalidValue',
      `Attribute "${URN.roster}:${attribute}" holds ${show(bad)}; ids are digits such as "1234".`,
    );
  return [...new Set(ids)];
}

/** The name Roster keeps: `formatted` when sent, else "given family" when those changed, else `displayName`. */
function resolveName(body: ScimBody, before: UserRow | undefined, mode: ReadMode, userName: string) {
  const name = member(body, 'name');
  const given = readString(member(name, 'givenName'), 'name.givenName') ?? '';
  const family = readString(member(name, 'familyName'), 'name.familyName') ?? '';
  let formatted = readString(member(name, 'formatted'), 'name.formatted');
  let display = readString(member(body, 'displayName'), 'displayName');
  // A PATCH result carries the stored name in both: only a changed one was sent.
  if (mode === 'patch' && before) {
    if (formatted === before.name) formatted = undefined;
    if (display === before.name) display = undefined;
  }
  const partsChanged = given !== (before?.given_name ?? '') || family !== (before?.family_name ?? '');
  const full = `${given} ${family}`.trim();
  const chosen = formatted || (partsChanged && full) || display || (before ? before.name : full || userName);
  if (!valid.name(chosen))
    throw scimBadRequest(
      'invalidValue',
      `Attribute "displayName" (or name.formatted) ${show(chosen)} must be 1–256 characters, not blank, without control characters.`,
    );
  return { name: chosen, given, family };
}

/** Reads a SCIM User body (POST, PUT, or a PATCH applied to the stored resource) as the user Roster stores. */
export function resourceToUser(body: ScimBody, before: UserRow | undefined, mode: ReadMode): ProvisionedUser {
  const id = member(body, 'id');
  if (before && id !== undefined && (typeof id !== 'string' || id.toLowerCase() !== before.user_id))
    throw scimBadRequest(
      'mutability',
      `Attribute "id" is read-only: send ${show(before.user_id)} or leave it out; got ${show(id)}.`,
    );
  const userName = readString(member(body, 'userName'), 'userName');
  if (userName === undefined || userName === '')
    throw scimBadRequest('invalidValue', 'Attribute "userName" is required: send the user\'s unique login name.');
  if (!valid.username(userName))
    throw scimBadRequest(
      'invalidValue',
      `Attribute "userName" ${show(userName)} must be 1–128 characters without control characters or "/", no leading or trailing space, not "." or "..".`,
    );
  const { name, given, family } = resolveName(body, before, mode, userName);

  const email =
    readString(member(pick(readList(member(body, 'emails'), 'emails'), 'work'), 'value'), 'emails.value') ?? '';
  if (email !== '' && !valid.email(email))
    throw scimBadRequest(
      'invalidValue',
      `Attribute "emails[type eq "work"].value" ${show(email)} must be a valid email address such as name@example.com.`,
    );
  const phones = readList(member(body, 'phoneNumbers'), 'phoneNumbers');
  const phoneText = readString(
    member(
      pick(
        phones?.filter((p) => [undefined, 'work'].includes(member(p, 'type') as string)),
        'work',
      ),
      'value',
    ),
    'phoneNumbers.value',
  );
  const phone = phoneText ? normalizePhone(phoneText) : '';

  const rolesValue = member(body, 'roles');
  const roles =
    rolesValue === undefined && mode === 'replace' && before
      ? (splitList(before.roles) as Role[])
      : readRoles(rolesValue);

  const extension = member(body, URN.roster);
  const keep = mode === 'replace' && before !== undefined;
  const level = readString(member(extension, 'callDetailLevel'), `${URN.roster}:callDetailLevel`);
  if (level !== undefined && !(CALL_DETAIL_LEVELS as readonly string[]).includes(level))
    throw scimBadRequest(
      'invalidValue',
      `Attribute "${URN.roster}:callDetailLevel" ${show(level)} must be one of ${CALL_DETAIL_LEVELS.join(', ')}.`,
    );
  const restrict = member(extension, 'restrictRecordingDownload');
  const billingGroups = readIds(member(extension, 'billingGroups'), 'billingGroups');
  const groupOwners = readIds(member(extension, 'groupOwners'), 'groupOwners');
  const activeValue = member(body, 'active');
  const externalId = member(body, 'externalId');

  return {
    fields: {
      username: userName,
      name,
      email,
      phone,
      // A new user's default: call details in full (what they may see is still limited by their roles).
      call_detail_level: (level ?? before?.call_detail_level ?? 'full') as CallDetailLevel,
      restrict_recording_download:
        restrict !== undefined && restrict !== null
          ? readBoolean(restrict, `${URN.roster}:restrictRecordingDownload`)
          : keep || mode === 'patch'
            ? before?.restrict_recording_download === 1
            : false,
      last_login_date: before?.last_login_date ?? null,
      roles,
      access: {
        billing_groups: billingGroups ?? (keep ? splitList(before.billing_groups) : []),
        group_owners: groupOwners ?? (keep ? splitList(before.group_owners) : []),
      },
    },
    profile: {
      externalId: readString(externalId, 'externalId') ?? null,
      givenName: given,
      familyName: family,
    },
    active: activeValue === undefined || activeValue === null ? undefined : readBoolean(activeValue, 'active'),
  };
}

/** A stored timestamp as xsd:dateTime in UTC, all 7 fraction digits kept (so `gt` a user's own value excludes it). */
const scimTime = (stored: string) => `${stored}Z`;

/** The SCIM User of a row; `base` is the absolute URL of /scim/v2. */
export function userRowToResource(row: UserRow, base: string): ScimResource {
  const roles = splitList(row.roles);
  return {
    schemas: [URN.user, URN.roster],
    id: row.user_id,
    ...(row.external_id !== null ? { externalId: row.external_id } : {}),
    userName: row.username,
    name: {
      formatted: row.name,
      ...(row.given_name !== '' ? { givenName: row.given_name } : {}),
      ...(row.family_name !== '' ? { familyName: row.family_name } : {}),
    },
    displayName: row.name,
    ...(row.email !== '' ? { emails: [{ value: row.email, type: 'work', primary: true }] } : {}),
    ...(row.phone !== '' ? { phoneNumbers: [{ value: row.phone, type: 'work' }] } : {}),
    active: row.status === 'activated',
    ...(roles.length > 0 ? { roles: roles.map((r) => ({ value: r, display: r })) } : {}),
    ...(roles.length > 0
      ? { groups: roles.map((r) => ({ value: r, display: r, $ref: `${base}/Groups/${r}`, type: 'direct' })) }
      : {}),
    [URN.roster]: {
      callDetailLevel: row.call_detail_level,
      restrictRecordingDownload: row.restrict_recording_download === 1,
      billingGroups: splitList(row.billing_groups),
      groupOwners: splitList(row.group_owners),
      status: row.status,
    },
    meta: {
      resourceType: 'User',
      created: scimTime(row.created_at),
      lastModified: scimTime(row.last_updated_date),
      version: userEtag(row),
      location: `${base}/Users/${row.user_id}`,
    },
  };
}
