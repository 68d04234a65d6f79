/**
 * The largest id of a billing group, group or audit entry: they are stored as
 * PostgreSQL `integer`, so a larger id cannot exist, and sending one would make
 * PostgreSQL fail ("out of range") where SQLite simply finds nothing.
 */
export const MAX_ID = 2_147_483_647;

/** An id no row holds: what a larger-than-MAX_ID id becomes before it reaches a query. */
const NO_SUCH_ID = -1;

/** A run of digits from a request as a stored id: the number, or an id no row holds when it exceeds MAX_ID. */
export function toStoredId(digits: string): number {
  const id = Number(digits);
  return id <= MAX_ID ? id : NO_SUCH_ID;
}

/** True when `id` can be a stored id (a positive integer no larger than MAX_ID). */
export function isStoredId(id: number): boolean {
  return Number.isSafeInteger(id) && id >= 1 && id <= MAX_ID;
}
