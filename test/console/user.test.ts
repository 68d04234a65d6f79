import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { startConsoleHarness, type ConsoleHarness, type ConsolePage } from '../support/browser.js';

interface ApiUser {
  user_id: string;
  username: string;
  name: string;
  status: string;
  access: { billing_groups: string[]; group_owners: string[] };
}

for (const dialect of DIALECTS.filter((d) => d === 'sqlite')) {
  describe(`console: a user's page, edit, activate, deactivate, new user (${dialect}, Chromium)`, () => {
    let h: ConsoleHarness;
    let p: ConsolePage;
    const api = async (method: 'GET' | 'PATCH', path: string, payload?: object) =>
      h.t.app.inject({
        method,
        url: `/api/v1${path}`,
        headers: bearer(h.t.demo.admin),
        ...(payload ? { payload } : {}),
      });
    const apiUser = async (ref: string) => (await api('GET', `/users/${ref}`)).json<ApiUser>();
    const field = (label: string) =>
      p.page.locator('dl').getByText(label, { exact: true }).locator('xpath=following-sibling::dd');

    before(async () => {
      h = await startConsoleHarness();
    });
    after(async () => h.close());

    it('shows every field, billing groups and groups by name; a read key sees no write buttons and no history', async () => {
      p = await h.openPage();
      await p.signIn(h.t.demo.read, '/console/users/ewoods');
      await p.page.getByRole('heading', { level: 1, name: 'Edward Woods' }).waitFor();
      assert.equal(await field('Username').textContent(), 'ewoods');
      assert.equal(await field('Phone').textContent(), '705-722-4398');
      assert.equal(await field('Status').textContent(), 'activated');
      assert.equal(await field('User ID').textContent(), 'fe3949c2-b3f5-46f8-9377-05568c748dbc');
      for (const label of [
        'Name',
        'Email',
        'Roles',
        'Call detail level',
        'Restrict recording download',
        'Last login',
        'Last updated',
      ])
        assert.equal(await field(label).count(), 1, label);
      const billingGroups = p.page.getByRole('region', { name: 'Billing groups' });
      await billingGroups.getByText('Support').waitFor();
      await p.page.getByRole('region', { name: 'Groups owned' }).waitFor();
      for (const name of ['Edit', 'Activate', 'Deactivate'])
        assert.equal(await p.page.getByRole('button', { name, exact: true }).count(), 0, `no ${name} for a read key`);
      assert.equal(await p.page.getByRole('heading', { name: 'History' }).count(), 0);
      // The same page by user_id.
      await p.page.goto(`${h.base}/console/users/fe3949c2-b3f5-46f8-9377-05568c748dbc`);
      await p.page.getByRole('heading', { level: 1, name: 'Edward Woods' }).waitFor();
      await p.assertAccessible('user page (read key)');
      p.assertNoErrors();
      await p.close();
    });

    it('edits with If-Match, shows a 400 next to its field, and a 412 with Reload', async () => {
      p = await h.openPage();
      await p.signIn(h.t.demo.admin, '/console/users/ewoods');
      await p.page.getByRole('heading', { level: 1, name: 'Edward Woods' }).waitFor();
      await p.page.getByRole('heading', { name: 'History' }).waitFor();
      await p.screenshot('user');
      await p.page.getByRole('button', { name: 'Edit', exact: true }).click();
      for (const name of ['Name', 'Email', 'Phone']) await p.page.getByRole('textbox', { name, exact: true }).waitFor();
      await p.page.getByRole('combobox', { name: 'Call detail level' }).waitFor();
      const roles = p.page.getByRole('group', { name: 'Roles' });
      assert.equal(await roles.getByRole('checkbox').count(), 8);
      await roles.getByRole('checkbox', { name: 'rescue' }).waitFor();
      await p.page.getByRole('checkbox', { name: 'Restrict recording download' }).waitFor();
      await p.assertAccessible('edit form');

      // A 400: the error appears next to the field it names.
      await p.page.getByRole('textbox', { name: 'Email' }).fill('not-an-email');
      await p.page.getByRole('button', { name: 'Save', exact: true }).click();
      const email = p.page.getByRole('textbox', { name: 'Email' });
      await p.page.waitForFunction(
        () => document.querySelector('input[type=email]')?.getAttribute('aria-invalid') === 'true',
      );
      const describedBy = await email.getAttribute('aria-describedby');
      assert.ok(describedBy);
      assert.match((await p.page.locator(`[id="${describedBy}"]`).textContent()) ?? '', /email/i);
      await p.screenshot('user-edit-error');

      // Saved: the page shows the change, the history lists it first.
      await email.fill('edward@example.com');
      await p.page.getByRole('textbox', { name: 'Name', exact: true }).fill('Edward Q. Woods');
      await roles.getByRole('checkbox', { name: 'rescue' }).check();
      await p.page.getByRole('button', { name: 'Save', exact: true }).click();
      await p.page.getByRole('heading', { level: 1, name: 'Edward Q. Woods' }).waitFor();
      const stored = await apiUser('ewoods');
      assert.equal(stored.name, 'Edward Q. Woods');
      await p.page
        .getByRole('region', { name: 'History' })
        .getByRole('listitem')
        .first()
        .getByText('user.patch')
        .waitFor();

      // A 412: someone else changes the user while the form is open.
      await p.page.getByRole('button', { name: 'Edit', exact: true }).click();
      const changed = await api('PATCH', '/users/ewoods', { phone: '705-722-0000' });
      assert.equal(changed.statusCode, 200, changed.body);
      await p.page.getByRole('textbox', { name: 'Name', exact: true }).fill('Mine');
      await p.page.getByRole('button', { name: 'Save', exact: true }).click();
      const alert = p.page.getByRole('alert');
      await alert.getByText(/Someone else changed this user/).waitFor();
      await alert.getByRole('button', { name: 'Reload' }).click();
      await p.page.waitForFunction(
        () => document.querySelector<HTMLInputElement>('input[type=tel]')?.value === '705-722-0000',
      );
      assert.equal(await p.page.getByRole('textbox', { name: 'Name', exact: true }).inputValue(), 'Edward Q. Woods');
      assert.equal(await p.page.getByRole('alert').count(), 0);
      await p.page.getByRole('button', { name: 'Cancel' }).click();
      p.assertNoErrors();
      await p.close();
    });

    it('deactivates in a dialog that traps focus, closes on Escape, and reassigns the groups', async () => {
      const { results } = (await api('GET', '/users?status=activated&pagesize=200')).json<{ results: ApiUser[] }>();
      const owner = results.find((u) => u.access.group_owners.length > 0 && u.username !== 'test1');
      assert.ok(owner, 'the demo has an activated user who owns groups');
      p = await h.openPage();
      await p.signIn(h.t.demo.write, `/console/users/${owner.username}`);
      await p.page.getByRole('heading', { level: 1, name: owner.name }).waitFor();
      assert.equal(
        await p.page.getByRole('button', { name: 'Activate', exact: true }).count(),
        0,
        'no Activate on an activated user',
      );
      const opener = p.page.getByRole('button', { name: 'Deactivate', exact: true });
      await opener.click();
      const dialog = p.page.getByRole('dialog', { name: `Deactivate ${owner.name}` });
      await dialog.waitFor();
      for (let i = 0; i < 8; i++) {
        await p.page.keyboard.press('Tab');
        assert.ok(
          await dialog.evaluate((d) => d.contains(document.activeElement)),
          `focus stays in the dialog (Tab ${i + 1})`,
        );
      }
      await p.page.keyboard.press('Shift+Tab');
      assert.ok(await dialog.evaluate((d) => d.contains(document.activeElement)), 'Shift+Tab too');
      await p.assertAccessible('deactivate dialog');
      await p.page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      assert.ok(await opener.evaluate((b) => b === document.activeElement), 'focus returns to Deactivate');

      await opener.click();
      const picker = dialog.getByRole('combobox', { name: 'Reassign groups to' });
      await picker.fill('test');
      await p.page.waitForFunction(() =>
        [...document.querySelectorAll('datalist option')].some((o) => (o as HTMLOptionElement).value === 'test1'),
      );
      await picker.fill('test1');
      await dialog.getByRole('checkbox', { name: 'Delete scheduled reports' }).check();
      await p.screenshot('user-deactivate');
      await dialog.getByRole('button', { name: 'Deactivate', exact: true }).click();
      await dialog.waitFor({ state: 'hidden' });
      await p.page.locator('dl').getByText('deactivated', { exact: true }).waitFor();
      await p.page.getByRole('button', { name: 'Activate', exact: true }).waitFor();
      assert.equal(await p.page.getByRole('button', { name: 'Deactivate', exact: true }).count(), 0);
      assert.equal((await apiUser(owner.user_id)).status, 'deactivated');
      assert.deepEqual((await apiUser(owner.user_id)).access.group_owners, []);
      const heir = await apiUser('test1');
      for (const group of owner.access.group_owners)
        assert.ok(heir.access.group_owners.includes(group), `group ${group} moved`);

      await p.page.getByRole('button', { name: 'Activate', exact: true }).click();
      await p.page.locator('dl').getByText('activated', { exact: true }).waitFor();
      assert.equal((await apiUser(owner.user_id)).status, 'activated');
      p.assertNoErrors();
      await p.close();
    });

    it('creates a user from "New user" (outside the search), landing on its page awaiting approval', async () => {
      p = await h.openPage();
      await p.signIn(h.t.demo.write);
      const button = p.page.getByRole('button', { name: 'New user' });
      assert.equal(await p.page.getByRole('search').getByRole('button', { name: 'New user' }).count(), 0);
      await button.click();
      await p.page.waitForURL('**/console/new-user');
      await p.page.getByRole('heading', { level: 1, name: 'New user' }).waitFor();
      await p.assertAccessible('new user form');
      await p.screenshot('new-user');
      await p.page.getByRole('button', { name: 'Create', exact: true }).click();
      await p.page.waitForFunction(() => document.querySelectorAll('[aria-invalid="true"]').length >= 2);
      assert.equal(await p.page.getByRole('textbox', { name: 'Username' }).getAttribute('aria-invalid'), 'true');
      await p.assertAccessible('new user form with errors');
      await p.page.getByRole('textbox', { name: 'Username' }).fill('console.made');
      await p.page.getByRole('textbox', { name: 'Name', exact: true }).fill('Made In Console');
      await p.page.getByRole('textbox', { name: 'Email' }).fill('made@example.com');
      await p.page.getByRole('group', { name: 'Roles' }).getByRole('checkbox', { name: 'reporting' }).check();
      await p.page.getByRole('button', { name: 'Create', exact: true }).click();
      await p.page.getByRole('heading', { level: 1, name: 'Made In Console' }).waitFor();
      assert.equal(await field('Status').textContent(), 'awaiting_approval');
      const created = await apiUser('console.made');
      assert.equal(new URL(p.page.url()).pathname, `/console/users/${created.user_id}`);
      p.assertNoErrors();
      await p.close();
    });
  });
}
