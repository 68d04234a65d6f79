import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from '../support/databases.js';
import { startConsoleHarness, type ConsoleHarness, type ConsolePage } from '../support/browser.js';

for (const dialect of DIALECTS.filter((d) => d === 'sqlite')) {
  describe(`console: billing groups and the audit trail (${dialect}, Chromium)`, () => {
    let h: ConsoleHarness;
    let p: ConsolePage;

    before(async () => {
      h = await startConsoleHarness();
    });
    after(async () => h.close());

    it('shows the hierarchy as an ARIA tree, three levels, leaves listing their groups, by keyboard', async () => {
      p = await h.openPage();
      await p.signIn(h.t.demo.read, '/console/billing-groups');
      const tree = p.page.getByRole('tree', { name: 'Billing groups' });
      await tree.waitFor();
      const item = (name: string) => tree.getByRole('treeitem', { name, exact: true });
      assert.equal(await item('Marchex Demo').getAttribute('aria-level'), '1');
      assert.equal(await item('Marketing').getAttribute('aria-level'), '2');
      assert.equal(await item('Marketing East').getAttribute('aria-level'), '3');
      assert.equal(await item('Group: Northside Roofing').getAttribute('aria-level'), '4');
      // A leaf's groups follow it, one level down (a flat tree: aria-level, aria-setsize, aria-posinset).
      const names = await tree.getByRole('treeitem').allTextContents();
      const east = names.findIndex((n) => n.endsWith('Marketing East'));
      assert.match(names[east + 1] ?? '', /Group: Northside Roofing$/);
      assert.equal(await p.page.getByRole('button', { name: 'New billing group' }).count(), 0, 'admin only');
      await p.assertAccessible('billing groups');

      // One tab stop; arrows move, Left closes, Right opens.
      await item('Marchex Demo').focus();
      await p.page.keyboard.press('ArrowDown');
      assert.equal(await item('Sales').evaluate((el) => el === document.activeElement), true);
      await p.page.keyboard.press('ArrowLeft');
      assert.equal(await item('Sales').getAttribute('aria-expanded'), 'false');
      assert.equal(await item('Group: Acme Plumbing').count(), 0);
      await p.page.keyboard.press('ArrowRight');
      assert.equal(await item('Sales').getAttribute('aria-expanded'), 'true');
      await p.page.keyboard.press('End');
      assert.equal(await item('Group: Partner Leads').evaluate((el) => el === document.activeElement), true);
      assert.equal(await tree.locator('[role=treeitem][tabindex="0"]').count(), 1);
      p.assertNoErrors();
      await p.close();
    });

    it('lets an admin key add a billing group and a group on it', async () => {
      p = await h.openPage();
      await p.signIn(h.t.demo.admin, '/console/billing-groups');
      const tree = p.page.getByRole('tree', { name: 'Billing groups' });
      await tree.waitFor();
      await p.page.getByRole('button', { name: 'New billing group' }).click();
      const bgForm = p.page.getByRole('form', { name: 'New billing group' });
      await bgForm.getByRole('textbox', { name: 'Billing group name' }).fill('Console Region');
      await bgForm.getByRole('combobox', { name: 'Parent' }).selectOption({ label: 'Marchex Demo' });
      await bgForm.getByRole('button', { name: 'Create billing group' }).click();
      const created = tree.getByRole('treeitem', { name: 'Console Region', exact: true });
      await created.waitFor();
      assert.equal(await created.getAttribute('aria-level'), '2');

      await p.page.getByRole('button', { name: 'New group' }).click();
      const groupForm = p.page.getByRole('form', { name: 'New group' });
      await groupForm.getByRole('textbox', { name: 'Group name' }).fill('Console Advertiser');
      await groupForm.getByRole('combobox', { name: 'On billing group' }).selectOption({ label: 'Console Region' });
      await p.assertAccessible('new group form');
      await groupForm.getByRole('button', { name: 'Create group' }).click();
      const group = tree.getByRole('treeitem', { name: 'Group: Console Advertiser', exact: true });
      await group.waitFor();
      assert.equal(await group.getAttribute('aria-level'), '3');
      await p.screenshot('billing-groups');
      p.assertNoErrors();
      await p.close();
    });

    it('pages and filters the audit trail for an admin key', async () => {
      p = await h.openPage();
      await p.signIn(h.t.demo.admin, '/console/audit');
      const table = p.page.getByRole('table', { name: 'Audit entries' });
      await table.getByRole('row').nth(1).waitFor();
      const headers = await table.getByRole('columnheader').allTextContents();
      assert.deepEqual(headers.slice(0, 4), ['When', 'Key prefix', 'Action', 'Target']);
      await p.page.getByRole('search').getByRole('textbox', { name: 'Action' }).fill('key.create');
      await p.page.waitForURL(/action=key\.create/);
      await p.page.getByText(/^\d+ entr(y|ies)$/).waitFor();
      await p.page.waitForFunction(() =>
        [...document.querySelectorAll('table tbody tr td:nth-child(3)')].every((td) => td.textContent === 'key.create'),
      );
      const actions = await table.locator('tbody td:nth-child(3)').allTextContents();
      assert.ok(actions.length >= 3 && actions.every((a) => a === 'key.create'), actions.join());
      assert.deepEqual(await table.locator('tbody td:nth-child(2)').first().textContent(), 'cli');
      await p.page.getByRole('combobox', { name: 'Target type', exact: true }).selectOption('user');
      await p.page.waitForURL(/target_type=user/);
      await p.page.getByText('0 entries').waitFor();
      for (const name of ['Previous page', 'Next page']) await p.page.getByRole('button', { name }).waitFor();
      await p.page.getByRole('combobox', { name: 'Target type', exact: true }).selectOption('');
      await p.page.getByRole('textbox', { name: 'Action' }).fill('');
      await p.page
        .getByText(/^\d+ entries$/)
        .filter({ hasNotText: '0 entries' })
        .waitFor();
      await p.assertAccessible('audit');
      await p.screenshot('audit');
      p.assertNoErrors();
      await p.close();
    });

    it('tells a non-admin key which scope the audit trail needs', async () => {
      p = await h.openPage();
      await p.signIn(h.t.demo.write, '/console/audit');
      const alert = p.page.getByRole('alert');
      await alert.waitFor();
      assert.match(
        (await alert.textContent()) ?? '',
        /needs a key with the admin scope; this key \(rst_[\w-]+\) has the write scope/,
      );
      assert.equal(await p.page.getByRole('table').count(), 0);
      await p.assertAccessible('audit (write key)');
      p.assertNoErrors();
      await p.close();
    });
  });
}
