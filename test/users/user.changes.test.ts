import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UserRow } from '../../src/db/tables.js';
import { changeAffects, pageScope, type ChangedUser } from '../../src/users/user.changes.js';
import type { UserFilter, UserSort } from '../../src/users/user.list.repository.js';

/**
 * changeAffects decides, from a logged change's before/after values, whether a cached page still stands.
 * These cases pin its rules against rows laid out by username: a page of b, c, d sorted ascending.
 */

const ANY: UserFilter = { usernames: [], names: [], statuses: [], roles: [], billingGroups: [], groupOwners: [] };
const BY_USERNAME: UserSort = { field: 'username', order: 'asc' };

function row(userId: string, username: string, status = 'activated'): ChangedUser {
  return {
    user_id: userId,
    username_fold: username,
    name_fold: username,
    status,
    roles_mask: 1,
    billing_groups: '',
    group_owners: '',
    last_login_date: null,
    last_updated_date: '2026-12-01T00:00:00.000',
  } as ChangedUser;
}

const page = [row('2', 'b'), row('3', 'c'), row('4', 'd')] as UserRow[];
const scope = pageScope(ANY, BY_USERNAME, page);
const change = (before: ChangedUser | null, after: ChangedUser | null) => ({ version: 1, before, after });

describe('changeAffects: whether a logged change alters a cached page', () => {
  it('keeps the page when a row off it moves but stays on the same side', () => {
    assert.equal(changeAffects(scope, change(row('9', 'a'), row('9', 'aa'))), false);
    assert.equal(changeAffects(scope, change(row('9', 'x'), row('9', 'y'))), false);
  });

  it('drops the page when a row off it moves into its span', () => {
    // Renamed from after the page to between its first and last rows: the page now holds it.
    assert.equal(changeAffects(scope, change(row('9', 'x'), row('9', 'bz'))), true);
    assert.equal(changeAffects(scope, change(row('9', 'a'), row('9', 'cc'))), true);
  });

  it('drops the page when a row off it crosses from one side to the other', () => {
    assert.equal(changeAffects(scope, change(row('9', 'a'), row('9', 'x'))), true);
    assert.equal(changeAffects(scope, change(row('9', 'x'), row('9', 'a'))), true);
  });

  it('drops the page when a row on it changes, or a row starts or stops matching', () => {
    assert.equal(changeAffects(scope, change(row('3', 'c'), row('3', 'c'))), true);
    const activated: UserFilter = { ...ANY, statuses: ['activated'] };
    const filtered = pageScope(activated, BY_USERNAME, page);
    assert.equal(changeAffects(filtered, change(row('9', 'x'), row('9', 'x', 'deactivated'))), true);
    assert.equal(changeAffects(filtered, change(row('9', 'x', 'deactivated'), row('9', 'y', 'deactivated'))), false);
  });

  it('follows the sort order: descending pages see the same spans reversed', () => {
    const desc = pageScope(ANY, { field: 'username', order: 'desc' }, [...page].reverse());
    assert.equal(changeAffects(desc, change(row('9', 'x'), row('9', 'cc'))), true);
    assert.equal(changeAffects(desc, change(row('9', 'x'), row('9', 'y'))), false);
  });
});
