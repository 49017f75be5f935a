import { availableFormation } from '../needs/appointment.ts';

/** R12 figures of one region, level and year. `formasi`/`kebutuhan` are null without a formation row. */
export interface FormationFigures {
  formasi: number | null;
  kebutuhan: number | null;
  terisi: number;
  kekurangan: number | null;
  /** R17: formation still available, max(`formasi` − `terisi`, 0); null without a formation row. */
  available: number | null;
}

/**
 * R12: `terisi` = active officers at the level in the register, `kekurangan` =
 * max(`kebutuhan` − `terisi`, 0). Without a formation row the approved and needed figures are
 * unknown (null), not zero. R12's one implementation of the figures: `getRegionSummaries`
 * (@pksync/db) applies it (and {@link sumFormationFigures}) for both `GET /regions` and the
 * demo's summary; no SQL repeats it.
 *
 * @example formationFigures({ formasi: 4, kebutuhan: 6, terisi: 5 }) // { formasi: 4, kebutuhan: 6, terisi: 5, kekurangan: 1, available: 0 }
 */
export function formationFigures(input: {
  formasi: number | null;
  kebutuhan: number | null;
  terisi: number;
}): FormationFigures {
  const { formasi, kebutuhan, terisi } = input;
  return {
    formasi,
    kebutuhan,
    terisi,
    kekurangan: kebutuhan === null ? null : Math.max(kebutuhan - terisi, 0),
    available: availableFormation(formasi, terisi),
  };
}

/**
 * R12 over several regions (a province with its regencies/cities): approved, needed and filled
 * add up, and so do the shortfalls — each region's own `kekurangan`, so one region's surplus never
 * fills another's gap. A figure is null only when it is null in every region (no formation row
 * anywhere).
 *
 * @example sumFormationFigures([formationFigures({ formasi: 2, kebutuhan: 4, terisi: 1 }), formationFigures({ formasi: 1, kebutuhan: 1, terisi: 3 })])
 * // { formasi: 3, kebutuhan: 5, terisi: 4, kekurangan: 3, available: 1 }
 */
export function sumFormationFigures(figures: readonly FormationFigures[]): FormationFigures {
  const sum = (pick: (f: FormationFigures) => number | null): number | null =>
    figures.reduce<number | null>((acc, f) => {
      const v = pick(f);
      return v === null ? acc : (acc ?? 0) + v;
    }, null);
  return {
    formasi: sum((f) => f.formasi),
    kebutuhan: sum((f) => f.kebutuhan),
    terisi: figures.reduce((acc, f) => acc + f.terisi, 0),
    kekurangan: sum((f) => f.kekurangan),
    available: sum((f) => f.available),
  };
}

/**
 * R12 findings of one region for the year: `formation_missing` (per region), `over_formation` (per level).
 *
 * The oracle, not production: `reconcileRun` (@pksync/db) raises both findings in SQL over the
 * whole register (`bufferRegisterFindings`); packages/db/src/reconcile/oracles.int.test.ts runs
 * random regions through the real reconcile and pins the SQL to this function.
 */
export function formationFindings(input: {
  /** Active officers per level in the region. */
  activeByLevel: Readonly<Record<string, number>>;
  /** Approved formation per level for the year; a region with no formation rows has none. */
  formasiByLevel: Readonly<Record<string, number>>;
}): { formationMissing: boolean; overFormationLevels: string[] } {
  const active = Object.values(input.activeByLevel).reduce((a, b) => a + b, 0);
  const hasFormation = Object.keys(input.formasiByLevel).length > 0;
  const over = Object.entries(input.activeByLevel)
    .filter(([level, n]) => {
      const formasi = input.formasiByLevel[level];
      return formasi !== undefined && n > formasi;
    })
    .map(([level]) => level)
    .sort();
  return { formationMissing: active > 0 && !hasFormation, overFormationLevels: over };
}
