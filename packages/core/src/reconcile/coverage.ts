/**
 * R13 coverage. This file is R13's one implementation: `getRegionSummaries` (@pksync/db) applies it
 * to the register's counts for both `GET /regions` and the demo's summary; no SQL repeats it.
 */

/** R13 coverage of a province: covered regencies/cities out of all of them. */
export interface Coverage {
  covered: number;
  total: number;
}

/** R13: a region is covered when it has at least one active officer. */
export function isCovered(activeOfficers: number): boolean {
  return activeOfficers > 0;
}

/**
 * R13: a province's coverage counts its regencies/cities (not the province's own office) with at
 * least one active officer, out of all of them.
 *
 * @example provinceCoverage(['16.01', '16.71'], new Map([['16.71', 4]])) // { covered: 1, total: 2 }
 */
export function provinceCoverage(
  regencyCodes: readonly string[],
  activeByRegion: ReadonlyMap<string, number>,
): Coverage {
  let covered = 0;
  for (const code of regencyCodes) if (isCovered(activeByRegion.get(code) ?? 0)) covered++;
  return { covered, total: regencyCodes.length };
}
