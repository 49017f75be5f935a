import type { LevelCode } from '@pksync/reference';

export const OFFICER_STATUSES = [
  'aktif',
  'cuti',
  'tugas_belajar',
  'diberhentikan_sementara',
  'pensiun',
  'meninggal',
  'mutasi_keluar',
] as const;
export type OfficerStatus = (typeof OFFICER_STATUSES)[number];

/** R5: these statuses count as active (in the register and in counts). */
export const ACTIVE_STATUSES: readonly OfficerStatus[] = ['aktif', 'cuti'];
export const isActiveStatus = (s: OfficerStatus): boolean => s === 'aktif' || s === 'cuti';

/** A raw record as it arrives: header-mapped file row or API object, values untouched. */
export type RawRecord = Record<string, unknown>;

/**
 * A canonical officer record after normalisation (exchange-format-v1.md § OfficerRecord).
 * Dates are `YYYY-MM-DD`; the gender and birth date are the NIP's (R2).
 */
export interface Officer {
  nip: string;
  /** The name as given (trimmed, NULs removed), for display. */
  name: string;
  /** Lower-case, titles removed, single spaces: for matching and search. */
  nameNormalised: string;
  gender: 'L' | 'P';
  birthDate: string;
  level: LevelCode;
  grade: string;
  unit: string;
  regionCode: string;
  tmtJabatan: string;
  status: OfficerStatus;
  email: string | null;
  phone: string | null;
  updatedAt: string | null;
  /** 1-based file row (header = row 1, first record = row 2) or 0-based API position. */
  position: number;
}

/** A canonical formation row (exchange-format-v1.md § FormationRecord). */
export interface Formation {
  regionCode: string;
  year: number;
  level: LevelCode;
  need: number;
  approved: number;
  position: number;
}

/** The complexity and risk classes of a region's work (needs-planning-v1.md § Workload data). */
export const COMPLEXITIES = ['rendah', 'sedang', 'tinggi'] as const;
export type Complexity = (typeof COMPLEXITIES)[number];

/**
 * A canonical workload row (needs-planning-v1.md § WorkloadRecord): how many times an activity
 * of the parameter set was done in a region in a year, with the region's area and complexity
 * indicators when the row states them.
 */
export interface Workload {
  regionCode: string;
  year: number;
  /** An activity code of the parameter set in force (`pendaftaran_pencari_kerja`). */
  activity: string;
  volume: number;
  /** `cakupan_kecamatan`: districts served (≥ 1), or null when the row does not say. */
  districts: number | null;
  /** `kompleksitas`, or null when the row does not say. */
  complexity: Complexity | null;
  position: number;
}
