import type { LevelCode } from './levels.ts';
import { deepFreeze, readDataCsv } from './load.ts';

export interface Grade {
  /** Canonical golongan/ruang: `III/a`. */
  readonly code: string;
  readonly pangkat: string;
  /** Roman group: `I` … `IV`. */
  readonly group: string;
  /** The Pengantar Kerja level this grade belongs to, or null for grades no level uses. */
  readonly levelCode: LevelCode | null;
  /** Order from I/a (0) to IV/e (16). */
  readonly rank: number;
}

export const grades: readonly Grade[] = deepFreeze(
  readDataCsv('ranks.csv').map((r, i): Grade => ({
    code: r.golongan!,
    pangkat: r.pangkat!,
    group: r.group!,
    levelCode: r.jenjang_code ? (r.jenjang_code as LevelCode) : null,
    rank: i,
  })),
);

const byCode = new Map(grades.map((g) => [g.code, g]));
const ROMAN: Record<string, string> = {
  '1': 'I',
  '2': 'II',
  '3': 'III',
  '4': 'IV',
  I: 'I',
  II: 'II',
  III: 'III',
  IV: 'IV',
};

export function gradeByCode(code: string): Grade | undefined {
  return byCode.get(code);
}

/**
 * Canonical grade from the forms agencies write: `III/a`, `IIIa`, `III-a`, `III/A`, `3a`, `3/a`,
 * `III a`, `Penata Muda, III/a` → `III/a`. Returns null when no grade matches.
 *
 * @example normaliseGrade('3/b') // 'III/b'
 */
export function normaliseGrade(input: string): string | null {
  const m = /(?:^|[^A-Za-z])(IV|III|II|I|[1-4])\s*[/\-.\s]?\s*([a-e])\s*$/i.exec(input.trim());
  if (!m) return null;
  const group = ROMAN[m[1]!.toUpperCase()];
  const code = `${group}/${m[2]!.toLowerCase()}`;
  return byCode.has(code) ? code : null;
}
