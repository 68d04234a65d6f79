import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, describeProblemItem } from '../errors.js';
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

/** The JSON Pointer of the first string (key or value) holding a lone UTF-16 surrogate, and that string, if any. */
function illFormedText(value: unknown, pointer: string): { pointer: string; text: string } | undefined {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? { pointer, text: value } : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, child] of Object.entries(value)) {
    const at = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (LONE_SURROGATE.test(key)) return { pointer: at, text: key };
    const found = illFormedText(child, at);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * JSON may escape a lone surrogate (`"\ud800"`), which is no Unicode text: the
 * backends would store it differently (or not at all), so it is a 400.
 */
async function refuseIllFormedText(request: FastifyRequest): Promise<void> {
  const found = illFormedText(request.body, '');
  if (found !== undefined) {
    const { pointer } = found;
    const got = `(got ${quoteValue(found.text)})`;
    const detail = describeProblemItem({
      pointer,
      message: `holds a lone UTF-16 surrogate, which is not Unicode text; send well-formed UTF-8 ${got}`,
    });
    throw new AppError('VALIDATION_FAILED', detail, {
      errors: [{ pointer, message: `must be well-formed Unicode text (no lone surrogates) ${got}` }],
    });
  }
}

/**
 * Content types of the write routes, set per plugin (Fastify encapsulates
 * parsers). Only JSON is accepted: `text/plain`, which Fastify parses by
 * default, is removed so that any other type is a 415.
 */
export function acceptJsonOnly(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain');
  app.addHook('preParsing', async (request, _reply, payload) => {
    await refuseUnreadableBodies(request);
    return payload;
  });
  app.addHook('preValidation', refuseIllFormedText);
}

/** PATCH bodies: RFC 7396 `application/merge-patch+json`, and `application/json` as many clients send. */
export function acceptMergePatch(app: FastifyInstance): void {
  acceptJsonOnly(app);
  app.addContentTypeParser(
    'application/merge-patch+json',
    { parseAs: 'string' },
    app.getDefaultJsonParser('error', 'error'),
  );
}

/**
 * Lifecycle calls take no body or an optional one; many clients still send
 * `Content-Type: application/json` with an empty body, which is read as no body.
 */
export function acceptEmptyJson(app: FastifyInstance): void {
  acceptJsonOnly(app);
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (typeof body === 'string' && body.trim() === '') {
      done(null, undefined);
      return;
    }
    void parse(request, String(body), done);
  });
}
