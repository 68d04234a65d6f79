import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import axe from 'axe-core';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CONSOLE_DIR } from '../../src/web/console.plugin.js';
import { buildTestApp, type TestApp } from './app.js';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it): playwright-core downloads no browser. */
const CHROMIUM = process.env.ROSTER_TEST_CHROMIUM ?? '/usr/bin/chromium';
// playwright-core gives every launch a fresh temporary profile (user-data-dir) of its own.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Screenshots of each view (gitignored; a few are copied to docs/console/ for the README). */
const SCREENSHOT_DIR = 'test-output/console';

/** axe-core's own script, injected into each page under test. */
const AXE_SOURCE = axe.source;

/** Chromium's own line for an API answer the console asked for and handles (a wrong key's 401, a 412, a 400). */
const DELIBERATE_4XX = /^Failed to load resource: the server responded with a status of 4\d\d/;

export interface ConsoleHarness {
  readonly t: TestApp;
  readonly base: string;
  readonly browser: Browser;
  /** A fresh browser context (its own sessionStorage) and page; console errors are collected for `assertNoErrors`. */
  openPage(): Promise<ConsolePage>;
  close(): Promise<void>;
}

export interface ConsolePage {
  readonly page: Page;
  readonly context: BrowserContext;
  readonly errors: string[];
  /** Opens a console path and signs in with the key there (the deep link survives sign-in). */
  signIn(key: string, path?: string): Promise<void>;
  /** Runs axe-core on the page as it is: no serious or critical violation. */
  assertAccessible(what: string): Promise<void>;
  screenshot(name: string): Promise<void>;
  assertNoErrors(): void;
  close(): Promise<void>;
}

/** The real app on a random port (SQLite, the demo organization and its keys) and one Chromium for a test file. */
export async function startConsoleHarness(env: Record<string, string> = {}): Promise<ConsoleHarness> {
  assert.ok(existsSync(join(CONSOLE_DIR, 'index.html')), 'the console is not built: run `npm run build:console`');
  const t = await buildTestApp('sqlite', env);
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  assert.ok(address && typeof address === 'object');
  const base = `http://127.0.0.1:${address.port}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
  });
  mkdirSync(SCREENSHOT_DIR, { recursive: true });

  async function openPage(): Promise<ConsolePage> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' && !DELIBERATE_4XX.test(message.text())) errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    return {
      page,
      context,
      errors,
      async signIn(key, path = '/console/users') {
        await page.goto(base + path);
        await page.getByLabel('API key').fill(key);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('button', { name: 'Sign out' }).waitFor();
      },
      async assertAccessible(what) {
        await page.evaluate(AXE_SOURCE);
        const violations = await page.evaluate(async () => {
          const axe = (
            window as unknown as {
              axe: {
                run(): Promise<{
                  violations: Array<{ id: string; impact: string; nodes: Array<{ target: unknown }> }>;
                }>;
              };
            }
          ).axe;
          return (await axe.run()).violations.map((v) => ({
            id: v.id,
            impact: v.impact,
            targets: v.nodes.map((n) => n.target),
          }));
        });
        const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
        assert.deepEqual(bad, [], `${what}: axe-core found serious or critical violations`);
      },
      async screenshot(name) {
        await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
      },
      assertNoErrors() {
        assert.deepEqual(errors, [], 'no errors in the browser console');
      },
      close: () => context.close(),
    };
  }

  return {
    t,
    base,
    browser,
    openPage,
    async close() {
      await browser.close();
      await t.close();
    },
  };
}
