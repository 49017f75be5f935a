/**
 * Issue 8 end to end: the console in Debian's headless Chromium against the real API, workers,
 * PostgreSQL and Redis with the agency simulator (South Sumatra). The browser uses only the public
 * HTTP API. Screenshots of each page land in services/web/test-results/screenshots/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { OFFICER_STATUSES } from '@pksync/core';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import {
  browserSkipReason,
  launchChromium,
  newPage,
  pageReady,
  screenshot,
  type BrowserHandle,
} from './support/browser.ts';
import { HOSTILE_AGENCY, startStack, type Stack } from './support/stack.ts';

const skip = browserSkipReason();
// One line for both browser test files (console.ui.int.test.ts stays quiet).
if (skip) console.warn(`[web] browser tests (console.e2e, console.ui) skipped: ${skip}`);

const PALEMBANG = '16.71-disnaker';

/** An agency file with 3 good rows (one with a hostile name) and 3 rejected rows. */
function uploadCsv(region: string): string {
  const header = 'nip,nama,jenis_kelamin,tanggal_lahir,jenjang,golongan,unit_kerja,kode_wilayah,tmt_jabatan,status';
  const rows = [
    `198503122010011003,Budi Santoso,L,1985-03-12,ahli_pertama,III/a,Dinas Tenaga Kerja,${region},2020-01-01,aktif`,
    `199001012015032001,Siti Aminah,P,1990-01-01,ahli_muda,III/c,Dinas Tenaga Kerja,${region},2021-05-01,aktif`,
    `198807232012121002,"<script>window.__pwned=2</script>Rudi ""Hacker""",L,1988-07-23,Pertama,III/b,Dinas Tenaga Kerja,${region},2019-02-01,aktif`,
    `12345,Nip Pendek,L,1985-03-12,ahli_pertama,III/a,Dinas Tenaga Kerja,${region},2020-01-01,aktif`,
    `198601012011011004,Jenjang Salah,L,1986-01-01,Ahli Super,III/a,Dinas Tenaga Kerja,${region},2020-01-01,aktif`,
    `198701012011011005,Wilayah Lain,L,1987-01-01,ahli_pertama,III/a,Dinas Tenaga Kerja,16.71,2020-01-01,aktif`,
  ];
  return `${header}\n${rows.join('\n')}\n`;
}

async function api(stack: Stack, key: string, path: string, init: RequestInit = {}) {
  const res = await fetch(`${stack.url}/api/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function waitForRun(stack: Stack, runId: string, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await api(stack, stack.keys.admin, `/runs/${runId}`);
    if (run.status === 'completed' || run.status === 'failed') return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${String(run.status)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function signIn(page: Page, key: string) {
  await page.goto('/');
  await pageReady(page, 'signin');
  await page.fill('input[name=key]', key);
  await page.press('input[name=key]', 'Enter');
}

describe.skipIf(Boolean(skip))(
  'web console end to end (Chromium, real API, workers, PostgreSQL, Redis, simulator)',
  { timeout: 120_000 },
  () => {
    const t = useTestDatabase();
    const r = useTestRedis();
    let stack: Stack;
    let handle: BrowserHandle;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let errors: string[];

    beforeAll(async () => {
      stack = await startStack(t, r);
      // The first national run, as the nightly schedule would make it (through the public API).
      const sync = await api(stack, stack.keys.admin, '/sync', {
        method: 'POST',
        body: JSON.stringify({ scope: 'national', reason: 'e2e: first run' }),
      });
      const run = await waitForRun(stack, String(sync.run_id));
      expect(run.status).toBe('completed');
      expect(run.version_published).toBe(1);
      handle = await launchChromium();
      browser = handle.browser;
      ({ context, page, errors } = await newPage(browser, { baseURL: stack.url }));
    }, 180_000);

    afterAll(async () => {
      await context?.close().catch(() => {});
      await handle?.close();
      await stack?.close();
    });

    it('signs in as admin and shows the national overview', async () => {
      await signIn(page, stack.keys.admin);
      await pageReady(page, 'overview');
      expect(await page.locator('.tilemap a.tile').count()).toBe(38);
      expect(await page.locator('a.tile[data-code="16"]').getAttribute('aria-label')).toBe(
        'Sumatera Selatan: cakupan 12 dari 17',
      );
      const row = page.locator('tr[data-code="16"]');
      expect(await row.locator('td').nth(6).textContent()).toBe('12 dari 17');
      // the last run and the next scheduled one (01:00 Asia/Jakarta by default)
      await page.locator('.headline a').first().waitFor();
      expect(await page.locator('.headline dd[data-next]').getAttribute('data-next')).toMatch(/T18:00:00\.000Z$/);
      await screenshot(page, '01-overview');
    });

    it('opens South Sumatra and reads 12 of 17, with its sources shown as text', async () => {
      await page.click('a.tile[data-code="16"]');
      await pageReady(page, 'province');
      expect(await page.locator('h1').textContent()).toBe('Provinsi Sumatera Selatan');
      expect(await page.locator('p.coverage strong').textContent()).toBe('12 dari 17');
      expect(await page.locator('tr[data-code^="16."]').count()).toBe(17);
      const uploadRow = page.locator(`tr[data-source="${stack.upload.sourceId}"]`);
      await uploadRow.waitFor();
      expect(await uploadRow.locator('td').first().textContent()).toBe(HOSTILE_AGENCY);
      expect(await page.locator('main img').count()).toBe(0);
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
      await screenshot(page, '02-province-sumsel');
    });

    it('re-syncs Kota Palembang and watches the run publish a new version', async () => {
      // Move the simulated agencies on to a day when Palembang's list has changed.
      const day0 = JSON.stringify([...stack.sim.listOfficers(PALEMBANG)]);
      let day = 0;
      for (let d = 1; d <= 60 && !day; d += 1) {
        stack.sim.setDay(d);
        if (JSON.stringify([...stack.sim.listOfficers(PALEMBANG)]) !== day0) day = d;
      }
      expect(day, 'a simulated day on which Kota Palembang changes').toBeGreaterThan(0);

      await page.click('tr[data-code="16.71"] button');
      expect(await page.locator('form.resync select[name=scope]').inputValue()).toBe('16.71');
      await page.click('form.resync button[type=submit]');
      await page.locator('.run-progress').waitFor();
      await page.waitForSelector('.run-progress[data-status="completed"]', { timeout: 90_000 });
      const progress = await page.locator('.run-progress').textContent();
      expect(progress).toContain('Versi 2 diterbitkan.');
      expect(progress).toContain('1 dari 1 sumber selesai');
      await screenshot(page, '03-resync-palembang');
      expect(await page.locator('.run-progress a[href="#/versions/2"]').count()).toBe(1);
      await page.click('button.refresh');
      await pageReady(page, 'province');
      expect(await page.locator('p.coverage strong').textContent()).toBe('12 dari 17');

      // the version the re-sync published, with Palembang's changes
      await page.goto('/#/versions/2');
      await pageReady(page, 'version');
      expect(await page.locator('main tbody tr').count()).toBeGreaterThan(0);
      expect(await page.locator('main tbody').textContent()).toContain('16.71');
      await screenshot(page, '03b-version-2-diff');
      await page.goto('/#/province/16');
      await pageReady(page, 'province');
    });

    it('uploads a file with errors, shows its rejected rows, then uploads it and follows the run', async () => {
      await page.click(`tr[data-source="${stack.upload.sourceId}"] a`);
      await pageReady(page, 'upload');
      await page.setInputFiles('input[type=file]', {
        name: 'pejabat.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from(uploadCsv(stack.upload.regionCode), 'utf8'),
      });
      await page.click('button:has-text("Periksa berkas")');
      await page.locator('.check-result').waitFor({ timeout: 30_000 });
      expect(await page.locator('[data-accepted]').getAttribute('data-accepted')).toBe('3');
      expect(await page.locator('[data-rejected]').getAttribute('data-rejected')).toBe('3');
      const codes = await page
        .locator('.check-result ul.reasons li[data-code]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-code')));
      expect(codes).toEqual(expect.arrayContaining(['nip_invalid', 'level_unknown', 'region_mismatch']));
      expect(await page.locator('.check-result tbody tr').count()).toBe(3);
      await screenshot(page, '04-upload-check');

      await page.click('button:has-text("Konfirmasi unggah")');
      await page.waitForSelector('.run-progress[data-status="completed"]', { timeout: 90_000 });
      expect(await page.locator('.run-progress').textContent()).toContain('Versi 3 diterbitkan.');
      await screenshot(page, '05-upload-run');
      // the uploaded officers now cover the regency that had none (the API caches figures for 5 s)
      await page.goto('/#/province/16');
      await expect
        .poll(
          async () => {
            await page.reload();
            await pageReady(page, 'province');
            return page.locator('p.coverage strong').textContent();
          },
          { timeout: 20_000, interval: 1_000 },
        )
        .toBe('13 dari 17');
      const covered = page.locator(`tr[data-code="${stack.upload.regionCode}"] td`).nth(6);
      expect(await covered.textContent()).toBe('Ya');
    });

    it('acknowledges a finding with a note', async () => {
      await page.goto('/#/findings?province=16&status=open');
      await pageReady(page, 'findings');
      const first = page.locator('tr[data-finding]').first();
      await first.waitFor();
      const id = await first.getAttribute('data-finding');
      await first.locator('.ack button').click();
      await page.fill(
        `tr[data-finding="${id}"] textarea[name=note]`,
        'Sudah dihubungi, <b>diperbaiki</b> minggu depan',
      );
      await page.click(`tr[data-finding="${id}"] button[type=submit]`);
      await page.locator(`tr[data-finding="${id}"]`).getByText('diakui', { exact: true }).waitFor();
      const acked = await api(stack, stack.keys.admin, '/findings?province=16&status=acknowledged');
      const finding = (acked.data as { id: number; ack_note: string }[]).find((f) => String(f.id) === id);
      expect(finding?.ack_note).toBe('Sudah dihubungi, <b>diperbaiki</b> minggu depan');
      await screenshot(page, '06-findings');
    });

    it('shows runs, a run, the register with export, an officer and held removals', async () => {
      await page.goto('/#/runs');
      await pageReady(page, 'runs');
      expect(await page.locator('tr[data-run]').count()).toBeGreaterThanOrEqual(3);
      await screenshot(page, '07-runs');
      await page.locator('tr[data-run] a').first().click();
      await pageReady(page, 'run');
      await page.locator('.run-summary').waitFor();
      await screenshot(page, '08-run');

      await page.goto('/#/register?province=16');
      await pageReady(page, 'register');
      // The status filter offers what the API accepts (read from its OpenAPI document): the core's statuses.
      const statusOptions = page.locator('select[name=status] option');
      expect(await statusOptions.evaluateAll((o) => o.map((x) => (x as HTMLOptionElement).value))).toEqual([
        '',
        ...OFFICER_STATUSES,
      ]);
      const nipLink = page.locator('a[href^="#/officer/"]').first();
      await nipLink.waitFor();
      const nip = (await nipLink.textContent()) ?? '';
      expect(nip).toMatch(/^\d{18}$/);
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('button[data-format="csv"]')]);
      expect(download.suggestedFilename()).toMatch(/\.csv$/);
      await screenshot(page, '09-register');

      await nipLink.click();
      await pageReady(page, 'officer');
      expect(await page.locator('.facts dd').first().textContent()).toBe(nip);
      await screenshot(page, '10-officer');

      await page.goto('/#/removals');
      await pageReady(page, 'removals');
      await screenshot(page, '11-removals');

      await page.click('button.lang');
      await pageReady(page, 'removals');
      expect(await page.locator('h1').textContent()).toBe('Held mass removals');
      await page.click('button.lang');
      expect(errors).toEqual([]);
    });

    it('refuses South Sumatra’s officers to another province’s key', async () => {
      const other = await newPage(browser, { baseURL: stack.url, viewport: { width: 390, height: 844 } });
      try {
        await signIn(other.page, stack.keys.other);
        await pageReady(other.page, 'province');
        expect(await other.page.locator('h1').textContent()).toBe('Provinsi Kepulauan Bangka Belitung');

        // a Palembang officer in the register (read with the admin key), asked for by the other province
        const page16 = await api(stack, stack.keys.admin, '/officers?region=16.71&limit=1');
        const someNip = (page16.data as { nip: string }[])[0]?.nip;
        expect(someNip).toMatch(/^\d{18}$/);
        await other.page.goto(`/#/officer/${someNip}`);
        await pageReady(other.page, 'officer');
        expect(await other.page.locator('main [role=alert]').textContent()).toBe(
          'Akses ditolak: kunci Anda tidak berhak melihat data ini.',
        );

        await other.page.goto('/#/province/16');
        await pageReady(other.page, 'province');
        expect(await other.page.locator('form.resync').count()).toBe(0);
        await other.page.getByText('Akses ditolak: kunci Anda tidak berhak melihat data ini.').first().waitFor();
        expect(await other.page.locator('main').textContent()).not.toContain(HOSTILE_AGENCY);
        await screenshot(other.page, '12-other-province-refused');

        await other.page.goto('/#/register?province=16');
        await pageReady(other.page, 'register');
        await other.page.locator('tbody tr').first().waitFor();
        expect(await other.page.locator('a[href^="#/officer/"]').count()).toBe(0);
        expect(await other.page.locator('main').textContent()).not.toMatch(/\d{18}/);
        const overflow = await other.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow).toBeLessThanOrEqual(0);
        await screenshot(other.page, '13-other-province-register-phone');
      } finally {
        await other.context.close();
      }
    });
  },
);
