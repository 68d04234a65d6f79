import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from '../support/databases.js';
import { startConsoleHarness, type ConsoleHarness } from '../support/browser.js';

for (const dialect of DIALECTS.filter((d) => d === 'sqlite')) {
  describe(`console: another API_ROOT (${dialect}, Chromium)`, () => {
    let h: ConsoleHarness;

    before(async () => {
      h = await startConsoleHarness({ API_ROOT: '/marketingedge/v5/api' });
    });
    after(async () => h.close());

    it("calls the API under the server's API_ROOT (the typed paths carry the default one)", async () => {
      const p = await h.openPage();
      const calls: string[] = [];
      p.page.on('request', (request) => {
        const { pathname } = new URL(request.url());
        if (!pathname.startsWith('/console')) calls.push(pathname);
      });
      await p.signIn(h.t.demo.read, '/console/users/ewoods');
      await p.page.getByRole('heading', { level: 1, name: 'Edward Woods' }).waitFor();
      assert.ok(calls.length >= 2, calls.join());
      for (const path of calls) assert.match(path, /^\/marketingedge\/v5\/api\//);
      p.assertNoErrors();
      await p.close();
    });
  });
}
