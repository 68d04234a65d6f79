import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from '../support/databases.js';
import { startConsoleHarness, type ConsoleHarness, type ConsolePage } from '../support/browser.js';

// The browser tests run on SQLite only (the issue asks for that): the API under them is tested on both.
for (const dialect of DIALECTS.filter((d) => d === 'sqlite')) {
  describe(`console: sign in, the users view (${dialect}, Chromium)`, () => {
    let h: ConsoleHarness;
    let p: ConsolePage;
    const url = () => new URL(p.page.url());
    const rows = () => p.page.getByRole('table', { name: 'Users' }).getByRole('row');
    const historyLength = () => p.page.evaluate(() => history.length);

    before(async () => {
      h = await startConsoleHarness();
    });
    after(async () => h.close());

    it('refuses a wrong key with the API problem, in an alert', async () => {
      p = await h.openPage();
      await p.page.goto(`${h.base}/console`);
      await p.assertAccessible('sign-in form');
      await p.screenshot('sign-in');
      await p.page.getByLabel('API key').fill('rst_not-a-key');
      await p.page.getByRole('button', { name: 'Sign in' }).click();
      const alert = p.page.getByRole('alert');
      await alert.waitFor();
      assert.match((await alert.textContent()) ?? '', /The API key is unknown, revoked or expired/);
      assert.equal(await p.page.evaluate(() => sessionStorage.length), 0);
      p.assertNoErrors();
      await p.close();
    });

    it('keeps a right key in sessionStorage only, opens the users view, and forgets it on Sign out', async () => {
      p = await h.openPage();
      await p.signIn(h.t.demo.admin, '/console');
      await rows().nth(1).waitFor();
      assert.equal(url().pathname, '/console/users');
      assert.ok(!p.page.url().includes(h.t.demo.admin), 'never in the URL');
      const stored = await p.page.evaluate(() => ({
        session: Object.values(sessionStorage),
        local: localStorage.length,
        cookie: document.cookie,
      }));
      assert.deepEqual(stored, { session: [h.t.demo.admin], local: 0, cookie: '' });
      assert.deepEqual(await p.context.cookies(), []);
      const who = await p.page.getByRole('banner').textContent();
      assert.match(who ?? '', /demo · admin key rst_/);
      await p.page.getByRole('button', { name: 'Sign out' }).click();
      await p.page.getByLabel('API key').waitFor();
      assert.equal(await p.page.evaluate(() => sessionStorage.length), 0);
      p.assertNoErrors();
      await p.close();
    });

    it('returns to a deep link after sign-in, with its filters, order and page', async () => {
      p = await h.openPage();
      await p.signIn(
        h.t.demo.read,
        '/console/users?status=deactivated&sortby=name&sortorder=desc&pagesize=25&pagenumber=1',
      );
      await rows().nth(1).waitFor();
      assert.equal(url().searchParams.get('status'), 'deactivated');
      assert.equal(await p.page.getByRole('combobox', { name: 'Status', exact: true }).inputValue(), 'deactivated');
      const statuses = await rows().locator('td:nth-child(4)').allTextContents();
      assert.ok(statuses.length > 0 && statuses.every((s) => s === 'deactivated'), statuses.join());
      assert.equal(
        await p.page.getByRole('columnheader', { name: 'Name', exact: true }).getAttribute('aria-sort'),
        'descending',
      );
      // A read key sees no write buttons.
      assert.equal(await p.page.getByRole('button', { name: 'New user' }).count(), 0);
      p.assertNoErrors();
      await p.close();
    });

    it('has the navigation, the search landmark, the table, the total and the pager', async () => {
      p = await h.openPage();
      await p.signIn(h.t.demo.admin);
      await rows().nth(1).waitFor();
      const nav = p.page.getByRole('navigation', { name: 'Main' });
      for (const name of ['Users', 'Billing groups', 'Audit'])
        await nav.getByRole('link', { name, exact: true }).waitFor();
      const search = p.page.getByRole('search');
      for (const name of ['Username', 'Name', 'Billing group'])
        await search.getByRole('textbox', { name, exact: true }).waitFor();
      const status = search.getByRole('combobox', { name: 'Status', exact: true });
      assert.deepEqual(await status.locator('option').allTextContents(), [
        'any',
        'awaiting_approval',
        'activated',
        'deactivated',
      ]);
      assert.equal(await search.getByRole('combobox', { name: 'Role', exact: true }).locator('option').count(), 9);
      const headers = await p.page.getByRole('table', { name: 'Users' }).getByRole('columnheader').allTextContents();
      assert.deepEqual(
        headers.map((h) => h.replace(/[▲▼]/g, '').trim()),
        ['Username', 'Name', 'Email', 'Status', 'Roles', 'Last login'],
      );
      assert.equal(
        await p.page.getByRole('columnheader', { name: 'Username', exact: true }).getAttribute('aria-sort'),
        'ascending',
      );
      assert.equal(await rows().count(), 26, 'a header row and the default 25');
      assert.equal(await p.page.getByText('165 users').count(), 1);
      await p.page.getByText('Page 1 of 7').waitFor();
      for (const name of ['Previous page', 'Next page']) await p.page.getByRole('button', { name }).waitFor();
      await p.page.getByRole('combobox', { name: 'Rows per page' }).waitFor();
      const first = await rows().nth(1).getByRole('link').textContent();
      const api = await h.t.app.inject({
        url: '/api/v1/users?pagesize=1',
        headers: { authorization: `Bearer ${h.t.demo.admin}` },
      });
      assert.equal(first, api.json().results[0].username, "the API's default order: username ascending");
      await p.assertAccessible('users view');
      await p.screenshot('users');
      p.assertNoErrors();
      await p.close();
    });

    it('applies typed filters debounced (replacing the history entry) and on Enter', async () => {
      p = await h.openPage();
      await p.signIn(h.t.demo.admin);
      await rows().nth(1).waitFor();
      const before = await historyLength();
      await p.page.getByRole('textbox', { name: 'Username', exact: true }).pressSequentially('smi', { delay: 30 });
      await p.page.waitForURL(/username=smi/);
      await p.page
        .getByText(/^\d+ users?$/)
        .filter({ hasNotText: '165 users' })
        .waitFor();
      const usernames = await rows().locator('td:first-child').allTextContents();
      assert.ok(usernames.length > 0 && usernames.every((u) => u.toLowerCase().includes('smi')), usernames.join());
      assert.equal(await historyLength(), before, 'typing replaces the current entry');
      await p.page.getByRole('textbox', { name: 'Username', exact: true }).fill('');
      await p.page.getByRole('textbox', { name: 'Name', exact: true }).fill('Rob Smith');
      await p.page.getByRole('textbox', { name: 'Name', exact: true }).press('Enter');
      await p.page.waitForURL(/name=Rob\+Smith/);
      await p.page.getByText('1 user', { exact: true }).waitFor();
      assert.deepEqual(await rows().locator('td:first-child').allTextContents(), ['rsmith']);
      await p.page.getByRole('textbox', { name: 'Name', exact: true }).fill('');
      await p.page.getByRole('combobox', { name: 'Role', exact: true }).selectOption('rescue');
      await p.page.waitForURL(/role=rescue/);
      await p.page.getByRole('textbox', { name: 'Billing group' }).fill('abc');
      await p.page.getByRole('textbox', { name: 'Billing group' }).press('Enter');
      const alert = p.page.getByRole('alert');
      await alert.waitFor();
      assert.match((await alert.textContent()) ?? '', /billing_group/, 'the API names the bad value');
      p.assertNoErrors();
      await p.close();
    });

    it('pages and sorts with history entries: Back, Forward and reload show the same view', async () => {
      p = await h.openPage();
      await p.signIn(h.t.demo.admin);
      await rows().nth(1).waitFor();
      const page1 = await rows().nth(1).locator('td').first().textContent();
      await p.page.getByRole('button', { name: 'Next page' }).click();
      await p.page.waitForURL(/pagenumber=2/);
      await p.page.getByText('Page 2 of 7').waitFor();
      const page2 = await rows().nth(1).locator('td').first().textContent();
      assert.notEqual(page2, page1);
      await p.page.getByRole('button', { name: 'Name', exact: true }).click();
      await p.page.waitForURL(/sortby=name/);
      assert.equal(url().searchParams.get('pagenumber'), '1');
      assert.equal(
        await p.page.getByRole('columnheader', { name: 'Name', exact: true }).getAttribute('aria-sort'),
        'ascending',
      );
      assert.equal(
        await p.page.getByRole('columnheader', { name: 'Username', exact: true }).getAttribute('aria-sort'),
        'none',
      );
      await p.page.getByRole('combobox', { name: 'Rows per page' }).selectOption('50');
      await p.page.waitForURL(/pagesize=50/);
      await p.page.getByText('Page 1 of 4').waitFor();
      // The pager follows the URL at once; the rows follow when the bigger page arrives.
      await rows().nth(50).waitFor();
      assert.equal(await rows().count(), 51);
      await p.page.goBack();
      await p.page.waitForURL(
        (u) => u.searchParams.get('pagesize') === '25' && u.searchParams.get('sortby') === 'name',
      );
      await p.page.goBack();
      await p.page.waitForURL((u) => u.searchParams.get('pagenumber') === '2' && !u.searchParams.has('sortby'));
      await p.page.getByText('Page 2 of 7').waitFor();
      assert.equal(await rows().nth(1).locator('td').first().textContent(), page2);
      await p.page.goForward();
      await p.page.waitForURL(/sortby=name/);
      await p.page.reload();
      await rows().nth(1).waitFor();
      assert.equal(
        await p.page.getByRole('columnheader', { name: 'Name', exact: true }).getAttribute('aria-sort'),
        'ascending',
      );
      await p.page.getByText('Page 1 of 7').waitFor();
      // Opening a user is a history entry too.
      const link = rows().nth(1).getByRole('link');
      const username = (await link.textContent()) ?? '';
      await link.click();
      await p.page.waitForURL(`**/console/users/${encodeURIComponent(username)}`);
      await p.page.getByRole('heading', { level: 1 }).waitFor();
      assert.equal(await p.page.evaluate(() => document.activeElement?.id), 'main', 'a new page starts at its content');
      await p.page.goBack();
      await p.page.waitForURL(/sortby=name/);
      p.assertNoErrors();
      await p.close();
    });

    it('reaches every control with Tab, with a visible focus ring', async () => {
      p = await h.openPage();
      await p.signIn(h.t.demo.admin);
      await rows().nth(1).waitFor();
      const reached = new Set<string>();
      for (let i = 0; i < 60; i++) {
        await p.page.keyboard.press('Tab');
        const focused = await p.page.evaluate(() => {
          const el = document.activeElement as HTMLElement | null;
          if (!el || el === document.body) return null;
          const style = getComputedStyle(el);
          // A control wrapped in its label: the label's own text, not the options inside it.
          const label =
            el.getAttribute('aria-label') ??
            (el as HTMLInputElement).labels?.[0]?.childNodes[0]?.textContent ??
            el.textContent ??
            '';
          return { label: label.trim(), ring: style.outlineStyle !== 'none' && style.outlineWidth !== '0px' };
        });
        if (!focused) continue;
        assert.ok(focused.ring, `visible focus on "${focused.label}"`);
        reached.add(focused.label.replace(/[▲▼]/g, '').trim());
      }
      for (const name of [
        'Users',
        'Billing groups',
        'Audit',
        'Sign out',
        'New user',
        'Username',
        'Name',
        'Billing group',
        'Status',
        'Role',
        'Search',
        'Next page',
        'Rows per page',
      ])
        assert.ok(reached.has(name), `Tab reaches "${name}" (reached: ${[...reached].join(', ')})`);
      p.assertNoErrors();
      await p.close();
    });
  });
}
