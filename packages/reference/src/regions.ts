import { deepFreeze, readDataCsv } from './load.ts';

export type RegionLevel = 'province' | 'regency';
export type RegionKind = 'provinsi' | 'kabupaten' | 'kota';

export interface Region {
  /** Kemendagri code: `16` (province) or `16.71` (regency/city). */
  readonly code: string;
  readonly name: string;
  readonly level: RegionLevel;
  /** Province code for a regency/city; null for a province. */
  readonly parentCode: string | null;
  readonly kind: RegionKind;
}

const rows = readDataCsv('regions.csv');

/** Every region, provinces and regencies/cities, in code order. */
export const regions: readonly Region[] = deepFreeze(
  rows
    .map((r): Region => ({
      code: r.code!,
      name: r.name!,
      level: r.level as RegionLevel,
      parentCode: r.parent_code ? r.parent_code : null,
      kind: r.kind as RegionKind,
    }))
    // Code points, not localeCompare: the same order for codes of digits and dots (NN, NN.NN),
    // without starting ICU's collator, ~70 ms of every command's start-up (issue 17).
    .sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)),
);

const byCode = new Map(regions.map((r) => [r.code, r]));
const childrenByProvince = new Map<string, Region[]>();
for (const r of regions) {
  if (r.parentCode) {
    const list = childrenByProvince.get(r.parentCode) ?? [];
    list.push(r);
    childrenByProvince.set(r.parentCode, list);
  }
}
for (const list of childrenByProvince.values()) Object.freeze(list);

/** The 38 provinces. */
export const provinces: readonly Region[] = Object.freeze(regions.filter((r) => r.level === 'province'));

/** A region by its canonical code (`16`, `16.71`), or undefined. */
export function regionByCode(code: string): Region | undefined {
  return byCode.get(code);
}

/** Regencies/cities of a province, in code order (empty for an unknown code). */
export function regenciesOf(provinceCode: string): readonly Region[] {
  return childrenByProvince.get(provinceCode) ?? [];
}

/** The province code (2 digits) of any region code: `16.71` → `16`. */
export function provinceOf(code: string): string {
  return code.slice(0, 2);
}

/**
 * Canonical form of a region code as written by agencies: `1671`, `16.71`, ` 16 71 `, `16-71` → `16.71`;
 * `16` → `16`. Returns null when the text is not shaped like a region code (it may still be unknown:
 * check with {@link regionByCode}).
 */
export function normaliseRegionCode(input: string): string | null {
  const digits = input.trim().replace(/[\s.\-_]/g, '');
  if (/^\d{2}$/.test(digits)) return digits;
  if (/^\d{4}$/.test(digits)) return `${digits.slice(0, 2)}.${digits.slice(2)}`;
  return null;
}
