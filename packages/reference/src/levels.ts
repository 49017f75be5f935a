import { deepFreeze, readDataCsv } from './load.ts';

export const LEVEL_CODES = ['ahli_pertama', 'ahli_muda', 'ahli_madya', 'ahli_utama'] as const;
export type LevelCode = (typeof LEVEL_CODES)[number];

export interface Level {
  readonly code: LevelCode;
  readonly name: string;
  readonly category: string;
  /** Batas usia pensiun in years (PP 11/2017 Pasal 239). */
  readonly retirementAge: number;
  /** Grades (golongan/ruang) of this level, lowest first: `III/a`, `III/b`. */
  readonly grades: readonly string[];
}

/** The four levels of Jabatan Fungsional Pengantar Kerja, lowest first. */
export const levels: readonly Level[] = deepFreeze(
  readDataCsv('levels.csv').map((r): Level => ({
    code: r.code as LevelCode,
    name: r.name!,
    category: r.category!,
    retirementAge: Number(r.retirement_age),
    grades: r.grades!.split(';').map((g) => g.trim()),
  })),
);

const byCode = new Map(levels.map((l) => [l.code, l]));

export function levelByCode(code: string): Level | undefined {
  return byCode.get(code as LevelCode);
}

export function isLevelCode(code: string): code is LevelCode {
  return byCode.has(code as LevelCode);
}
