import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UserRow } from '../../src/db/tables.js';
import { RowMatcher } from '../../src/import/import.matcher.js';
import type { CheckedRow } from '../../src/import/import.rows.js';
import type { UserInput } from '../../src/import/import.rules.js';
import { storedUserRow } from './helpers.js';

// The matcher holds only what it has seen of the file: these tests give it each batch's look-ups directly.

const row = (input: UserInput, line: number): CheckedRow => ({ line, raw: '', source: 'csv', input, problems: [] });

const EMILE = storedUserRow(1, 5, { user_id: '0b6f4a8e-1d2c-4e5f-8a9b-0c1d2e3f4a5b', username: 'Émile' });
const ZOE = storedUserRow(1, 6, { user_id: '1b6f4a8e-1d2c-4e5f-8a9b-0c1d2e3f4a5b', username: 'zoë' });
const FOREIGN_ID = '627b4c86-1ff1-4ca7-8827-95c214666636';

function matcherWith(...rows: UserRow[]): RowMatcher {
  const matcher = new RowMatcher();
  matcher.startBatch({ rows, elsewhere: new Set([FOREIGN_ID]) });
  return matcher;
}
const reasons = (problems: readonly { field: string; reason: string }[]) =>
  problems.map((p) => `${p.field}: ${p.reason}`);

describe('import matcher: which user a row names', () => {
  it('finds a user by user_id', () => {
    assert.deepEqual(matcherWith(EMILE, ZOE).match(row({ user_id: ZOE.user_id, username: 'renamed' }, 2)), {
      target: ZOE,
      problems: [],
    });
  });

  it('finds a user by username, ignoring case', () => {
    assert.deepEqual(matcherWith(EMILE).match(row({ username: 'ÉMILE' }, 2)), { target: EMILE, problems: [] });
  });

  it('names no existing user when neither the user_id nor the username is known', () => {
    assert.deepEqual(matcherWith(EMILE).match(row({ username: 'someone' }, 2)), { target: undefined, problems: [] });
  });

  it('rejects a user_id the batch already planned', () => {
    const matcher = matcherWith();
    matcher.claim({ user_id: FOREIGN_ID.replace('627b', '727b'), username_skeleton: 'a' }, 2);
    assert.deepEqual(reasons(matcher.match(row({ user_id: FOREIGN_ID.replace('627b', '727b') }, 3)).problems), [
      `user_id: ${FOREIGN_ID.replace('627b', '727b')} appears again in this file (first on line 2); a file may name each user once`,
    ]);
  });

  it('rejects the user_id of a user in another organization', () => {
    assert.deepEqual(reasons(matcherWith().match(row({ user_id: FOREIGN_ID }, 2)).problems), [
      `user_id: ${FOREIGN_ID} is the user_id of a user in another organization; user_ids are unique across Roster`,
    ]);
  });

  it('rejects a row naming a user an earlier batch named', () => {
    const matcher = matcherWith(EMILE);
    matcher.remember(EMILE.id, 4);
    assert.deepEqual(reasons(matcher.match(row({ username: 'émile', name: 'Again' }, 9)).problems), [
      'username: "émile" names the same user as line 4 of this file; a file may name each user once',
    ]);
  });

  it('rejects a username the batch already planned, ignoring case', () => {
    const matcher = matcherWith();
    matcher.claim({ user_id: FOREIGN_ID, username_skeleton: 'new1' }, 2);
    assert.deepEqual(reasons(matcher.match(row({ username: 'NEW1' }, 3)).problems), [
      'username: "NEW1" appears again in this file (first on line 2); usernames are unique, ignoring case and look-alike characters',
    ]);
  });

  it('rejects a username another user holds', () => {
    assert.deepEqual(
      reasons(matcherWith(EMILE, ZOE).match(row({ user_id: ZOE.user_id, username: 'ÉMILE' }, 2)).problems),
      [
        `username: "ÉMILE" is "Émile", the username of user ${EMILE.user_id}; usernames are unique, ignoring case and look-alike characters`,
      ],
    );
  });

  it('rejects a username a user named earlier in the file holds, naming that line', () => {
    const matcher = matcherWith(EMILE, ZOE);
    matcher.remember(EMILE.id, 3);
    assert.deepEqual(reasons(matcher.match(row({ user_id: ZOE.user_id, username: 'Émile' }, 8)).problems), [
      'username: "Émile" is the username of line 3 of this file; usernames are unique, ignoring case and look-alike characters',
    ]);
  });

  it('finds a user by username under full case folding (ß and ss, ligatures)', () => {
    const strasse = storedUserRow(1, 7, { user_id: '2b6f4a8e-1d2c-4e5f-8a9b-0c1d2e3f4a5b', username: 'Straße' });
    assert.deepEqual(matcherWith(strasse).match(row({ username: 'STRASSE' }, 2)), { target: strasse, problems: [] });
  });

  it('rejects a look-alike of a username another user holds, naming it', () => {
    const admin = storedUserRow(1, 8, { user_id: '3b6f4a8e-1d2c-4e5f-8a9b-0c1d2e3f4a5b', username: 'admin' });
    const match = matcherWith(admin).match(row({ username: '\u0430dmin' }, 2));
    assert.equal(match.target, undefined, 'a look-alike is not the same user');
    assert.deepEqual(reasons(match.problems), [
      `username: "\u0430dmin" looks like "admin", the username of user ${admin.user_id}; usernames are unique, ignoring case and look-alike characters`,
    ]);
  });
});
