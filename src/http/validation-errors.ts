import type { FastifySchemaValidationError } from 'fastify';
import { AppError, describeProblemItem, type ProblemItem } from '../errors.js';
import { findInvisible, quoteValue } from '../shared/text.js';

/** Where a value came from: 'body', 'querystring', 'params', 'headers' (Fastify's validation context). */
type Context = string;

function acceptedNames(error: FastifySchemaValidationError): string {
  const props = (error as { parentSchema?: { properties?: Record<string, unknown> } }).parentSchema?.properties;
  return props ? Object.keys(props).join(', ') : '';
}

function describe(error: FastifySchemaValidationError, context: Context): { key: string; message: string } {
  const params = error.params;
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const what = context === 'querystring' ? 'parameter' : 'field';
      const accepted = acceptedNames(error);
      return {
        key: [...path, name].join('/'),
        message: `is not a known ${what}${accepted ? `; accepted: ${accepted}` : ''}`,
      };
    }
    case 'required':
      return { key: [...path, String(params.missingProperty)].join('/'), message: 'is required' };
    case 'enum':
      return { key: path.join('/'), message: `must be one of: ${(params.allowedValues as unknown[]).join(', ')}` };
    case 'type': {
      const type = String(params.type);
      const article = /^[aeiou]/.test(type) ? 'an' : 'a';
      // Say the whole accepted range ("an integer ≥ 1"), not just the type: `pagesize=abc` should learn both.
      const bounds = (error as { parentSchema?: { minimum?: number; maximum?: number } }).parentSchema ?? {};
      const range = [
        bounds.minimum !== undefined ? `≥ ${bounds.minimum}` : '',
        bounds.maximum !== undefined ? `≤ ${bounds.maximum}` : '',
      ]
        .filter(Boolean)
        .join(' and ');
      return {
        key: path.join('/'),
        message: `must be ${type.includes(',') ? `one of the types ${type}` : `${article} ${type}`}${range ? ` ${range}` : ''}`,
      };
    }
    case 'minimum':
    case 'maximum':
      return {
        key: path.join('/'),
        message: `must be ${error.keyword === 'minimum' ? '≥' : '≤'} ${String(params.limit)}`,
      };
    case 'minLength':
      return { key: path.join('/'), message: `must be at least ${String(params.limit)} character(s) long` };
    case 'maxLength':
      return { key: path.join('/'), message: `must be at most ${String(params.limit)} characters long` };
    case 'minItems':
      return { key: path.join('/'), message: `must hold at least ${String(params.limit)} item(s)` };
    case 'maxItems':
      return {
        key: path.join('/'),
        message:
          context === 'querystring'
            ? `takes at most ${String(params.limit)} distinct values; send fewer (each is one more test of every row)`
            : `must hold at most ${String(params.limit)} items`,
      };
    case 'uniqueItems': {
      // Name the repeated item, not the whole list.
      const list = (error as { data?: unknown }).data;
      const repeated: unknown = Array.isArray(list) ? list[Number(params.j)] : undefined;
      return {
        key: path.join('/'),
        message: `must not hold the same value twice${repeated === undefined ? '' : ` (got ${quoteValue(repeated)} twice)`}`,
      };
    }
    case 'format':
      return { key: path.join('/'), message: `must be a valid ${String(params.format)}` };
    case 'pattern': {
      const description = (error as { parentSchema?: { description?: string } }).parentSchema?.description;
      // An invisible character is named by its code point: the client could not see it in the value.
      const value = (error as { data?: unknown }).data; // Ajv's verbose mode (AJV_OPTIONS) keeps the value
      const invisible = typeof value === 'string' ? findInvisible(value) : undefined;
      return {
        key: path.join('/'),
        message:
          (description ? `must be ${description}` : `must match ${String(params.pattern)}`) +
          (invisible ? `; it holds ${invisible}: remove it` : ''),
      };
    }
    default:
      return { key: path.join('/'), message: error.message ?? 'is invalid' };
  }
}

/** Errors about a key (missing, unknown) rather than a value sent, and uniqueItems, which names its repeated item itself. */
const NO_VALUE = new Set(['required', 'additionalProperties', 'uniqueItems']);

/** What is wrong, and the value that was sent next to it (Ajv's `verbose` gives it as `data`): `must be one of: … (got "wizard")`. */
function describeWithValue(error: FastifySchemaValidationError, context: Context): { key: string; message: string } {
  const described = describe(error, context);
  if (NO_VALUE.has(error.keyword) || !('data' in error)) return described;
  return { key: described.key, message: `${described.message} (got ${quoteValue(error.data)})` };
}

const contextName: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

/** Turns Ajv's errors into one 400 AppError whose items name each parameter or body pointer and what it accepts. */
export function validationProblem(errors: FastifySchemaValidationError[], context: Context): AppError {
  const seen = new Set<string>();
  const items: ProblemItem[] = [];
  for (const error of errors) {
    // anyOf/oneOf wrappers repeat what their branches already said.
    if (error.keyword === 'anyOf' || error.keyword === 'oneOf' || error.keyword === 'if') continue;
    const { key, message } = describeWithValue(error, context);
    const item: ProblemItem =
      context === 'body'
        ? { pointer: key === '' ? '' : `/${key}`, message }
        : context === 'headers'
          ? { header: key, message }
          : { parameter: key.split('/')[0] ?? key, message };
    const id = JSON.stringify(item);
    if (!seen.has(id)) {
      seen.add(id);
      items.push(item);
    }
  }
  const where = contextName[context] ?? context;
  const detail = items
    .map((i) =>
      i.pointer === '' ? `The body ${i.message}.` : describeProblemItem(i, where === 'path' ? 'Path' : 'Query'),
    )
    .join(' ');
  return new AppError('VALIDATION_FAILED', detail || `The ${where} is invalid.`, { errors: items });
}
