/** The folded form used for case-insensitive matching: NFC-normalized, Unicode lower-cased (`ÉMILE` → `émile`). */
export function fold(value: string): string {
  return value.normalize('NFC').toLowerCase().normalize('NFC');
}

/**
 * The folded forms a substring needle must be searched as. Lower-casing writes Greek capital sigma as final
 * `ς` at the end of a word and `σ` elsewhere, so a needle ending in either (`ΝΙΚΟΣ` → `νικος`) may sit inside
 * a word (`νικοσθένης`) or at its end: both forms are searched. Elsewhere in a needle the context is the
 * stored one's, so one form is right.
 */
export function needleFolds(value: string): string[] {
  const folded = fold(value);
  if (!/[σς]$/.test(folded)) return [folded];
  const stem = folded.slice(0, -1);
  return [`${stem}σ`, `${stem}ς`];
}

/**
 * A character no name or username may hold: controls, the line and paragraph separators (U+2028/U+2029
 * break JSON-in-JavaScript, CSV and log lines) and format characters, which are invisible (bidi overrides,
 * zero-width spaces, the BOM) and so let two names look alike. ZWNJ and ZWJ (U+200C, U+200D) are kept:
 * Persian and Indic names and emoji sequences need them. The schemas' patterns say the same (INVISIBLE_FREE).
 */
const INVISIBLE = /[\p{Cc}\p{Zl}\p{Zp}]|(?![\u200C\u200D])\p{Cf}/u;

/** A pattern fragment: one character that is not INVISIBLE (for JSON Schema patterns, which have no flags). */
export const VISIBLE_CHARACTER = '(?:(?![\\p{Cc}\\p{Zl}\\p{Zp}])(?:[\\u200C\\u200D]|\\P{Cf}))';

/** Names the first invisible character of a value (`U+2028 at character 4`), or undefined when it has none. */
export function findInvisible(value: string): string | undefined {
  const chars = [...value];
  const at = chars.findIndex((c) => INVISIBLE.test(c));
  if (at === -1) return undefined;
  const hex = chars[at]!.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  return `U+${hex} at character ${at + 1}`;
}

/** Escapes `%`, `_` and `\` so that a LIKE pattern matches them literally (with `escape '\'`). */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when the value has the form of a UUID. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Longest quoted value an error message shows, in characters; a longer one is cut and ends with "…". */
const QUOTED_MAX = 60;
/** Characters a reader cannot see or that would break the message's line: controls, format (bidi) and separators. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/**
 * A rejected value as every error message quotes it (API and CLI): strings in
 * JSON quotes, other values as JSON; cut to 60 characters with "…"; control,
 * bidi and other invisible characters escaped (`\n`, `\u202e`), so the message
 * shows what was sent and stays one line.
 */
export function quoteValue(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const chars = [...text];
  const cut = chars.length > QUOTED_MAX ? `${chars.slice(0, QUOTED_MAX - 1).join('')}…` : text;
  const shown = typeof value === 'string' ? JSON.stringify(cut) : cut;
  return shown.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
