import { Type } from '@sinclair/typebox';
import { AppError } from '../errors.js';

/** The If-Match header of a write route, as validated and documented (each route may word the description). */
export function ifMatchHeaders(description = 'the ETag of your last read (or `*`); 412 if it changed since') {
  return Type.Object({ 'if-match': Type.Optional(Type.String({ description })) });
}

/** A parsed If-Match header: `*`, or the entity tags it lists (weak ones keep their `W/`). */
export type IfMatch = { readonly any: true } | { readonly any: false; readonly tags: readonly string[] };

const TOKEN = /\s*(?:(\*)|((?:W\/)?"[\x21\x23-\x7E\x80-\uFFFF]*"))\s*(?:,|$)/y;

function badIfMatch(value: string): AppError {
  const message = 'must be "*" or a comma-separated list of entity tags in double quotes, as the ETag header gave them';
  return new AppError(
    'VALIDATION_FAILED',
    `Header "If-Match" ${message} (e.g. If-Match: "627b4c86.3"); got ${JSON.stringify(value)}.`,
    {
      errors: [{ header: 'if-match', message }],
    },
  );
}

/** Parses If-Match (RFC 9110 §13.1.1); undefined when absent; a 400 AppError when it is not `*` or entity tags. */
export function parseIfMatch(header: string | string[] | undefined): IfMatch | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header.join(', ') : header;
  const tags: string[] = [];
  let star = false;
  TOKEN.lastIndex = 0;
  // Empty list elements (", ,") are allowed by the list syntax and skipped.
  const rest = value.replace(/^[\s,]+/, '');
  let at = 0;
  while (at < rest.length) {
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(rest);
    if (!m) throw badIfMatch(value);
    if (m[1]) star = true;
    else tags.push(m[2] as string);
    at = TOKEN.lastIndex;
    while (at < rest.length && /[\s,]/.test(rest[at] as string)) at++;
  }
  if (star && tags.length > 0) throw badIfMatch(value);
  if (!star && tags.length === 0) throw badIfMatch(value);
  return star ? { any: true } : { any: false, tags };
}

/**
 * Enforces a parsed If-Match against the current ETag with the strong
 * comparison RFC 9110 requires (a weak tag never matches): 412 when stale.
 */
export function checkIfMatch(ifMatch: IfMatch | undefined, currentEtag: string, what: string): void {
  if (ifMatch === undefined || ifMatch.any) return;
  if (ifMatch.tags.some((t) => !t.startsWith('W/') && t === currentEtag)) return;
  throw new AppError(
    'PRECONDITION_FAILED',
    `${what} has changed since the version your If-Match names (its ETag is now ${currentEtag}); nothing was changed. Read it again, reapply your change and retry with the new ETag.`,
    {
      headers: { etag: currentEtag },
      errors: [{ header: 'if-match', message: `does not match the current ETag ${currentEtag}` }],
    },
  );
}
