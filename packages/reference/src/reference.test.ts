import { describe, expect, it } from 'vitest';
import {
  grades,
  levelByCode,
  levels,
  normaliseGrade,
  normaliseRegionCode,
  provinceOf,
  provinces,
  regenciesOf,
  regionByCode,
  regions,
} from './index.ts';

describe('regions', () => {
  it('has 38 provinces, 416 kabupaten and 98 kota', () => {
    expect(regions).toHaveLength(552);
    expect(provinces).toHaveLength(38);
    expect(regions.filter((r) => r.kind === 'kabupaten')).toHaveLength(416);
    expect(regions.filter((r) => r.kind === 'kota')).toHaveLength(98);
  });

  it('gives Sumatera Selatan 17 regencies/cities: 13 kabupaten and 4 kota', () => {
    const sumsel = regenciesOf('16');
    expect(regionByCode('16')?.name).toBe('Sumatera Selatan');
    expect(sumsel).toHaveLength(17);
    expect(sumsel.filter((r) => r.kind === 'kabupaten')).toHaveLength(13);
    expect(sumsel.filter((r) => r.kind === 'kota').map((r) => r.code)).toEqual(['16.71', '16.72', '16.73', '16.74']);
    expect(regionByCode('16.71')?.name).toBe('Kota Palembang');
  });

  it('links every regency to an existing province', () => {
    for (const r of regions.filter((x) => x.level === 'regency')) {
      expect(regionByCode(r.parentCode!)?.level).toBe('province');
      expect(provinceOf(r.code)).toBe(r.parentCode);
    }
  });

  it('is frozen', () => {
    expect(Object.isFrozen(regions)).toBe(true);
    expect(Object.isFrozen(regions[0])).toBe(true);
    expect(() => (regions as unknown as unknown[]).push(1)).toThrow();
  });

  it.each([
    ['1671', '16.71'],
    ['16.71', '16.71'],
    [' 16 71 ', '16.71'],
    ['16-71', '16.71'],
    ['16', '16'],
    ['167', null],
    ['ab.cd', null],
  ])('normalises region code %j to %j', (input, expected) => {
    expect(normaliseRegionCode(input)).toBe(expected);
  });
});

describe('levels and grades', () => {
  it('has four levels with their retirement ages', () => {
    expect(levels.map((l) => [l.code, l.retirementAge])).toEqual([
      ['ahli_pertama', 58],
      ['ahli_muda', 58],
      ['ahli_madya', 60],
      ['ahli_utama', 65],
    ]);
  });

  it('puts every grade in the right level, both ways', () => {
    expect(grades).toHaveLength(17);
    for (const level of levels) {
      for (const g of level.grades) expect(grades.find((x) => x.code === g)?.levelCode).toBe(level.code);
    }
    for (const g of grades.filter((x) => x.levelCode)) expect(levelByCode(g.levelCode!)?.grades).toContain(g.code);
    expect(grades.filter((g) => g.group === 'I' || g.group === 'II').every((g) => g.levelCode === null)).toBe(true);
  });

  it.each([
    ['III/a', 'III/a'],
    ['IIIa', 'III/a'],
    ['III-a', 'III/a'],
    ['III/A', 'III/a'],
    ['3a', 'III/a'],
    ['3/a', 'III/a'],
    ['iv/e', 'IV/e'],
    ['Penata Muda, III/a', 'III/a'],
    ['II/d', 'II/d'],
    ['IV/f', null],
    ['V/a', null],
    ['', null],
  ])('normalises grade %j to %j', (input, expected) => {
    expect(normaliseGrade(input)).toBe(expected);
  });
});
