import { quoteValue } from './text.js';

/** Characters of a malformed JSON text shown from where JSON.parse stopped. */
const NEAR_CHARS = 24;

/**
 * What JSON.parse's `error` says of `text`, and where: its message (what it expected, at which position) and
 * the text from that position, shortened, or `(the end of <whole>)` when it stopped at the end.
 */
export function describeJsonError(error: unknown, text: string, whole: string): string {
  const reason = (error as Error).message.replace(/\.$/, '');
  const at = /at position (\d+)/.exec(reason);
  const from = at ? Number(at[1]) : -1;
  if (from < 0) return reason;
  if (from >= text.length) return `${reason} (the end of ${whole})`;
  return `${reason}, near ${quoteValue(text.slice(from, from + NEAR_CHARS))}`;
}

/** Why JSON.parse refuses `text` (describeJsonError), or undefined when it parses. */
export function jsonParseProblem(text: string, whole: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    return describeJsonError(error, text, whole);
  }
}
