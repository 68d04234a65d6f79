import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RowMatcher } from '../../src/import/import.matcher.js';
import { planBatch, planRow, type AccessIds, type PlanOptions, type RowPlan } from '../../src/import/import.planner.js';
import type { CheckedRow } from '../../src/import/import.rows.js';
import type { UserInput } from '../../src/import/import.rules.js';
import { storedUserRow } from './helpers.js';

// The planner decides without a database: these tests hand it rows, stored users and access ids directly.

const ORG = 7;
const options: PlanOptions = { orgId: ORG, createMissing: false };
const access: AccessIds = {
  billingGroups: new Set([10, 11]),
  groups: new Set([20]),
  foreignBillingGroups: new Set([99]),
  foreignGroups: new Set([98]),
};
const NEW_USER = {
  username: 'ada',
  name: 'Ada Lovelace',
  call_detail_level: 'full',
  roles: ['reporting'],
} satisfies UserInput;

const csvRow = (input: UserInput, line = 2): CheckedRow => ({
  line,
  raw: `raw ${line}`,
  source: 'csv',
  input,
  problems: [],
});

/** Ada as the database holds her: internal id 41, version 3. */
const storedUser = () =>
  storedUserRow(
    ORG,
    41,
    {
      user_id: '627b4c86-1ff1-4ca7-8827-95c214666636',
      username: 'ada',
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      access: { billing_groups: ['10'], group_owners: [] },
    },
    3,
  );

function problemsOf(plan: RowPlan): string[] {
  assert.equal(plan.decision, 'reject');
  return plan.decision === 'reject' ? plan.problems.map((p) => `${p.field}: ${p.reason}`) : [];
}

describe('import planner: what one row does', () => {
  it('creates a new user with the defaults of the API for the fields the row does not give', () => {
    const plan = planRow(csvRow(NEW_USER), undefined, access, options);
    assert.ok(plan.decision === 'create', plan.decision);
    assert.equal(plan.next.org_id, ORG);
    assert.equal(plan.next.username_fold, 'ada');
    assert.match(plan.next.user_id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(
      [
        plan.next.email,
        plan.next.phone,
        plan.next.restrict_recording_download,
        plan.next.status,
        plan.next.last_login_date,
        plan.next.billing_groups,
        plan.next.version,
      ],
      ['', '', 0, 'awaiting_approval', null, '', 1],
    );
  });

  it('keeps the user_id, status and dates a new user row gives', () => {
    const input = {
      ...NEW_USER,
      user_id: '0b6f4a8e-1d2c-4e5f-8a9b-0c1d2e3f4a5b',
      status: 'deactivated',
      last_updated_date: '2021-05-05T05:05:05.5000000',
    } satisfies UserInput;
    const plan = planRow(csvRow(input), undefined, access, options);
    assert.ok(plan.decision === 'create', plan.decision);
    assert.equal(plan.next.user_id, input.user_id);
    assert.equal(plan.next.status, 'deactivated');
    assert.equal(
      plan.next.deactivation_date,
      '2021-05-05T05:05:05.5000000',
      'a deactivated user without a date is dated at last_updated_date',
    );
  });

  it('updates a user when the row changes a field, keeping the fields it does not give', () => {
    const target = storedUser();
    const plan = planRow(
      csvRow({ username: 'ADA', name: 'Augusta Ada King', last_updated_date: '2022-02-02T00:00:00.0000000' }),
      target,
      access,
      options,
    );
    assert.ok(plan.decision === 'update', plan.decision);
    assert.equal(plan.target, target);
    assert.deepEqual(
      [plan.next.username, plan.next.name, plan.next.email, plan.next.billing_groups],
      ['ADA', 'Augusta Ada King', 'ada@example.com', '10'],
    );
    assert.equal(plan.next.last_updated_date, '2022-02-02T00:00:00.0000000');
    assert.equal(plan.next.version, 4);
  });

  it('dates now a change the row does not date', () => {
    const plan = planRow(csvRow({ username: 'ada', name: 'Augusta Ada King' }), storedUser(), access, options);
    assert.ok(plan.decision === 'update', plan.decision);
    assert.ok(plan.next.last_updated_date > '2026-01-01', plan.next.last_updated_date);
  });

  it('counts a row that changes nothing a reader sees as unchanged', () => {
    const target = storedUser();
    const plan = planRow(
      csvRow({ username: 'ada', name: 'Ada Lovelace', billing_groups: ['10'] }),
      target,
      access,
      options,
    );
    assert.equal(plan.decision, 'unchanged');
  });

  it('rejects a row with the field problems it was read with, as they are', () => {
    const row: CheckedRow = { ...csvRow(NEW_USER), problems: [{ field: 'email', reason: 'is not an email address' }] };
    assert.deepEqual(problemsOf(planRow(row, undefined, access, options)), ['email: is not an email address']);
  });

  it('rejects a row that gives neither user_id nor username', () => {
    assert.deepEqual(problemsOf(planRow(csvRow({ name: 'Nobody' }), undefined, access, options)), [
      '(row): gives neither user_id nor username, so it names no user',
    ]);
  });

  it('rejects a new user without name, call_detail_level or roles, naming each', () => {
    const reason = 'is required for a new user (no user of this organization has this user_id or username)';
    assert.deepEqual(problemsOf(planRow(csvRow({ username: 'ada' }), undefined, access, options)), [
      `name: ${reason}`,
      `call_detail_level: ${reason}`,
      `roles: ${reason}`,
    ]);
  });

  it('rejects a deactivation_date for a user whose status is not deactivated', () => {
    const plan = planRow(
      csvRow({ username: 'ada', deactivation_date: '2020-01-01T00:00:00.0000000' }),
      storedUser(),
      access,
      options,
    );
    assert.deepEqual(problemsOf(plan), [
      'deactivation_date: is only kept for a deactivated user, and this user\'s status is "activated"; leave it empty',
    ]);
  });

  it('rejects billing groups and groups the organization lacks, without --create-missing', () => {
    const plan = planRow(
      csvRow({ ...NEW_USER, billing_groups: ['10', '12'], group_owners: ['21'] }),
      undefined,
      access,
      options,
    );
    assert.deepEqual(problemsOf(plan), [
      'billing_groups: billing group 12 does not exist in this organization; create it first, or import with --create-missing',
      'group_owners: group 21 does not exist in this organization; create it first, or import with --create-missing',
    ]);
  });

  it('names the access lists as JSON does for a JSON row', () => {
    const row: CheckedRow = { ...csvRow({ ...NEW_USER, billing_groups: ['12'] }), source: 'json' };
    assert.deepEqual(problemsOf(planRow(row, undefined, access, options)), [
      'access.billing_groups: billing group 12 does not exist in this organization; create it first, or import with --create-missing',
    ]);
  });

  it('with --create-missing accepts ids the organization lacks, unless another organization holds them', () => {
    const createMissing = { ...options, createMissing: true };
    assert.equal(
      planRow(csvRow({ ...NEW_USER, billing_groups: ['12'], group_owners: ['21'] }), undefined, access, createMissing)
        .decision,
      'create',
    );
    assert.deepEqual(
      problemsOf(
        planRow(
          csvRow({ ...NEW_USER, billing_groups: ['99'], group_owners: ['98'] }),
          undefined,
          access,
          createMissing,
        ),
      ),
      [
        'billing_groups: billing group 99 belongs to another organization, so it cannot be created here',
        'group_owners: group 98 belongs to another organization, so it cannot be created here',
      ],
    );
  });
});

describe('import planner: a batch', () => {
  it('plans each row in file order and rejects a second row naming a user the batch already named, with every reason', () => {
    const matcher = new RowMatcher();
    matcher.startBatch({ rows: [], elsewhere: new Set() });
    const plans = planBatch([csvRow(NEW_USER, 2), csvRow({ username: 'ADA' }, 3)], matcher, access, options);
    assert.deepEqual(
      plans.map((p) => p.decision),
      ['create', 'reject'],
    );
    assert.deepEqual(problemsOf(plans[1]!), [
      'username: "ADA" appears again in this file (first on line 2); usernames are unique, ignoring case and look-alike characters',
      'name: is required for a new user (no user of this organization has this user_id or username)',
      'call_detail_level: is required for a new user (no user of this organization has this user_id or username)',
      'roles: is required for a new user (no user of this organization has this user_id or username)',
    ]);
  });

  it('remembers the existing users a batch named, for the batches after it', () => {
    const matcher = new RowMatcher();
    const target = storedUser();
    matcher.startBatch({ rows: [target], elsewhere: new Set() });
    assert.equal(
      planBatch([csvRow({ username: 'ada', name: 'Ada' }, 2)], matcher, access, options)[0]!.decision,
      'update',
    );
    matcher.startBatch({ rows: [target], elsewhere: new Set() });
    assert.deepEqual(
      problemsOf(planBatch([csvRow({ user_id: target.user_id, name: 'Ada' }, 9)], matcher, access, options)[0]!),
      [`user_id: "${target.user_id}" names the same user as line 2 of this file; a file may name each user once`],
    );
  });
});
