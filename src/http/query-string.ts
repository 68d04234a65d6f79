import { invalidFields } from '../errors.js';
import { quoteValue } from '../shared/text.js';

/**
 * The query-string parser of the whole API. Parameter names match
 * case-insensitively (`pagesize`, `pageSize` and `PageSize` are one), so names
 * are lower-cased here; a name given more than once yields an array.
 * Empty values are kept as '' so that routes can treat them as absent.
 */
export function parseQueryString(query: string): Record<string, string | string[]> {
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [rawName, value] of new URLSearchParams(query)) {
    const name = rawName.toLowerCase();
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  return out;
}

/** Returns the values of a parameter as a list, dropping empty ones (an empty value is the same as none). */
function valuesOf(value: unknown): string[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.filter((v): v is string => typeof v === 'string' && v !== '');
}

/** How a route's parameters are shaped before schema validation. */
interface QueryShape {
  /** Parameters that may repeat (OR): always become arrays. */
  readonly multi?: readonly string[];
  /**
   * Integer parameters: a plain run of digits (optionally negative, so that the schema's minimum names the
   * problem) becomes a number; anything else is left for the schema to reject.
   */
  readonly integer?: readonly string[];
  /**
   * Integer parameters whose values past their cap are served at the cap (`pagesize`): a run of digits past
   * 2^53 becomes Number.MAX_SAFE_INTEGER. Any other run past 2^53 is left as sent, so the 400 names it.
   */
  readonly saturating?: readonly string[];
  /** Enumerated parameters compared case-insensitively: lower-cased. */
  readonly lower?: readonly string[];
  /** Other single-valued parameters (a repeat is an error). */
  readonly single?: readonly string[];
  /** Repeatable parameters whose distinct values, all together, may number at most `max` (each is one more term to test). */
  readonly budget?: { readonly names: readonly string[]; readonly max: number };
}

/**
 * A run of decimal digits as a number. Past 2^53 a number is no longer the value sent (a 400 would quote
 * 9007199254740991 for 12345678901234567890): the digits stay a string, which the schema refuses naming
 * them, unless the parameter saturates (still too large for every cap, still an integer).
 */
function toInteger(digits: string, saturating: boolean): number | string {
  const n = Number(digits);
  if (Number.isSafeInteger(n)) return n;
  return saturating && n > 0 ? Number.MAX_SAFE_INTEGER : digits;
}

/**
 * Shapes a parsed query in place per `shape`: empty values dropped, repeats as arrays, digits as numbers;
 * a 400 for a value no schema should see (NUL, which no backend stores, or a repeated single-valued parameter).
 * A name the shape does not list is left as sent, even empty, for the schema to reject as unknown: list
 * every parameter a route accepts.
 */
export function shapeQuery(query: Record<string, unknown>, shape: QueryShape): void {
  for (const name of Object.keys(query)) {
    const raw = query[name];
    const list = valuesOf(raw);
    const nul = list.find((v) => v.includes('\u0000'));
    if (nul !== undefined)
      throw invalidFields([
        { parameter: name, message: `must not contain the NUL character (U+0000) (got ${quoteValue(nul)})` },
      ]);
    const known =
      shape.multi?.includes(name) ||
      shape.integer?.includes(name) ||
      shape.lower?.includes(name) ||
      shape.single?.includes(name);
    if (!known) continue;
    const lower = shape.lower?.includes(name) ? list.map((v) => v.toLowerCase()) : list;
    if (shape.multi?.includes(name)) {
      // A repeated value matches nothing more: dropped here, so that only distinct values count against the caps.
      if (lower.length === 0) delete query[name];
      else query[name] = [...new Set(lower)];
      continue;
    }
    if (lower.length === 0) {
      delete query[name];
      continue;
    }
    if (lower.length > 1)
      throw invalidFields([
        { parameter: name, message: `was given more than once; give it once (got ${list.map(quoteValue).join(', ')})` },
      ]);
    const single = lower.length === 1 ? lower[0]! : lower;
    query[name] =
      shape.integer?.includes(name) && typeof single === 'string' && /^-?[0-9]+$/.test(single)
        ? toInteger(single, shape.saturating?.includes(name) ?? false)
        : single;
  }
  if (shape.budget) checkBudget(query, shape.budget);
}

/** A 400 naming the parameters when their distinct values together exceed the budget. */
function checkBudget(query: Record<string, unknown>, budget: NonNullable<QueryShape['budget']>): void {
  const given = budget.names.filter((name) => Array.isArray(query[name]));
  const count = given.reduce((n, name) => n + (query[name] as unknown[]).length, 0);
  if (count <= budget.max) return;
  throw invalidFields(
    given.map((parameter) => ({
      parameter,
      message: `was given ${(query[parameter] as unknown[]).length} distinct value(s); ${budget.names.join(' and ')} together take at most ${budget.max}: search for fewer values`,
    })),
  );
}
