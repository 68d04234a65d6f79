import { quoteValue } from './text.js';

/** Characters of a malformed JSON text shown from where JSON.parse stopped. */
const NEAR_CHARS = 24;

/**
 * Why JSON.parse refuses `text`, and where: its message (what it expected, at which position) and the text
 * from that position, shortened, or `(the end of <whole>)` when it stopped at the end. Undefined when the
 * text parses.
 */
export function jsonParseProblem(text: string, whole: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    const reason = (error as Error).message.replace(/\.$/, '');
    const at = /at position (\d+)/.exec(reason);
    const from = at ? Number(at[1]) : -1;
    if (from < 0) return reason;
    if (from >= text.length) return `${reason} (the end of ${whole})`;
    return `${reason}, near ${quoteValue(text.slice(from, from + NEAR_CHARS))}`;
  }
}
