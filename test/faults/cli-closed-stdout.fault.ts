import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { rosterIntoClosedReader, STACK } from './pipes.js';

for (const dialect of DIALECTS) {
  describe(`CLI commands that print, with their reader gone before they write (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(dialect);
    });
    after(async () => t.close());

    it('export (NDJSON, CSV), keys list and audit exit 0 without a stack trace', async () => {
      const env = { DATABASE_URL: t.config.database.url, ROSTER_DEMO: '0' };
      for (const args of [
        ['export', '--org', 'demo'],
        ['export', '--org', 'demo', '--format', 'csv'],
        ['keys', 'list', '--org', 'demo'],
        ['audit', '--org', 'demo'],
      ]) {
        const run = await rosterIntoClosedReader(args, env);
        assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
        assert.doesNotMatch(run.stderr, STACK, args.join(' '));
      }
    });
  });
}
