import { ageOn } from '../reconcile/retirement.ts';

/** The horizons of R18, in years. */
export const OUTLOOK_YEARS = [1, 3, 5] as const;
export type OutlookYears = (typeof OUTLOOK_YEARS)[number];
export type ByHorizon = Record<OutlookYears, number>;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function split(date: string): [number, number, number] {
  const m = DATE_RE.exec(date);
  if (!m) throw new RangeError(`expected YYYY-MM-DD, got "${date}"`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** `date` plus `years` years; 29 February becomes 28 February in a common year. */
export function addYears(date: string, years: number): string {
  const [y, m, d] = split(date);
  const ny = y + years;
  return `${pad(ny, 4)}-${pad(m)}-${pad(m === 2 && d === 29 && !isLeap(ny) ? 28 : d)}`;
}

/**
 * R18: the retirement date — the day the officer reaches the retirement age of the level, the
 * same day R11 starts to flag `past_retirement_age` ({@link ageOn}: born on 29 February, one
 * turns a year older on 1 March of a common year).
 *
 * @example retirementDate('1968-02-29', 58) // '2026-03-01'
 */
export function retirementDate(birthDate: string, retirementAge: number): string {
  const [y, m, d] = split(birthDate);
  const ry = y + retirementAge;
  if (m === 2 && d === 29 && !isLeap(ry)) return `${pad(ry, 4)}-03-01`;
  return `${pad(ry, 4)}-${pad(m)}-${pad(d)}`;
}

/**
 * The latest birth date whose retirement date is on or before `asOf` + `years` years, for a
 * retirement age: an officer retires within the horizon exactly when born on or before it. The
 * reconcile (@pksync/db) counts R18 in SQL with these cut-offs.
 *
 * @example retiringCutoff('2026-11-30', 3, 58) // '1971-11-30'
 */
export function retiringCutoff(asOf: string, years: number, retirementAge: number): string {
  return addYears(addYears(asOf, years), -retirementAge);
}

/** R18 figures of one region and level. */
export interface LevelOutlook {
  active: number;
  /** Active officers whose retirement date is on or before `as_of` + h years (already past it included). */
  retiring: ByHorizon;
}

/**
 * R18: per level, the active officers and how many of them retire within 1, 3 and 5 years of
 * `asOf`. The oracle, not production: the reconcile counts in SQL (needs.phase.ts) and
 * packages/db/test/needs.oracles.int.test.ts pins it to this function.
 */
export function retirementOutlook(input: {
  officers: readonly { birthDate: string; level: string }[];
  asOf: string;
  retirementAge: (level: string) => number;
}): Record<string, LevelOutlook> {
  const out: Record<string, LevelOutlook> = {};
  const horizons = OUTLOOK_YEARS.map((h) => [h, addYears(input.asOf, h)] as const);
  for (const o of input.officers) {
    const lo = (out[o.level] ??= { active: 0, retiring: { 1: 0, 3: 0, 5: 0 } });
    lo.active++;
    const age = input.retirementAge(o.level);
    for (const [h, horizon] of horizons) if (ageOn(o.birthDate, horizon) >= age) lo.retiring[h]++;
  }
  return out;
}

/**
 * R18: the projected shortfall for one horizon, max(need − (`terisi` − retiring), 0), where need
 * is the computed need when present, else the declared one, else 0.
 */
export function projectedShortfall(input: {
  computed: number | null;
  declared: number | null;
  terisi: number;
  retiring: number;
}): number {
  const need = input.computed ?? input.declared ?? 0;
  return Math.max(need - (input.terisi - input.retiring), 0);
}

/**
 * R18 `retirement_wave` of one region: at least 2 active officers of whom at least half retire
 * within 3 years, or a level whose active officers all retire within 3 years.
 */
export function isRetirementWave(byLevel: Readonly<Record<string, LevelOutlook>>): boolean {
  let active = 0;
  let retiring = 0;
  for (const lo of Object.values(byLevel)) {
    if (lo.active > 0 && lo.retiring[3] >= lo.active) return true;
    active += lo.active;
    retiring += lo.retiring[3];
  }
  return active >= 2 && retiring * 2 >= active;
}
