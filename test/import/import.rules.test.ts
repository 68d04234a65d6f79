import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptField, type FieldProblem, type UserInput } from '../../src/import/import.rules.js';

// The field rules need no database: each test checks one field's value as a row of a file gives it.

function accept(
  field: keyof UserInput,
  value: string | boolean | null | readonly string[],
): { input: UserInput; reasons: string[] } {
  const input: UserInput = {};
  const problems: FieldProblem[] = [];
  acceptField(input, problems, field, value);
  return { input, reasons: problems.map((p) => `${p.field}: ${p.reason}`) };
}

describe('import rules: the API user rules, worded for the file', () => {
  it('counts a username or name in characters, as the API does: 128 characters outside the BMP are a valid username', () => {
    assert.deepEqual(accept('username', '😀'.repeat(128)).reasons, []);
  });

  it('rejects a username over 128 characters, saying how many it has', () => {
    assert.deepEqual(accept('username', '😀'.repeat(129)).reasons, [
      `username: "${'😀'.repeat(59)}…" has 129 characters; at most 128 are allowed`,
    ]);
  });

  it('rejects an empty username', () => {
    assert.deepEqual(accept('username', '').reasons, ['username: is empty; give 1 to 128 characters']);
  });

  it('rejects a username of "." or "..", quoting the rule of the API', () => {
    assert.match(
      accept('username', '..').reasons[0]!,
      /^username: "\.\." is not allowed: a username is 1–128 characters without "\/" or control, format \(invisible\) or line\/paragraph separator characters, without leading or trailing space, not "\." or "\.\."/,
    );
  });

  it('rejects a blank name as empty', () => {
    assert.deepEqual(accept('name', '   ').reasons, ['name: "   " is empty; give 1 to 256 characters']);
  });

  it('rejects a name holding a control character', () => {
    assert.deepEqual(accept('name', 'Ada\tLovelace').reasons, [
      'name: "Ada\\tLovelace" holds U+0009 at character 4, a control, format (invisible) or line-separator character; remove it',
    ]);
  });

  it('keeps an empty email: the user has none', () => {
    assert.deepEqual(accept('email', '').input, { email: '' });
  });

  it('counts an email in characters, as the API does: 254 characters outside the BMP are an address', () => {
    const email = `${'𝐀'.repeat(64)}@${'𝐁'.repeat(60)}.${'𝐂'.repeat(60)}.de`;
    assert.ok(email.length > 254 && [...email].length <= 254);
    assert.deepEqual(accept('email', email).input, { email });
  });

  it('rejects a phone number with other than ten digits, counting them', () => {
    assert.deepEqual(accept('phone', '705-722-439').reasons, [
      'phone: "705-722-439" has 9 digits; a phone number has exactly 10 (like 705-722-4398), or leave it empty',
    ]);
  });

  it('rejects a phone number holding a character that is not a digit or a separator', () => {
    assert.deepEqual(accept('phone', '+1 705 722 4398').reasons, [
      'phone: "+1 705 722 4398" may hold only digits and the separators space - . ( )',
    ]);
  });

  it('stores a timestamp with 7 fraction digits, in UTC', () => {
    assert.deepEqual(accept('last_updated_date', '2016-03-03T16:13:59+02:00').input, {
      last_updated_date: '2016-03-03T14:13:59.0000000',
    });
  });

  it('rejects a date that is not in the calendar', () => {
    assert.deepEqual(accept('deactivation_date', '2015-02-29T00:00:00').reasons, [
      'deactivation_date: "2015-02-29T00:00:00" is not a UTC timestamp like 2016-03-03T16:13:59.1917141 (or RFC 3339 with Z or an offset)',
    ]);
  });

  it('lower-cases a user_id', () => {
    assert.deepEqual(accept('user_id', '627B4C86-1FF1-4CA7-8827-95C214666636').input, {
      user_id: '627b4c86-1ff1-4ca7-8827-95c214666636',
    });
  });

  it('rejects roles that are not roles, naming each', () => {
    assert.deepEqual(accept('roles', ['reporting', 'boss', 'Rescue']).reasons, [
      'roles: "boss", "Rescue" are not roles; roles are "administrator", "org_group_admin", "ordering", "reporting", "browse_inventory", "view_stop_call_data", "call_record_listen", "rescue"',
    ]);
  });

  it('rejects a role list naming a role twice, naming the first repeated one', () => {
    assert.deepEqual(accept('roles', ['rescue', 'ordering', 'ordering', 'rescue']).reasons, [
      'roles: names "ordering" twice; list each role once',
    ]);
  });

  it('rejects ids that are not positive whole numbers of at most 15 digits', () => {
    assert.deepEqual(accept('billing_groups', ['0', '12', '1234567890123456']).reasons, [
      'billing_groups: "0", "1234567890123456" are not billing group ids (positive whole numbers like 1234)',
    ]);
  });

  it('rejects a group id listed twice', () => {
    assert.deepEqual(accept('group_owners', ['5', '6', '5']).reasons, [
      'group_owners: names group "5" twice; list each once',
    ]);
  });
});
