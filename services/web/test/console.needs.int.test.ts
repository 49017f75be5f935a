/**
 * The "Kebutuhan & formasi" page (needs-planning-v1.md § Interface) in Debian's headless Chromium
 * against the real API over this file's own PostgreSQL database: formations, computed needs
 * (R16) and the retirement outlook (R18) are seeded straight into their tables, then the page is
 * read for the nation, South Sumatra and Kota Palembang and compared with `GET /api/v1/needs`
 * figure by figure, chart bar by chart bar. A province key is kept to its own province.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { loadConfig } from '@pksync/config';
import { createKey, type Db } from '@pksync/db';
import { start as startApi, type RunningApi } from '@pksync/api';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import { webRoot } from '../src/index.ts';
import {
  browserSkipReason,
  launchChromium,
  newPage,
  pageReady,
  screenshot,
  type BrowserHandle,
} from './support/browser.ts';

const skip = browserSkipReason(); // the reason is printed once, by console.e2e.int.test.ts

const AS_OF = '2026-11-30';
const VERSION = '2023-placeholder-1'; // shipped, unconfirmed; loaded by migrate into the template

interface NeedsLevel {
  level?: string;
  formasi: number | null;
  kebutuhan_declared: number | null;
  kebutuhan_computed: number | null;
  terisi: number;
  available_formation: number | null;
  retiring: Record<'1' | '3' | '5', number>;
  projected_shortfall: Record<'1' | '3' | '5', number>;
}
interface NeedsRow {
  kind: string;
  code: string | null;
  name: string;
  parameter_version: string | null;
  levels: (NeedsLevel & { level: string })[];
  all_levels: NeedsLevel;
}
interface NeedsAnswer {
  year: number;
  as_of: string | null;
  parameters: { version: string; status: string; valid_from: string; source: string } | null;
  scope: { province: string | null; region: string | null };
  total: NeedsRow;
  data: NeedsRow[];
}

type Level = 'ahli_pertama' | 'ahli_muda' | 'ahli_madya' | 'ahli_utama';
type PerLevel = Partial<Record<Level, [number, number, number, number]>>;

/**
 * The seeded register, per region: formations (year → level → [approved, need]), computed needs
 * for 2026 (level → need; none: the region sent no workload) and the outlook (level → [active,
 * retiring 1, 3, 5]). Regions not named here (most of South Sumatra) have nothing at all.
 */
const SEED: Record<
  string,
  {
    formations?: Record<number, Partial<Record<Level, [number, number]>>>;
    computed?: Partial<Record<Level, number>>;
    outlook?: PerLevel;
  }
> = {
  '16': {
    formations: { 2026: { ahli_pertama: [3, 3] } },
    outlook: { ahli_pertama: [2, 0, 0, 1] },
  },
  '16.71': {
    formations: {
      2025: { ahli_pertama: [10, 11] },
      2026: { ahli_pertama: [12, 15], ahli_muda: [6, 6], ahli_madya: [2, 3], ahli_utama: [0, 1] },
    },
    computed: { ahli_pertama: 14, ahli_muda: 7, ahli_madya: 3, ahli_utama: 0 },
    outlook: { ahli_pertama: [10, 1, 2, 4], ahli_muda: [5, 0, 1, 2], ahli_madya: [2, 1, 1, 2] },
  },
  '16.01': {
    formations: { 2026: { ahli_pertama: [4, 5], ahli_muda: [2, 2] } },
    outlook: { ahli_pertama: [3, 0, 1, 1] },
  },
  '19.71': {
    formations: { 2026: { ahli_pertama: [5, 6] } },
    computed: { ahli_pertama: 5, ahli_muda: 0, ahli_madya: 0, ahli_utama: 0 },
    outlook: { ahli_pertama: [4, 0, 0, 1] },
  },
};

async function seed(db: Db): Promise<void> {
  const runId = randomUUID();
  const formations = Object.entries(SEED).flatMap(([region, s]) =>
    Object.entries(s.formations ?? {}).flatMap(([year, byLevel]) =>
      Object.entries(byLevel).map(([level, [approved, need]]) => ({
        source_id: `${region}-disnaker`,
        region_code: region,
        year: Number(year),
        level,
        need,
        approved,
        valid_from: 1,
        valid_to: null,
      })),
    ),
  );
  await db.insertInto('formations').values(formations).execute();
  const computed = Object.entries(SEED).flatMap(([region, s]) =>
    Object.entries(s.computed ?? {}).map(([level, need]) => ({
      region_code: region,
      year: 2026,
      level,
      province_code: region.slice(0, 2),
      need,
      exact: need,
      area_factor: 1,
      complexity_factor: 1,
      parameter_version: VERSION,
      as_of: AS_OF,
      run_id: runId,
    })),
  );
  await db.insertInto('computed_needs').values(computed).execute();
  const outlook = Object.entries(SEED).flatMap(([region, s]) =>
    Object.entries(s.outlook ?? {}).map(([level, [active, r1, r3, r5]]) => ({
      region_code: region,
      level,
      province_code: region.slice(0, 2),
      as_of: AS_OF,
      active,
      retiring_1: r1,
      retiring_3: r3,
      retiring_5: r5,
    })),
  );
  await db.insertInto('retirement_outlook').values(outlook).execute();
  // the register's last evaluation: GET /needs defaults to its year
  await db
    .insertInto('register_state')
    .values({ id: true, evaluated_as_of: AS_OF })
    .onConflict((oc) => oc.column('id').doUpdateSet({ evaluated_as_of: AS_OF }))
    .execute();
}

const number = new Intl.NumberFormat('id-ID');
/** A figure as the page shows it ("—" for none). */
const shown = (v: number | null | undefined) => (typeof v === 'number' ? number.format(v) : '—');

/** The eleven figure cells of a row, in the page's column order, as the page must show them. */
function expectedCells(f: NeedsLevel): string[] {
  return [
    shown(f.formasi),
    shown(f.kebutuhan_declared),
    f.kebutuhan_computed === null ? 'tidak ada data beban kerja' : shown(f.kebutuhan_computed),
    shown(f.terisi),
    shown(f.available_formation),
    ...(['1', '3', '5'] as const).map((n) => shown(f.retiring[n])),
    ...(['1', '3', '5'] as const).map((n) => shown(f.projected_shortfall[n])),
  ];
}

const HEADERS = [
  'Formasi',
  'Kebutuhan (dilaporkan)',
  'Kebutuhan (hasil hitung)',
  'Terisi',
  'Formasi tersedia',
  'Pensiun dalam 1 tahun',
  'Pensiun dalam 3 tahun',
  'Pensiun dalam 5 tahun',
  'Proyeksi kekurangan 1 tahun',
  'Proyeksi kekurangan 3 tahun',
  'Proyeksi kekurangan 5 tahun',
];

async function cells(row: Locator): Promise<string[]> {
  return (await row.locator('td').allTextContents()).slice(0, HEADERS.length);
}

describe.skipIf(Boolean(skip))(
  'the needs & formation page (Chromium, real API, PostgreSQL)',
  { timeout: 120_000 },
  () => {
    const t = useTestDatabase();
    const r = useTestRedis();
    let api: RunningApi;
    let handle: BrowserHandle;
    let browser: Browser;
    let keys: { admin: string; sumsel: string };

    async function needs(query: string): Promise<NeedsAnswer> {
      const res = await fetch(`${api.url}/api/v1/needs${query}`);
      expect(res.status, `GET /needs${query}`).toBe(200);
      return (await res.json()) as NeedsAnswer;
    }

    async function signIn(page: Page, key: string) {
      await page.goto('/');
      await pageReady(page, 'signin');
      await page.fill('input[name=key]', key);
      await page.press('input[name=key]', 'Enter');
    }

    /** Waits for the needs page of `code` ('' for the nation) to have rendered. */
    async function needsReady(page: Page, code: string) {
      await page.waitForSelector(`main[data-page="needs"][data-ready="true"] .page.needs[data-code="${code}"]`, {
        timeout: 30_000,
      });
    }

    /** Goes to a hash of the console and lets {@link needsReady} wait for the new page, not the one on screen. */
    async function go(page: Page, hash: string) {
      await page.evaluate(() => document.querySelector('main')?.removeAttribute('data-ready'));
      await page.goto(`/${hash}`);
    }

    /** The page shows the API's figures: the level table, the charts and the children table. */
    async function expectPageMatches(page: Page, answer: NeedsAnswer) {
      expect(await page.locator('h1').textContent()).toBe(`Kebutuhan & formasi — ${answer.total.name}`);
      // the parameter version and its status, always visible
      const params = page.locator('section.parameters');
      expect(await params.getAttribute('data-status')).toBe(answer.parameters?.status ?? 'none');
      if (answer.parameters?.status === 'unconfirmed') {
        await params.getByText('Parameter belum dikonfirmasi', { exact: true }).waitFor();
        expect(await params.locator('[data-version]').getAttribute('data-version')).toBe(answer.parameters.version);
        expect(await params.textContent()).toContain(answer.parameters.source);
      }
      expect(await page.locator('.year-line').getAttribute('data-year')).toBe(String(answer.year));

      const levels = page.locator('section.levels');
      expect((await levels.locator('thead th').allTextContents()).slice(1)).toEqual(HEADERS);
      for (const l of answer.total.levels) {
        const row = levels.locator(`tr[data-level="${l.level}"]`);
        expect(await cells(row), `${answer.total.name} ${l.level}`).toEqual(expectedCells(l));
      }
      expect(await levels.locator('tr[data-level="ahli_pertama"] th').textContent()).toBe('Ahli Pertama');
      const all = levels.locator('tr[data-level="all"]');
      expect(await all.locator('th').textContent()).toBe('Semua jenjang');
      expect(await cells(all)).toEqual(expectedCells(answer.total.all_levels));

      // one chart per level, five bars each with the API's figure; the caption is the text alternative
      expect(await page.locator('figure.chart svg[role="img"]').count()).toBe(4);
      for (const l of answer.total.levels) {
        const chart = page.locator(`figure.chart[data-level="${l.level}"]`);
        const bars = chart.locator('rect.bar');
        expect(await bars.count()).toBe(5);
        const drawn = await bars.evaluateAll((els) =>
          els.map((e) => [
            e.getAttribute('data-series'),
            e.getAttribute('data-value'),
            Number(e.getAttribute('height')),
          ]),
        );
        const want = [
          ['formasi', l.formasi],
          ['declared', l.kebutuhan_declared],
          ['computed', l.kebutuhan_computed],
          ['filled', l.terisi],
          ['retiring5', l.retiring['5']],
        ] as const;
        expect(drawn.map(([s, v]) => [s, v])).toEqual(want.map(([s, v]) => [s, v === null ? '' : String(v)]));
        // a bar is as tall as its figure: the tallest figure gets the tallest bar, zero and none get none
        const max = Math.max(...want.map(([, v]) => v ?? 0));
        for (const [i, [, v]] of want.entries()) {
          const height = drawn[i]![2] as number;
          if (!v) expect(height).toBe(0);
          else expect(height).toBeGreaterThan(0);
          if (v === max && max > 0) expect(height).toBe(Math.max(...drawn.map((d) => d[2] as number)));
        }
        const labelledBy = await chart.locator('svg').getAttribute('aria-labelledby');
        expect(await page.locator(`[id="${labelledBy}"]`).textContent()).toBe(
          { ahli_pertama: 'Ahli Pertama', ahli_muda: 'Ahli Muda', ahli_madya: 'Ahli Madya', ahli_utama: 'Ahli Utama' }[
            l.level
          ],
        );
        const alt = await chart.locator('figcaption').textContent();
        expect(alt).toContain(`Formasi ${shown(l.formasi)}`);
        expect(alt).toContain(
          `kebutuhan hasil hitung ${l.kebutuhan_computed === null ? 'tidak ada data beban kerja' : shown(l.kebutuhan_computed)}`,
        );
        expect(alt).toContain(`pensiun dalam 5 tahun ${shown(l.retiring['5'])}`);
      }

      // the scope's provinces or regencies/cities, every one of them, with all-levels figures
      if (answer.scope.region) return;
      const children = page.locator('section.children tbody tr');
      expect(await children.count()).toBe(answer.data.length);
      for (const row of answer.data) {
        const tr = page.locator(`section.children tr[data-code="${row.code}"]`);
        expect(await tr.locator('th').textContent()).toContain(row.name);
        expect(await cells(tr), row.name).toEqual(expectedCells(row.all_levels));
      }
    }

    beforeAll(async () => {
      await seed(t.db);
      const config = loadConfig({
        DATABASE_URL: t.url,
        REDIS_URL: r.url,
        QUEUE_PREFIX: r.prefix,
        TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
        LOG_LEVEL: process.env.DEBUG_LOGS ? 'debug' : 'error',
        PORT: '0',
        HOST: '127.0.0.1',
        SHUTDOWN_TIMEOUT_MS: '5000',
      });
      api = await startApi(config, { webRoot });
      keys = {
        admin: (await createKey(t.db, { name: 'needs-admin', role: 'admin', actor: 'test' })).key,
        sumsel: (await createKey(t.db, { name: 'needs-sumsel', role: 'province', provinceCode: '16', actor: 'test' }))
          .key,
      };
      handle = await launchChromium();
      browser = handle.browser;
    }, 120_000);

    afterAll(async () => {
      await handle?.close();
      await api?.close();
    });

    it('walks from the nation to South Sumatra to Kota Palembang, each matching GET /needs', async () => {
      const [nation, sumsel, palembang, oku] = await Promise.all([
        needs(''),
        needs('?province=16'),
        needs('?region=16.71'),
        needs('?region=16.01'),
      ]);
      // the seed reached the API (the comparisons below would pass on an empty register too)
      expect(nation.year).toBe(2026);
      expect(nation.parameters).toMatchObject({ version: VERSION, status: 'unconfirmed' });
      expect(nation.data).toHaveLength(38);
      const palembangPertama = palembang.total.levels.find((l) => l.level === 'ahli_pertama');
      expect(palembangPertama).toMatchObject({
        formasi: 12,
        kebutuhan_declared: 15,
        kebutuhan_computed: 14,
        terisi: 10,
      });
      expect(oku.total.levels[0]?.kebutuhan_computed).toBeNull();

      const { context, page, errors } = await newPage(browser, { baseURL: api.url });
      try {
        await signIn(page, keys.admin);
        await pageReady(page, 'overview');
        await page.click('header nav a:has-text("Kebutuhan & formasi")');
        await needsReady(page, '');
        await expectPageMatches(page, nation);
        // the nation offers every province in the selector
        expect(await page.locator('form.filters select[name=province] option').count()).toBe(39);
        await screenshot(page, 'needs-01-nation');

        await page.click('section.children tr[data-code="16"] th a');
        await needsReady(page, '16');
        expect(page.url()).toMatch(/#\/needs\/16$/);
        await expectPageMatches(page, sumsel);
        // regencies/cities without any data are listed, marked as such
        const empty = page.locator('section.children tr[data-code="16.02"]');
        expect(await empty.getAttribute('class')).toContain('no-data');
        expect(await empty.locator('th').textContent()).toContain('belum ada data');
        expect(await page.locator('section.children tr[data-code="16.01"]').getAttribute('class')).toBeNull();
        await screenshot(page, 'needs-02-province-16');

        await page.click('section.children tr[data-code="16.71"] th a');
        await needsReady(page, '16.71');
        await expectPageMatches(page, palembang);
        expect(await page.locator('section.children').count()).toBe(0);
        expect(await page.locator('p.crumbs a').allTextContents()).toEqual(['Indonesia', 'Sumatera Selatan']);
        await screenshot(page, 'needs-03-region-16.71');

        // a region without workload data: "tidak ada data beban kerja", its computed bars drawn as missing
        await page.locator('form.filters select[name=region]').selectOption('16.01');
        await page.click('form.filters button[type=submit]');
        await needsReady(page, '16.01');
        await expectPageMatches(page, oku);
        expect(await page.locator('figure.chart rect.bar.missing[data-series="computed"]').count()).toBe(4);
        expect(await page.locator('section.levels tr[data-level="ahli_pertama"] .no-workload').textContent()).toBe(
          'tidak ada data beban kerja',
        );

        // the URL is the state: a deep link to another year shows that year's formation
        const palembang2025 = await needs('?region=16.71&year=2025');
        expect(palembang2025.total.levels[0]?.formasi).toBe(10);
        await go(page, '#/needs/16.71?year=2025');
        await needsReady(page, '16.71');
        await expectPageMatches(page, palembang2025);
        expect(await page.locator('form.filters input[name=year]').inputValue()).toBe('2025');
        expect(errors).toEqual([]);
      } finally {
        await context.close();
      }
    });

    it('keeps a province key to its own province', async () => {
      const sumsel = await needs('?province=16');
      const { context, page, errors } = await newPage(browser, {
        baseURL: api.url,
        viewport: { width: 390, height: 844 },
      });
      const asked: string[] = [];
      page.on('request', (req) => {
        const url = new URL(req.url());
        if (url.pathname === '/api/v1/needs') asked.push(url.search);
      });
      try {
        await signIn(page, keys.sumsel);
        await pageReady(page, 'province');
        await page.click('header nav a:has-text("Kebutuhan & formasi")');
        await needsReady(page, '16');
        await expectPageMatches(page, sumsel);
        // no nation to choose, no other province, no way up to Indonesia
        const options = await page
          .locator('form.filters select[name=province] option')
          .evaluateAll((els) => els.map((e) => (e as HTMLOptionElement).value));
        expect(options).toEqual(['16']);
        expect(await page.locator('p.crumbs').count()).toBe(0);
        expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(
          0,
        );
        await screenshot(page, 'needs-04-province-key-phone');

        // the nation is its own province
        await go(page, '#/needs');
        await needsReady(page, '16');
        expect(await page.locator('h1').textContent()).toBe('Kebutuhan & formasi — Sumatera Selatan');

        // another province, or a region in one, is refused without asking the API
        for (const code of ['19', '19.71']) {
          await go(page, `#/needs/${code}`);
          await needsReady(page, code);
          expect(await page.locator('main [role=alert]').textContent()).toContain(
            'Akses ditolak: kunci Anda tidak berhak melihat data ini.',
          );
          expect(await page.locator('section.levels, figure.chart').count()).toBe(0);
          expect(await page.locator('main').textContent()).not.toContain('Kepulauan Bangka Belitung');
          expect(await page.locator('main a[href="#/needs/16"]').count()).toBe(1);
        }
        await screenshot(page, 'needs-05-other-province-refused');
        expect(asked.length).toBeGreaterThan(0);
        expect(asked.every((q) => new URLSearchParams(q).get('province') === '16')).toBe(true);
        expect(errors).toEqual([]);
      } finally {
        await context.close();
      }
    });
  },
);
