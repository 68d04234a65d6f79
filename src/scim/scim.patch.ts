import { filter as matcher, parse, type Filter } from 'scim2-parse-filter';
import { keyOf, splitPath } from './scim.attributes.js';
import { scimBadRequest } from './scim.errors.js';
import { member, type ScimResource } from './scim.mapper.js';
import { URN, type ScimBody } from './scim.schemas.js';

// PATCH (RFC 7644 §3.5.2) applied to a resource as a plain object: the result is then read back like a PUT
// body (scim.mapper.ts), so a PATCH obeys every rule a PUT does. Nothing is stored until the whole PATCH applied.

export type PatchOpName = 'add' | 'replace' | 'remove';

export interface PatchOperation {
  readonly op: PatchOpName;
  readonly path?: string | undefined;
  readonly value?: unknown;
}

/** The attributes a resource may be patched on; `ignored` ones are accepted and dropped (Roster does not keep them). */
export interface PatchTargets {
  readonly kept: readonly string[];
  readonly ignored: readonly string[];
}

/** The User attributes Roster keeps, and the core/enterprise ones identity providers send that it does not. */
export const USER_TARGETS: PatchTargets = {
  kept: [
    'id',
    'schemas',
    'meta',
    'userName',
    'name',
    'displayName',
    'emails',
    'phoneNumbers',
    'active',
    'roles',
    'externalId',
    URN.roster,
  ],
  ignored: [
    'password',
    'title',
    'preferredLanguage',
    'locale',
    'timezone',
    'nickName',
    'profileUrl',
    'userType',
    'addresses',
    'ims',
    'photos',
    'entitlements',
    'x509Certificates',
    'groups',
    URN.enterprise,
    // The enterprise extension's attributes as Entra ID's older jobs send them, without the URN.
    'employeeNumber',
    'costCenter',
    'organization',
    'division',
    'department',
    'manager',
  ],
};

/** The Operations of a PatchOp body; 400 invalidSyntax when it has none or an op is not add, replace or remove. */
export function readOperations(body: ScimBody): PatchOperation[] {
  const operations = member(body, 'Operations');
  if (!Array.isArray(operations) || operations.length === 0)
    throw scimBadRequest(
      'invalidSyntax',
      `The body must be a PatchOp (${URN.patch}) with a non-empty "Operations" array.`,
    );
  return operations.map((operation, i) => {
    const op = member(operation, 'op');
    const name = typeof op === 'string' ? op.toLowerCase() : '';
    if (name !== 'add' && name !== 'replace' && name !== 'remove')
      throw scimBadRequest(
        'invalidSyntax',
        `Operations[${i}].op is ${JSON.stringify(op)}; use add, replace or remove.`,
      );
    const path = member(operation, 'path');
    if (path !== undefined && path !== null && typeof path !== 'string')
      throw scimBadRequest('invalidPath', `Operations[${i}].path must be a string; got ${JSON.stringify(path)}.`);
    return {
      op: name,
      path: typeof path === 'string' && path !== '' ? path : undefined,
      value: member(operation, 'value'),
    };
  });
}

interface PatchPath {
  readonly top: string;
  readonly filter?: Filter | undefined;
  readonly sub?: string | undefined;
}

function parsePatchPath(path: string): PatchPath {
  const open = path.indexOf('[');
  if (open < 0) return splitPath(path);
  const close = path.lastIndexOf(']');
  const after = path.slice(close + 1);
  if (close < open || (after !== '' && !/^\.[A-Za-z$][\w$-]*$/.test(after)))
    throw scimBadRequest(
      'invalidPath',
      `The path ${JSON.stringify(path)} is not attribute[filter] or attribute[filter].subAttribute.`,
    );
  let parsed: Filter;
  try {
    parsed = parse(path.slice(open + 1, close));
  } catch {
    throw scimBadRequest(
      'invalidPath',
      `The filter in path ${JSON.stringify(path)} is not valid; write e.g. emails[type eq "work"].value.`,
    );
  }
  return { top: splitPath(path.slice(0, open)).top, filter: parsed, sub: after === '' ? undefined : after.slice(1) };
}

/** The attribute/value pairs an `eq` filter fixes (`type eq "work"` → { type: "work" }): a new element's start. */
function seed(filter: Filter): Record<string, unknown> {
  if (filter.op === 'eq') return { [filter.attrPath]: filter.compValue };
  if (filter.op === 'and') return Object.assign({}, ...filter.filters.map(seed)) as Record<string, unknown>;
  return {};
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function setMember(object: Record<string, unknown>, name: string, value: unknown): void {
  object[keyOf(object, name) ?? name] = value;
}

function removeMember(object: Record<string, unknown>, name: string): void {
  const key = keyOf(object, name);
  if (key !== undefined) delete object[key];
}

/** Adds values to a multi-valued attribute: an element of the same `type` (emails, phones) or `value` is replaced. */
function addValues(current: unknown[], values: unknown[]): unknown[] {
  const next = [...current];
  for (const value of values) {
    const type = member(value, 'type');
    const same = next.findIndex((e) =>
      type !== undefined
        ? member(e, 'type') === type
        : member(e, 'value') === member(value, 'value') && member(value, 'value') !== undefined,
    );
    if (same >= 0) next[same] = value;
    else next.push(value);
  }
  return next;
}

function applyToFiltered(resource: ScimResource, key: string, path: PatchPath, operation: PatchOperation): void {
  const current = resource[key] ?? [];
  if (!Array.isArray(current))
    throw scimBadRequest('invalidPath', `The path names "${key}" with a filter, but "${key}" is not multi-valued.`);
  const test = matcher(path.filter!);
  let list = current.map((e: unknown) => (isObject(e) ? { ...e } : e));
  const matches = list.filter((e) => isObject(e) && test(e)) as Array<Record<string, unknown>>;
  if (operation.op === 'remove') {
    if (path.sub === undefined) list = list.filter((e) => !matches.includes(e as Record<string, unknown>));
    else for (const m of matches) removeMember(m, path.sub);
  } else {
    // add and replace alike create the element when none matches (Entra sends either for a first work email).
    if (matches.length === 0) {
      const created = seed(path.filter!);
      list.push(created);
      matches.push(created);
    }
    for (const m of matches) {
      if (path.sub !== undefined) setMember(m, path.sub, operation.value);
      else if (isObject(operation.value)) Object.assign(m, operation.value);
      else throw scimBadRequest('invalidValue', `The value for ${key}[…] must be an object of sub-attributes.`);
    }
  }
  resource[key] = list;
}

function applyOne(resource: ScimResource, targets: PatchTargets, operation: PatchOperation, path: string): void {
  const parsed = parsePatchPath(path);
  const lowerTop = parsed.top.toLowerCase();
  if (targets.ignored.some((name) => name.toLowerCase() === lowerTop)) return;
  const known = targets.kept.find((name) => name.toLowerCase() === lowerTop);
  if (!known)
    throw scimBadRequest('invalidPath', `The path ${JSON.stringify(path)} names no attribute of this resource.`);
  if (known === 'id' || known === 'meta' || known === 'schemas') {
    if (operation.op === 'remove' || (known === 'id' && operation.value !== resource.id))
      throw scimBadRequest(
        'mutability',
        `Attribute "${known}" is read-only: it cannot be ${operation.op === 'remove' ? 'removed' : 'changed'}.`,
      );
    return;
  }
  const key = keyOf(resource, known) ?? known;
  if (parsed.filter) return applyToFiltered(resource, key, parsed, operation);
  const current = resource[key];
  if (parsed.sub !== undefined) {
    if (Array.isArray(current)) {
      resource[key] = current.map((e: unknown) => {
        const copy = isObject(e) ? { ...e } : {};
        if (operation.op === 'remove') removeMember(copy, parsed.sub!);
        else setMember(copy, parsed.sub!, operation.value);
        return copy;
      });
      return;
    }
    const copy = isObject(current) ? { ...current } : {};
    if (operation.op === 'remove') removeMember(copy, parsed.sub);
    else setMember(copy, parsed.sub, operation.value);
    resource[key] = copy;
    return;
  }
  if (operation.op === 'remove') delete resource[key];
  else if (operation.op === 'add' && Array.isArray(current))
    resource[key] = addValues(current, Array.isArray(operation.value) ? operation.value : [operation.value]);
  else if (isObject(current) && isObject(operation.value)) resource[key] = { ...current, ...operation.value };
  else resource[key] = operation.value;
}

/**
 * Applies the operations in order to a copy of the resource. A path-less add
 * or replace names attributes in its value (also `name.givenName` or an
 * extension URN, as Entra ID sends), each merged as if it were a path.
 */
export function applyPatch(
  resource: ScimResource,
  operations: readonly PatchOperation[],
  targets: PatchTargets,
): ScimResource {
  const next = structuredClone(resource);
  for (const operation of operations) {
    if (operation.path !== undefined) {
      applyOne(next, targets, operation, operation.path);
      continue;
    }
    if (operation.op === 'remove')
      throw scimBadRequest('noTarget', 'A remove operation needs a "path" naming what to remove.');
    if (!isObject(operation.value))
      throw scimBadRequest(
        'invalidValue',
        `An ${operation.op} without a "path" needs an object "value" of attributes.`,
      );
    for (const [name, value] of Object.entries(operation.value)) applyOne(next, targets, { ...operation, value }, name);
  }
  return next;
}
