import { availableFormation } from './appointment.ts';
import { OUTLOOK_YEARS, projectedShortfall, type ByHorizon } from './outlook.ts';

/**
 * The planning figures of one region and level (or a sum of them) as `GET /needs`, the CLI and
 * the console show them (needs-planning-v1.md § Interface). The nullable figures are null without
 * a formation row (`formasi`, `kebutuhanDeclared`, `availableFormation`) or without workload data
 * (`kebutuhanComputed`): unknown, not zero.
 */
export interface NeedsLevel {
  /** Approved positions of the year (current formation rows). */
  formasi: number | null;
  /** The agency's declared `kebutuhan` of the year. */
  kebutuhanDeclared: number | null;
  /** R16's computed need of the year. */
  kebutuhanComputed: number | null;
  /** Active officers now (R5, as the last reconcile counted them). */
  terisi: number;
  /** R17: max(`formasi` − `terisi`, 0). */
  availableFormation: number | null;
  /** R18: active officers retiring within 1, 3 and 5 years of `as_of`. */
  retiring: ByHorizon;
  /** R18: max(need − (`terisi` − retiring(h)), 0), need = computed ?? declared ?? 0. */
  projectedShortfall: ByHorizon;
}

/** The raw figures of one region and level, as stored. */
export interface NeedsInput {
  formasi: number | null;
  kebutuhanDeclared: number | null;
  kebutuhanComputed: number | null;
  terisi: number;
  retiring: ByHorizon;
}

const byHorizon = (f: (h: (typeof OUTLOOK_YEARS)[number]) => number): ByHorizon =>
  Object.fromEntries(OUTLOOK_YEARS.map((h) => [h, f(h)])) as ByHorizon;

/**
 * One region and level: the stored figures with R17's available formation
 * ({@link availableFormation}) and R18's projected shortfalls ({@link projectedShortfall}). The
 * one implementation: `getNeeds` (@pksync/db) applies it, so the API, the CLI and the console
 * show the same numbers.
 *
 * @example needsLevel({ formasi: 4, kebutuhanDeclared: 6, kebutuhanComputed: null, terisi: 3, retiring: { 1: 0, 3: 1, 5: 2 } })
 * // { …, availableFormation: 1, projectedShortfall: { 1: 3, 3: 4, 5: 5 } }
 */
export function needsLevel(input: NeedsInput): NeedsLevel {
  return {
    formasi: input.formasi,
    kebutuhanDeclared: input.kebutuhanDeclared,
    kebutuhanComputed: input.kebutuhanComputed,
    terisi: input.terisi,
    availableFormation: availableFormation(input.formasi, input.terisi),
    retiring: byHorizon((h) => input.retiring[h]),
    projectedShortfall: byHorizon((h) =>
      projectedShortfall({
        computed: input.kebutuhanComputed,
        declared: input.kebutuhanDeclared,
        terisi: input.terisi,
        retiring: input.retiring[h],
      }),
    ),
  };
}

/** A region and level with no data at all: nothing approved, declared or computed, nobody active. */
export function emptyNeedsLevel(): NeedsLevel {
  return needsLevel({
    formasi: null,
    kebutuhanDeclared: null,
    kebutuhanComputed: null,
    terisi: 0,
    retiring: { 1: 0, 3: 0, 5: 0 },
  });
}

/**
 * Adds up several regions (a province, the nation) or the levels of one region, as
 * `sumFormationFigures` does for R12: every figure adds up; a nullable figure is null only when
 * it is null in every part; the available formation and the projected shortfalls are each part's
 * own added up, so one region's surplus never fills another's gap. No parts: {@link emptyNeedsLevel}.
 *
 * @example sumNeedsLevels([a, b]).availableFormation // a.availableFormation + b.availableFormation
 */
export function sumNeedsLevels(parts: readonly NeedsLevel[]): NeedsLevel {
  const sum = (pick: (f: NeedsLevel) => number | null): number | null =>
    parts.reduce<number | null>((acc, f) => {
      const v = pick(f);
      return v === null ? acc : (acc ?? 0) + v;
    }, null);
  const total = (pick: (f: NeedsLevel) => number): number => parts.reduce((acc, f) => acc + pick(f), 0);
  return {
    formasi: sum((f) => f.formasi),
    kebutuhanDeclared: sum((f) => f.kebutuhanDeclared),
    kebutuhanComputed: sum((f) => f.kebutuhanComputed),
    terisi: total((f) => f.terisi),
    availableFormation: sum((f) => f.availableFormation),
    retiring: byHorizon((h) => total((f) => f.retiring[h])),
    projectedShortfall: byHorizon((h) => total((f) => f.projectedShortfall[h])),
  };
}
