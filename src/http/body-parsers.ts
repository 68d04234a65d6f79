import type { FastifyBodyParser, FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, describeProblemItem, type ProblemItem } from '../errors.js';
import { jsonParseProblem } from '../shared/json-error.js';
import { quoteValue } from '../shared/text.js';

/**
 * JSON is UTF-8 (RFC 8259) and Roster decodes no content coding: a body in
 * another charset or compressed would be misread, so it is a 415 that says so.
 */
async function refuseUnreadableBodies(request: FastifyRequest): Promise<void> {
  const encoding = request.headers['content-encoding'];
  if (typeof encoding === 'string' && encoding.trim() !== '' && encoding.trim().toLowerCase() !== 'identity') {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Encoding "${encoding}" is not supported: send the body uncompressed.`,
      {
        headers: { 'accept-encoding': 'identity' },
        errors: [{ header: 'content-encoding', message: 'must be absent or identity' }],
      },
    );
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `The charset "${charset}" is not supported: send JSON as UTF-8.`, {
      errors: [{ header: 'content-type', message: 'must have no charset or charset=utf-8' }],
    });
  }
}

const LONE_SURROGATE = /\p{Surrogate}/u;

/** The deepest nesting of arrays and objects a body may have; Roster's bodies nest three levels at most. */
const MAX_BODY_DEPTH = 64;

const pointerStep = (pointer: string, key: string) => `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;

/**
 * The first problem of a parsed body that no schema should see: a string (key or value) holding a lone
 * UTF-16 surrogate, or nesting deeper than MAX_BODY_DEPTH. Walked with an explicit stack: JSON.parse
 * accepts thousands of levels, and a recursive walk would overflow the call stack on them.
 */
function bodyProblem(body: unknown): ProblemItem | undefined {
  const stack: { value: unknown; pointer: string; depth: number }[] = [{ value: body, pointer: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, pointer, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) return surrogateAt(pointer, value);
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_BODY_DEPTH)
      return {
        pointer,
        message: `nests arrays or objects more than ${MAX_BODY_DEPTH} levels deep; send the shape the schema describes`,
      };
    // Pushed in reverse so that the first problem in document order is found first.
    const entries: [string, unknown][] = Object.entries(value as Record<string, unknown>);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      const at = pointerStep(pointer, key);
      if (LONE_SURROGATE.test(key)) return surrogateAt(at, key);
      stack.push({ value: child, pointer: at, depth: depth + 1 });
    }
  }
  return undefined;
}

const surrogateAt = (pointer: string, text: string): ProblemItem & { got: string } => ({
  pointer,
  message: `holds a lone UTF-16 surrogate, which is not Unicode text; send well-formed UTF-8 (got ${quoteValue(text)})`,
  got: `(got ${quoteValue(text)})`,
});

/**
 * JSON may escape a lone surrogate (`"\ud800"`), which is no Unicode text: the backends would store it
 * differently (or not at all), so it is a 400; so is a body nested deeper than any Roster shape.
 */
async function refuseIllFormedText(request: FastifyRequest): Promise<void> {
  const problem = bodyProblem(request.body);
  if (problem !== undefined) {
    const item =
      'got' in problem
        ? {
            pointer: problem.pointer,
            message: `must be well-formed Unicode text (no lone surrogates) ${String(problem.got)}`,
          }
        : problem;
    throw new AppError('VALIDATION_FAILED', describeProblemItem(problem), {
      errors: [{ pointer: item.pointer, message: item.message }],
    });
  }
}

/**
 * The 400 of a body that is not one JSON value, saying what is wrong and where: Fastify's own error says only
 * "not valid JSON", so the body is parsed again here, on the error path alone, for JSON.parse's message (what it
 * expected, at which position), and the text from that position is shown. A body JSON.parse takes was refused
 * for a `__proto__` or `constructor.prototype` key.
 */
function malformedJson(body: string): AppError {
  if (body.trim() === '') return new AppError('MALFORMED_JSON', 'The body is empty: send one JSON object.');
  const problem = jsonParseProblem(body, 'the body');
  if (problem !== undefined)
    return new AppError('MALFORMED_JSON', `The body is not valid JSON: ${problem}. Send one JSON object.`);
  return new AppError(
    'MALFORMED_JSON',
    'The body holds a "__proto__" or "constructor.prototype" key, which is refused: remove it and send one JSON object.',
  );
}

/** Fastify's JSON parser (prototype poisoning refused), its refusals told by malformedJson. */
function jsonParser(app: FastifyInstance): FastifyBodyParser<string> {
  const parse = app.getDefaultJsonParser('error', 'error');
  return (request, body, done) => {
    void parse(request, body, (error, value: unknown) =>
      error ? done(malformedJson(String(body))) : done(null, value),
    );
  };
}

/**
 * Parses `type` as JSON (prototype poisoning refused), a malformed body answered by malformedJson; with
 * `emptyIsNone`, an empty or blank body is read as no body.
 */
export function parseAsJson(app: FastifyInstance, type: string, emptyIsNone = false): void {
  const parse = jsonParser(app);
  if (app.hasContentTypeParser(type)) app.removeContentTypeParser(type);
  app.addContentTypeParser(type, { parseAs: 'string' }, (request, body, done) => {
    const text = String(body);
    if (emptyIsNone && text.trim() === '') done(null, undefined);
    else void parse(request, text, done);
  });
}

/**
 * Content types of the write routes, set per plugin (Fastify encapsulates
 * parsers). Only JSON is accepted: `text/plain`, which Fastify parses by
 * default, is removed so that any other type is a 415.
 */
export function acceptJsonOnly(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain');
  parseAsJson(app, 'application/json');
  app.addHook('preParsing', async (request, _reply, payload) => {
    await refuseUnreadableBodies(request);
    return payload;
  });
  app.addHook('preValidation', refuseIllFormedText);
}

/** PATCH bodies: RFC 7396 `application/merge-patch+json`, and `application/json` as many clients send. */
export function acceptMergePatch(app: FastifyInstance): void {
  acceptJsonOnly(app);
  parseAsJson(app, 'application/merge-patch+json');
}

/**
 * Lifecycle calls take no body or an optional one; many clients still send
 * `Content-Type: application/json` with an empty body, which is read as no body.
 */
export function acceptEmptyJson(app: FastifyInstance): void {
  acceptJsonOnly(app);
  parseAsJson(app, 'application/json', true);
}
