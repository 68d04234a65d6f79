/**
 * The organization-scoped trigram terms of migration 011, as the search queries them: a needle of 3+ code
 * points is the AND of the terms of its distinct trigrams (a superset of its matches, which LIKE then
 * rechecks for order and adjacency).
 */

/** The distinct trigrams (3 consecutive code points) of a needle. */
function trigramsOf(needle: string): string[] {
  const points = [...needle];
  const trigrams = new Set<string>();
  for (let i = 0; i + 3 <= points.length; i++) trigrams.add(points.slice(i, i + 3).join(''));
  return [...trigrams];
}

/** SQLite: the FTS5 query of `users_trgm` for a needle (terms as the view users_trgm_source writes them). */
export function sqliteTrigramQuery(orgId: number, column: 'username_fold' | 'name_fold', needle: string): string {
  const prefix = column === 'username_fold' ? 'u' : 'n';
  return trigramsOf(needle)
    .map((t) => `"${prefix}${orgId}x${Buffer.from(t, 'utf8').toString('hex').toUpperCase()}"`)
    .join(' ');
}

/** PostgreSQL: the array `roster_org_trigrams(org_id, column)` must contain for a needle. */
export function pgTrigramArray(orgId: number, needle: string): string[] {
  return trigramsOf(needle).map((t) => `${orgId}:${t}`);
}
