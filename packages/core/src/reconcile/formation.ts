/** R12 figures of one region, level and year. `formasi`/`kebutuhan` are null without a formation row. */
export interface FormationFigures {
  formasi: number | null;
  kebutuhan: number | null;
  terisi: number;
  kekurangan: number | null;
}

/**
 * R12: `terisi` = active officers at the level in the register, `kekurangan` =
 * max(`kebutuhan` − `terisi`, 0). Without a formation row the approved and needed figures are
 * unknown (null), not zero.
 *
 * @example formationFigures({ formasi: 4, kebutuhan: 6, terisi: 5 }) // { formasi: 4, kebutuhan: 6, terisi: 5, kekurangan: 1 }
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
  };
}

/** R12 findings of one region for the year: `formation_missing` (per region), `over_formation` (per level). */
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
