/** The console's pure modules (no DOM): dictionary, figures, tile map. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ES module of the static console (no type declarations)
import { dictionaries, t, setLang, describeCode } from '../public/js/i18n.js';
// @ts-expect-error plain ES module of the static console
import { figures, FINDING_CODES } from '../public/js/format.js';
// @ts-expect-error plain ES module of the static console
import { TILES, GRID_COLUMNS, GRID_ROWS, coverageClass } from '../public/js/tilemap.js';
// @ts-expect-error plain ES module of the static console
import { countTicks } from '../public/js/chart.js';
// @ts-expect-error plain ES module of the static console
import { hasNoData, needsHash, needsScope } from '../public/js/pages/needs.js';
import { FINDING_CODES as CORE_FINDING_CODES, REJECTION_CODES } from '@pksync/core';
import { provinces } from '@pksync/reference';

describe('dictionary', () => {
  it('has every key in both languages, none empty', () => {
    const idKeys = Object.keys(dictionaries.id).sort();
    expect(Object.keys(dictionaries.en).sort()).toEqual(idKeys);
    for (const lang of ['id', 'en']) {
      for (const [k, v] of Object.entries(dictionaries[lang] as Record<string, string>)) {
        expect(v.trim(), `${lang}:${k}`).not.toBe('');
      }
    }
  });

  it('describes every finding and rejection code of @pksync/core', () => {
    for (const code of [...CORE_FINDING_CODES, ...REJECTION_CODES])
      expect(dictionaries.id[`code.${code}`], code).toBeTruthy();
    expect([...FINDING_CODES].sort()).toEqual([...CORE_FINDING_CODES].sort());
  });

  it('fills placeholders and switches language', () => {
    expect(t('coverage.of', { covered: 12, total: 17 })).toBe('12 dari 17');
    setLang('en');
    expect(t('coverage.of', { covered: 12, total: 17 })).toBe('12 of 17');
    expect(describeCode('nip_invalid')).toBe('Invalid NIP');
    setLang('id');
    expect(describeCode('nip_invalid')).toBe('NIP tidak sah');
    expect(describeCode('something_new')).toBe('something_new');
    expect(() => setLang('fr')).toThrow(/unknown language/);
  });
});

describe('figures', () => {
  it('reads the API region summary: officers, formation, shortfall, coverage', () => {
    const f = figures({
      code: '16',
      level: 'province',
      coverage: { covered: 12, total: 17 },
      officers: { ahli_pertama: 3, ahli_muda: 1, ahli_madya: 0, ahli_utama: 0 },
      formation: {
        ahli_pertama: { approved: 5, need: 6, filled: 3, shortfall: 3 },
        ahli_muda: null,
        ahli_madya: null,
        ahli_utama: null,
      },
      shortfall: 3,
      stale_sources: 2,
      open_findings: 4,
    });
    expect(f).toMatchObject({
      officersTotal: 4,
      approved: 5,
      need: 6,
      shortfall: 3,
      covered: 12,
      total: 17,
      staleSources: 2,
      openFindings: 4,
    });
  });
  it('computes the shortfall when the API leaves it out (R12: max(need − filled, 0) per level)', () => {
    const f = figures({
      code: '16.71',
      level: 'regency',
      officers: { ahli_pertama: 8, ahli_muda: 1 },
      formation: { ahli_pertama: { approved: 5, need: 6 }, ahli_muda: { approved: 2, need: 3 } },
    });
    expect(f.shortfall).toBe(2);
    expect(f.covered).toBe(1);
  });
});

describe('tile map', () => {
  it('has one tile per province of the reference data, no two on one cell, inside the grid', () => {
    const codes = provinces.map((r) => r.code).sort();
    expect(TILES.map((tile: { code: string }) => tile.code).sort()).toEqual(codes);
    const cells = new Set(TILES.map((tile: { col: number; row: number }) => `${tile.col},${tile.row}`));
    expect(cells.size).toBe(TILES.length);
    for (const tile of TILES) {
      expect(tile.col).toBeLessThan(GRID_COLUMNS);
      expect(tile.row).toBeLessThan(GRID_ROWS);
    }
  });
  it('colours by coverage', () => {
    expect(coverageClass(12, 17)).toBe('cov-2');
    expect(coverageClass(0, 17)).toBe('cov-0');
    expect(coverageClass(17, 17)).toBe('cov-4');
    expect(coverageClass(null, null)).toBe('cov-none');
  });
});

describe('needs page', () => {
  it('chart axis: about four whole steps of 1, 2 or 5 × 10ᵏ, the last at or above the largest figure', () => {
    expect(countTicks(0)).toEqual([0, 1]);
    expect(countTicks(1)).toEqual([0, 1]);
    expect(countTicks(3)).toEqual([0, 1, 2, 3]);
    expect(countTicks(12)).toEqual([0, 5, 10, 15]);
    expect(countTicks(100)).toEqual([0, 50, 100]);
    expect(countTicks(1234)).toEqual([0, 500, 1000, 1500]);
    for (let max = 1; max < 2000; max += 7) {
      const ticks: number[] = countTicks(max);
      expect(ticks.at(-1)).toBeGreaterThanOrEqual(max);
      expect(ticks.length).toBeLessThanOrEqual(6);
      expect(ticks.every((v) => Number.isInteger(v))).toBe(true);
    }
  });

  it('reads the scope from the hash; a province key gets its own province and is refused others', () => {
    const admin = { role: 'admin', province: null };
    const sumsel = { role: 'province', province: '16' };
    expect(needsScope('', admin)).toEqual({ kind: 'nation', code: null, province: null });
    expect(needsScope('16.71', admin)).toEqual({ kind: 'region', code: '16.71', province: '16' });
    expect(needsScope('16; drop', admin)).toMatchObject({ kind: 'invalid' });
    expect(needsScope('', sumsel)).toEqual({ kind: 'province', code: '16', province: '16' });
    expect(needsScope('16.71', sumsel)).toEqual({ kind: 'region', code: '16.71', province: '16' });
    expect(needsScope('19', sumsel)).toMatchObject({ kind: 'province', refused: true });
    expect(needsScope('19.71', sumsel)).toMatchObject({ kind: 'region', refused: true });
    expect(needsHash(null, undefined)).toBe('#/needs');
    expect(needsHash('16.71', '2025')).toBe('#/needs/16.71?year=2025');
  });

  it('tells a region with nothing at all from one with a figure of 0', () => {
    const none = {
      formasi: null,
      kebutuhan_declared: null,
      kebutuhan_computed: null,
      terisi: 0,
      available_formation: null,
      retiring: { 1: 0, 3: 0, 5: 0 },
      projected_shortfall: { 1: 0, 3: 0, 5: 0 },
    };
    expect(hasNoData(none)).toBe(true);
    expect(hasNoData({ ...none, formasi: 0, available_formation: 0 })).toBe(false);
    expect(hasNoData({ ...none, terisi: 1 })).toBe(false);
  });
});

describe('text is always inserted as text', () => {
  it('no console module parses markup (innerHTML, outerHTML, insertAdjacentHTML, document.write)', () => {
    const root = fileURLToPath(new URL('../public/js/', import.meta.url));
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const code = readFileSync(join(root, f), 'utf8');
      expect(code, f).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|new Function|\beval\(/);
    }
  });
});
