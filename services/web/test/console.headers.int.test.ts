/**
 * The console, Swagger UI and the queue dashboard in Debian's headless Chromium under the
 * Content-Security-Policy headers the API sends (services/api/src/security-headers.ts): each page
 * loads and runs with no policy violation, and no other site can frame the console.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { start as startApi, type RunningApi } from '@pksync/api';
import { loadConfig } from '@pksync/config';
import { createKey } from '@pksync/db';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import { webRoot } from '../src/index.ts';
import { browserSkipReason, launchChromium, newPage, pageReady, type BrowserHandle } from './support/browser.ts';
import { serveStatic } from './support/static-server.ts';

const skip = browserSkipReason();

/** Records every CSP violation of the page's documents (frames included) in `window.__csp`. */
async function recordViolations(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      w.__csp.push(`${e.effectiveDirective} ${e.blockedURI || '(inline)'}`),
    );
  });
}

const violations = (page: Page) => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);

describe.skipIf(Boolean(skip))('security headers in Chromium', { timeout: 60_000 }, () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let api: RunningApi;
  let handle: BrowserHandle;
  let browser: Browser;
  let admin: string;

  beforeAll(async () => {
    admin = (await createKey(t.db, { name: 'headers-admin', role: 'admin', actor: 'test' })).key;
    const config = loadConfig({
      DATABASE_URL: t.url,
      REDIS_URL: r.url,
      QUEUE_PREFIX: r.prefix,
      TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'error',
      PORT: '0',
    });
    api = await startApi(config, { webRoot });
    handle = await launchChromium();
    browser = handle.browser;
  }, 60_000);

  afterAll(async () => {
    await handle?.close();
    await api?.close();
  });

  it('loads and runs the console under its header policy (frame-ancestors included), signed in too', async () => {
    const { context, page, errors } = await newPage(browser, { baseURL: api.url });
    try {
      await recordViolations(page);
      const res = await page.goto('/');
      const csp = res?.headers()['content-security-policy'] ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(res?.headers()['x-content-type-options']).toBe('nosniff');
      await pageReady(page, 'signin');
      await page.fill('input[name=key]', admin);
      await page.press('input[name=key]', 'Enter');
      await pageReady(page, 'overview');
      expect(await page.locator('main[data-page="overview"]').count()).toBe(1);
      expect(await violations(page)).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('cannot be framed by another site', async () => {
    const other = await serveStatic(webRoot);
    const { context, page } = await newPage(browser, { baseURL: other.url });
    try {
      await page.route(`${other.url}/framer.html`, (route) =>
        route.fulfill({
          contentType: 'text/html',
          body: `<!doctype html><iframe src="${api.url}/" onload="document.body.dataset.loaded = '1'"></iframe>`,
        }),
      );
      await page.goto('/framer.html');
      await page.waitForSelector('body[data-loaded="1"]', { state: 'attached' });
      // Chromium refuses the navigation (frame-ancestors 'none', and X-Frame-Options: DENY for
      // older browsers): the frame holds its error page, not the console.
      const frame = page.frames().find((f) => f !== page.mainFrame());
      expect(frame).toBeDefined();
      expect(frame!.url()).toMatch(/^chrome-error:/);
      expect(await frame!.locator('#app').count()).toBe(0);
    } finally {
      await context.close();
      await other.close();
    }
  });

  it('runs Swagger UI at /api/docs under its own policy', async () => {
    const { context, page, errors } = await newPage(browser, { baseURL: api.url });
    try {
      await recordViolations(page);
      const res = await page.goto('/api/docs');
      expect(res?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
      await page.waitForSelector('.swagger-ui .info .title');
      expect(await page.locator('.swagger-ui .opblock').count()).toBeGreaterThan(10);
      expect(await violations(page)).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('runs the queue dashboard at /admin/queues under its relaxed policy (only Google Fonts refused)', async () => {
    const { context, page } = await newPage(browser, { baseURL: api.url });
    await context.setHTTPCredentials({ username: 'admin', password: admin });
    try {
      await recordViolations(page);
      const res = await page.goto('/admin/queues');
      expect(res?.status()).toBe(200);
      expect(res?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
      // Bull Board's React app has replaced its loading placeholder with its header.
      await page.waitForSelector('#root header');
      expect(await page.locator('#root header').textContent()).toContain('pksync queues');
      const seen = await violations(page);
      expect(seen.filter((v) => !v.includes('fonts.googleapis.com'))).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
