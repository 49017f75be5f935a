import Decimal from 'decimal.js';
import { LEVEL_CODES, type LevelCode } from '@pksync/reference';
import type { Complexity, Workload } from '../officer.ts';
import { areaFactor, complexityFactor, shareOf, type NeedParameters } from './parameters.ts';

// Sums and products of the decimal inputs are exact at this precision; the one division is
// rounded to 60 significant digits, far below anything that could move a half_up decision.
const Exact = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_UP });

/** R16's need of one region, level and year, with what it was computed from. */
export interface ComputedNeed {
  regionCode: string;
  year: number;
  level: LevelCode;
  /** The rounded need (the figure shown and compared). */
  need: number;
  /** The unrounded need as a decimal string, to explain the rounding. */
  exact: string;
  areaFactor: number;
  complexityFactor: number;
  parameterVersion: string;
}

/** Rounds once, at the end (`half_up`: x.5 goes up). */
function roundNeed(x: Decimal, mode: NeedParameters['rounding']): number {
  const r = mode === 'up' ? x.ceil() : mode === 'down' ? x.floor() : x.toDecimalPlaces(0, Decimal.ROUND_HALF_UP);
  return r.toNumber();
}

/**
 * The region's area and complexity indicators for the year: per region and year, a row that
 * states one gives it; when several rows state different values the later row (by position)
 * stands, as for a repeated formation key (docs/decisions.md § Needs planning).
 */
function indicators(rows: readonly Workload[]): { districts: number | null; complexity: Complexity | null } {
  let districts: number | null = null;
  let complexity: Complexity | null = null;
  let dPos = -Infinity;
  let cPos = -Infinity;
  for (const w of rows) {
    if (w.districts !== null && w.position >= dPos) [districts, dPos] = [w.districts, w.position];
    if (w.complexity !== null && w.position >= cPos) [complexity, cPos] = [w.complexity, w.position];
  }
  return { districts, complexity };
}

/**
 * R16 (needs-planning-v1.md): per region and level, for `year`, with `params` (the version in
 * force on `as_of`): need = rounding( Σ (volume × minutes × share of the level) × area factor ×
 * complexity factor ÷ effective_minutes_per_year ), computed exactly and rounded once. Every
 * region with workload rows for the year gets a need for every level (possibly 0); rows naming an
 * activity the version does not know add nothing. Production: the reconcile's needs phase
 * (@pksync/db) calls this over the register's workload rows.
 *
 * @example computeNeeds(params, 2026, workloads) // [{ regionCode: '16.71', level: 'ahli_pertama', need: 3, … }, …]
 */
export function computeNeeds(params: NeedParameters, year: number, workloads: readonly Workload[]): ComputedNeed[] {
  const byRegion = new Map<string, Workload[]>();
  for (const w of workloads) {
    if (w.year !== year) continue;
    const list = byRegion.get(w.regionCode);
    if (list) list.push(w);
    else byRegion.set(w.regionCode, [w]);
  }
  const minutesPerYear = new Exact(params.effective_minutes_per_year);
  const out: ComputedNeed[] = [];
  for (const [regionCode, rows] of [...byRegion].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const { districts, complexity } = indicators(rows);
    const area = areaFactor(params, districts);
    const cx = complexityFactor(params, complexity);
    for (const level of LEVEL_CODES) {
      let minutes = new Exact(0);
      for (const w of rows) {
        const activity = params.activities[w.activity];
        if (!activity) continue;
        const share = shareOf(activity, level);
        if (share === 0 || w.volume === 0) continue;
        minutes = minutes.plus(new Exact(w.volume).times(activity.minutes).times(share));
      }
      const exact = minutes.times(area).times(cx).dividedBy(minutesPerYear);
      out.push({
        regionCode,
        year,
        level,
        need: roundNeed(exact, params.rounding),
        exact: exact.toFixed(6),
        areaFactor: area,
        complexityFactor: cx,
        parameterVersion: params.version,
      });
    }
  }
  return out;
}

/** Default R16 tolerance: a difference above max(1, 20% of the declared need) is flagged. */
export const DEFAULT_NEED_TOLERANCE = 0.2;

/**
 * R16: the computed and declared needs differ by more than max(1, `tolerance` × declared).
 *
 * @example needDiffers(7, 5) // true (|7 − 5| = 2 > max(1, 1))
 */
export function needDiffers(computed: number, declared: number, tolerance = DEFAULT_NEED_TOLERANCE): boolean {
  // Exactly: 0.2 × 15 must be 3, not 3.0000000000000004.
  return new Exact(Math.abs(computed - declared)).greaterThan(Decimal.max(1, new Exact(tolerance).times(declared)));
}
