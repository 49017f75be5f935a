/**
 * The console in headless Chromium against a scripted stand-in of the API (routes intercepted in
 * the page): checks what depends only on the console itself — hostile text renders as text, the
 * language switch, keyboard navigation, the phone layout, the sign-in flow and role-dependent
 * controls. The end-to-end test (console.e2e.int.test.ts) runs the same console against the real API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page, Route } from 'playwright-core';
import { webRoot } from '../src/index.ts';
import {
  browserSkipReason,
  launchChromium,
  newPage,
  pageReady,
  screenshot,
  type BrowserHandle,
} from './support/browser.ts';
import { serveStatic } from './support/static-server.ts';

const skip = browserSkipReason();
// the reason is printed once, by console.e2e.int.test.ts

const HOSTILE = `<img src=x onerror="window.__pwned=1">Kota "Palembang" & <b>bold</b>`;

const PROVINCE_CODES = [
  '11',
  '12',
  '13',
  '14',
  '15',
  '16',
  '17',
  '18',
  '19',
  '21',
  '31',
  '32',
  '33',
  '34',
  '35',
  '36',
  '51',
  '52',
  '53',
  '61',
  '62',
  '63',
  '64',
  '65',
  '71',
  '72',
  '73',
  '74',
  '75',
  '76',
  '81',
  '82',
  '91',
  '92',
  '93',
  '94',
  '95',
  '96',
];

function province(code: string) {
  const sumsel = code === '16';
  return {
    code,
    name: sumsel ? 'Sumatera Selatan' : `Provinsi ${code}`,
    level: 'province',
    parent_code: null,
    coverage: { covered: sumsel ? 12 : Number(code) % 5, total: sumsel ? 17 : 4 },
    officers: { ahli_pertama: 10, ahli_muda: 5, ahli_madya: 2, ahli_utama: 0 },
    formation: {
      ahli_pertama: { approved: 12, need: 15 },
      ahli_muda: { approved: 6, need: 6 },
      ahli_madya: { approved: 2, need: 3 },
      ahli_utama: { approved: 0, need: 0 },
    },
    stale_sources: sumsel ? 1 : 0,
    open_findings: sumsel ? 3 : 0,
    last_success_at: '2026-11-27T18:00:00Z',
    stale: false,
  };
}

const regencies = [
  {
    code: '16.71',
    name: HOSTILE,
    level: 'regency',
    parent_code: '16',
    officers: { ahli_pertama: 3 },
    coverage: { covered: 1, total: 1 },
  },
  {
    code: '16.01',
    name: 'Kabupaten Ogan Komering Ulu',
    level: 'regency',
    parent_code: '16',
    officers: {},
    coverage: { covered: 0, total: 1 },
  },
];

interface Calls {
  sync: unknown[];
  ack: unknown[];
  confirm?: unknown[];
}

async function mockApi(page: Page, calls: Calls): Promise<void> {
  let runPolls = 0;
  await page.route('**/api/v1/**', async (route: Route) => {
    const url = new URL(route.request().url());
    const path = url.pathname.replace('/api/v1', '');
    const auth = route.request().headers()['authorization'] ?? '';
    const json = (status: number, body: unknown) =>
      route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
    const role = auth === 'Bearer admin-key' ? 'admin' : auth === 'Bearer key-12' ? 'province' : null;
    if (path === '/me') {
      if (!role) return json(401, { error: { code: 'unauthorized', message: 'wrong key' } });
      return json(200, { role, province: role === 'province' ? '12' : null, name: role });
    }
    if (path === '/regions') return json(200, { data: PROVINCE_CODES.map(province) });
    if (path === '/regions/16') return json(200, { ...province('16'), regencies });
    if (path === '/runs')
      return json(200, {
        data: [
          {
            id: 'run-1',
            scope: { kind: 'national' },
            trigger: 'schedule',
            status: 'completed',
            counts: { fetched: 10 },
            version_published: 3,
            finished_at: '2026-11-27T18:10:00Z',
          },
        ],
        next_cursor: null,
        schedule: { cron: '0 1 * * *', timezone: 'Asia/Jakarta', next_at: '2026-11-28T18:00:00.000Z' },
      });
    if (path === '/sources') {
      if (role === 'province' && url.searchParams.get('province') === '16')
        return json(403, { error: { code: 'forbidden', message: 'not yours' } });
      return json(200, {
        data: [
          {
            id: '16.71-disnaker',
            agency: HOSTILE,
            region_code: '16.71',
            transport: 'upload',
            stale: true,
            last_fetch: { status: 'failed', error_code: 'timeout' },
          },
        ],
      });
    }
    if (path === '/findings') {
      if (role === 'province' && url.searchParams.get('province') === '16')
        return json(403, { error: { code: 'forbidden', message: 'not yours' } });
      return json(200, {
        data: [
          {
            id: 7,
            code: 'record_rejected',
            severity: 'error',
            status: 'open',
            province_code: '16',
            region_code: '16.71',
            message: HOSTILE,
          },
        ],
        next_cursor: null,
      });
    }
    if (path === '/findings/7/ack') {
      calls.ack.push(route.request().postDataJSON());
      return json(200, {
        id: 7,
        code: 'record_rejected',
        severity: 'error',
        status: 'acknowledged',
        message: HOSTILE,
        ack_note: 'sudah dihubungi',
      });
    }
    if (path === '/sync') {
      calls.sync.push(route.request().postDataJSON());
      return json(202, { run_id: 'run-2' });
    }
    if (path === '/held-removals') {
      return json(200, {
        data: [
          {
            id: 1,
            source_id: '16.71-disnaker',
            agency: HOSTILE,
            region_code: '16.71',
            run_id: 'run-1',
            count: 12,
            active_before: 20,
            created_at: '2026-11-27T18:05:00Z',
          },
        ],
      });
    }
    if (path === '/sources/16.71-disnaker/confirm-removal') {
      if (role !== 'admin') return json(403, { error: { code: 'forbidden', message: 'admin only' } });
      calls.confirm?.push(route.request().postDataJSON());
      return json(202, { confirmed: true, officers: 12, run_id: 'run-2' });
    }
    if (path === '/runs/run-2') {
      runPolls += 1;
      const done = runPolls >= 2;
      return json(200, {
        id: 'run-2',
        status: done ? 'completed' : 'running',
        version_published: done ? 4 : null,
        sources: [{ source_id: '16.71-disnaker', status: done ? 'succeeded' : 'running', counts: { fetched: 5 } }],
      });
    }
    return json(404, { error: { code: 'not_found', message: 'no route' } });
  });
}

describe.skipIf(Boolean(skip))('web console UI (headless Chromium, scripted API)', { timeout: 60_000 }, () => {
  let handle: BrowserHandle;
  let browser: Browser;
  let site: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    site = await serveStatic(webRoot);
    handle = await launchChromium();
    browser = handle.browser;
  });
  afterAll(async () => {
    await handle?.close();
    await site?.close();
  });

  it('signs in, shows the map and table, renders hostile names as text, re-syncs with live progress', async () => {
    const calls: Calls = { sync: [], ack: [] };
    const { context, page, errors } = await newPage(browser, { baseURL: site.url });
    await mockApi(page, calls);
    await page.goto('/');
    await pageReady(page, 'signin');
    expect(await page.locator('h1').textContent()).toBe('Masuk ke konsol');

    await page.fill('input[name=key]', 'wrong');
    await page.press('input[name=key]', 'Enter');
    await page.getByText('Kunci tidak dikenal atau sudah dicabut.').waitFor();

    await page.fill('input[name=key]', 'admin-key');
    await page.click('button[type=submit]');
    await pageReady(page, 'overview');
    expect(await page.locator('.tilemap a.tile').count()).toBe(38);
    await expect.poll(() => page.locator('a.tile[data-code="16"]').getAttribute('class')).toContain('cov-2');
    expect(await page.locator('tr[data-code="16"]').textContent()).toContain('12 dari 17');
    expect(await page.evaluate(() => sessionStorage.getItem('pksync.apiKey'))).toBe('admin-key');
    expect(await page.evaluate(() => localStorage.getItem('pksync.apiKey'))).toBeNull();

    await page.click('a.tile[data-code="16"]');
    await pageReady(page, 'province');
    const row = page.locator('tr[data-code="16.71"] th');
    expect(await row.textContent()).toBe(HOSTILE);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await page.locator('tr[data-source="16.71-disnaker"]').waitFor();

    await page.locator('tr[data-code="16.71"] button').click();
    await page.click('form.resync button[type=submit]');
    await page.waitForSelector('.run-progress[data-status="completed"]');
    expect(await page.locator('.run-progress').textContent()).toContain('Versi 4 diterbitkan.');
    expect(calls.sync).toEqual([{ scope: { region: '16.71' }, reason: 'Sinkronisasi ulang dari konsol web' }]);
    await screenshot(page, 'ui-province-admin');

    await page.goto('/#/findings?status=open');
    await pageReady(page, 'findings');
    await page.click('button[aria-label="Akui temuan 7"]');
    await page.fill('textarea[name=note]', 'sudah dihubungi');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.locator('tr[data-finding="7"]').getByText('diakui', { exact: true }).waitFor();
    expect(calls.ack).toEqual([{ note: 'sudah dihubungi' }]);

    await page.click('button.lang');
    await pageReady(page, 'findings');
    expect(await page.locator('h1').textContent()).toBe('Findings');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    await page.click('button.lang');
    await pageReady(page, 'findings');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('confirms a held mass removal in two steps (admin) and follows the run', async () => {
    const calls: Calls = { sync: [], ack: [], confirm: [] };
    const { context, page, errors } = await newPage(browser, { baseURL: site.url });
    await mockApi(page, calls);
    await page.goto('/');
    await page.fill('input[name=key]', 'admin-key');
    await page.press('input[name=key]', 'Enter');
    await pageReady(page, 'overview');
    await page.goto('/#/removals');
    await pageReady(page, 'removals');
    const row = page.locator('tr[data-source="16.71-disnaker"]');
    expect(await row.locator('th').textContent()).toBe(`${HOSTILE}16.71-disnaker`);
    await row.locator('button').click();
    expect(calls.confirm).toEqual([]); // the first click only asks
    await page.fill('tr[data-source="16.71-disnaker"] input[name=reason]', 'Dinas memang memindahkan 12 pejabat');
    await page.click(`button:has-text("Ya, hapus 12 pejabat")`);
    await page.waitForSelector('.run-progress[data-status="completed"]');
    expect(calls.confirm).toEqual([{ reason: 'Dinas memang memindahkan 12 pejabat' }]);
    expect(errors).toEqual([]);
    await screenshot(page, 'ui-removals-confirmed');
    await context.close();
  });

  it('is keyboard navigable: skip link, then tab to the tiles', async () => {
    const { context, page } = await newPage(browser, { baseURL: site.url });
    await mockApi(page, { sync: [], ack: [] });
    await page.goto('/');
    await page.fill('input[name=key]', 'admin-key');
    await page.press('input[name=key]', 'Enter');
    await pageReady(page, 'overview');
    await page.reload();
    await pageReady(page, 'overview');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Langsung ke isi');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    // the first focusable thing after the headline is a link, then the tiles follow in order
    for (let i = 0; i < 10; i += 1) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement?.classList.contains('tile'))) break;
    }
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-code'))).toBe('11');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/province\/11$/);
    await context.close();
  });

  it('fits a phone screen and refuses another province’s details', async () => {
    const { context, page } = await newPage(browser, { baseURL: site.url, viewport: { width: 390, height: 844 } });
    await mockApi(page, { sync: [], ack: [] });
    await page.goto('/');
    await page.fill('input[name=key]', 'key-12');
    await page.press('input[name=key]', 'Enter');
    await pageReady(page, 'province');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.goto('/#/');
    await pageReady(page, 'overview');
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await screenshot(page, 'ui-phone-overview');
    await page.goto('/#/province/16');
    await pageReady(page, 'province');
    expect(await page.locator('form.resync').count()).toBe(0);
    await page.getByText('Akses ditolak: kunci Anda tidak berhak melihat data ini.').first().waitFor();
    await screenshot(page, 'ui-phone-refused');
    await context.close();
  });
});
