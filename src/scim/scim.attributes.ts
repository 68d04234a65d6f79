import { URN } from './scim.schemas.js';

// Attribute paths (RFC 7644 §3.10) as `attributes`, `excludedAttributes`, PATCH paths and filters name them.

/** A path split into the resource member it names and, if any, the sub-attribute within it. */
export interface AttributePath {
  /** A top-level member (`userName`, `name`, `emails`) or an extension's URN; as sent (matched case-insensitively). */
  readonly top: string;
  readonly sub?: string | undefined;
}

const CORE_PREFIXES = [`${URN.user}:`, `${URN.group}:`].map((p) => p.toLowerCase());

/** Splits `name.givenName`, `urn:…:core:2.0:User:userName` or `urn:roster:…:User:callDetailLevel`. */
export function splitPath(path: string): AttributePath {
  const lower = path.toLowerCase();
  for (const urn of [URN.roster, URN.enterprise]) {
    if (lower === urn.toLowerCase()) return { top: urn };
    if (lower.startsWith(`${urn.toLowerCase()}:`)) return { top: urn, sub: path.slice(urn.length + 1) };
  }
  const core = CORE_PREFIXES.find((p) => lower.startsWith(p));
  const rest = core ? path.slice(core.length) : path;
  const dot = rest.indexOf('.');
  return dot < 0 ? { top: rest } : { top: rest.slice(0, dot), sub: rest.slice(dot + 1) };
}

/** The key of `object` that a name denotes, case-insensitively. */
export function keyOf(object: Record<string, unknown>, name: string): string | undefined {
  const lower = name.toLowerCase();
  return Object.keys(object).find((k) => k.toLowerCase() === lower);
}

const listOf = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

function keepSub(value: unknown, sub: string, into: unknown): unknown {
  if (Array.isArray(value))
    return value.map((element, i) => keepSub(element, sub, Array.isArray(into) ? into[i] : undefined));
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  const key = keyOf(record, sub);
  const base = typeof into === 'object' && into !== null ? (into as Record<string, unknown>) : {};
  return key === undefined ? base : { ...base, [key]: record[key] };
}

function dropSub(value: unknown, sub: string): unknown {
  if (Array.isArray(value)) return value.map((element) => dropSub(element, sub));
  if (typeof value !== 'object' || value === null) return value;
  const record = { ...(value as Record<string, unknown>) };
  const key = keyOf(record, sub);
  if (key !== undefined) delete record[key];
  return record;
}

/**
 * Applies `attributes` / `excludedAttributes` (comma lists) to a resource:
 * `schemas` and `id` are always returned; member order is the resource's.
 */
export function projectResource(
  resource: Record<string, unknown>,
  attributes: string | undefined,
  excluded: string | undefined,
): Record<string, unknown> {
  const wanted = listOf(attributes);
  if (wanted.length > 0) {
    const picked: Record<string, unknown> = {};
    for (const path of wanted.map(splitPath)) {
      const key = keyOf(resource, path.top);
      if (key === undefined) continue;
      picked[key] = path.sub === undefined ? resource[key] : keepSub(resource[key], path.sub, picked[key]);
    }
    return Object.fromEntries(
      Object.entries(resource).flatMap(([key, value]): Array<[string, unknown]> => {
        if (key === 'schemas' || key === 'id') return [[key, value]];
        return key in picked ? [[key, picked[key]]] : [];
      }),
    );
  }
  const out = { ...resource };
  for (const path of listOf(excluded).map(splitPath)) {
    const key = keyOf(out, path.top);
    if (key === undefined || key === 'schemas' || key === 'id') continue;
    if (path.sub === undefined) delete out[key];
    else out[key] = dropSub(out[key], path.sub);
  }
  return out;
}
