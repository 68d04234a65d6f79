/** The folded form used for case-insensitive matching: NFC-normalized, Unicode lower-cased (`ÉMILE` → `émile`). */
export function fold(value: string): string {
  return value.normalize('NFC').toLowerCase().normalize('NFC');
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
