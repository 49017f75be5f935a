import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Where Debian's `chromium` package puts the browser (override with CHROMIUM_PATH). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null when they can. Printed once as one line. */
export function browserSkipReason(): string | null {
  if (process.env.PKSYNC_SKIP_BROWSER) return 'PKSYNC_SKIP_BROWSER is set';
  if (!existsSync(CHROMIUM_PATH)) {
    return `${CHROMIUM_PATH} is missing (install Debian's chromium: apt-get install -y chromium; scripts/test does this when it can)`;
  }
  return null;
}

/** Screenshots of each page land here (git-ignored). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));

export interface BrowserHandle {
  browser: Browser;
  close(): Promise<void>;
}

/**
 * Starts Debian's Chromium headless through playwright-core (no browser download), with a fresh
 * profile directory that is removed on close.
 */
export async function launchChromium(): Promise<BrowserHandle> {
  // playwright-core's launch() always starts Chromium with a fresh temporary --user-data-dir of
  // its own (it refuses one in args), removed when the browser closes; crash dumps go to ours.
  const profile = mkdtempSync(join(tmpdir(), 'pksync-chromium-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--crash-dumps-dir=${profile}`,
    ],
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A context with the console's default viewport (laptop) and a page that records its errors. */
export async function newPage(
  browser: Browser,
  options: { baseURL: string; viewport?: { width: number; height: number } },
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({
    baseURL: options.baseURL,
    viewport: options.viewport ?? { width: 1366, height: 900 },
    locale: 'id-ID',
    timezoneId: 'Asia/Jakarta',
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // a refused request (401/403) is logged by Chromium itself; the console shows it as a message
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
  });
  return { context, page, errors };
}

/** Saves a full-page screenshot as `<name>.png` in {@link SCREENSHOT_DIR}. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Waits for the current page of the console to finish loading (`main[data-ready]`). */
export async function pageReady(page: Page, name?: string): Promise<void> {
  const selector = name ? `main[data-page="${name}"][data-ready="true"]` : 'main[data-ready="true"]';
  await page.waitForSelector(selector, { timeout: 30_000 });
}
