import { levels, regions, type LevelCode } from '@pksync/reference';
import { FAMILY_NAMES, FEMALE_NAMES, INDONESIAN_MONTHS, MALE_NAMES, PREFIX_TITLES, SUFFIX_TITLES } from './names.ts';
import { Rng } from './prng.ts';
import type { AgencyStyle, SimAgency } from './world.ts';

/**
 * Defects seeded into a share of records (exchange-format-v1.md, reconciliation-rules.md). Each
 * names the rule outcome the pipeline should produce.
 */
export const DEFECTS = [
  'nip_invalid',
  'nip_scientific',
  'gender_mismatch',
  'birthdate_mismatch',
  'grade_level_mismatch',
  'level_unknown',
  'grade_unknown',
  'field_missing',
  'date_invalid',
  'date_in_future',
  'field_too_long',
  'region_mismatch',
  'duplicate_in_source',
  'past_retirement_age',
  'formula_text',
] as const;
export type Defect = (typeof DEFECTS)[number];

/** A simulated officer in canonical form, before an agency's style and defects are applied. */
export interface SimOfficer {
  nip: string;
  name: string;
  gender: 'L' | 'P';
  birthDate: string;
  level: LevelCode;
  grade: string;
  unit: string;
  regionCode: string;
  tmtJabatan: string;
  status: string;
  email: string | null;
  phone: string | null;
  updatedAt: string;
  defect: Defect | null;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const daysIn = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();

/** `YYYY-MM-DD` plus `days`. */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The first two draws of every officer: gender, then level (shared with {@link levelOfSlot}). */
function genderAndLevel(rng: Rng): { gender: 'L' | 'P'; level: LevelCode } {
  const gender: 'L' | 'P' = rng.chance(0.55) ? 'L' : 'P';
  return { gender, level: rng.weighted(LEVEL_WEIGHTS) };
}

/** The birth date of someone reaching `age` on `date` (29 February avoided). */
function birthRetiringOn(date: string, age: number): { y: number; m: number; d: number } {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return { y: y - age, m, d: m === 2 && d === 29 ? 28 : d };
}

function randomDate(rng: Rng, yFrom: number, yTo: number): { y: number; m: number; d: number } {
  const y = rng.int(yFrom, yTo);
  const m = rng.int(1, 12);
  return { y, m, d: rng.int(1, daysIn(y, m)) };
}

const LEVEL_WEIGHTS: readonly (readonly [LevelCode, number])[] = [
  ['ahli_pertama', 45],
  ['ahli_muda', 35],
  ['ahli_madya', 17],
  ['ahli_utama', 3],
];
const STATUS_WEIGHTS: readonly (readonly [string, number])[] = [
  ['aktif', 90],
  ['cuti', 3],
  ['tugas_belajar', 3],
  ['diberhentikan_sementara', 1],
  ['pensiun', 2],
  ['meninggal', 0.5],
  ['mutasi_keluar', 0.5],
];

/**
 * The clean officer in slot `slot` of `agency` (day 0), deterministic for the seed. `baseDate`
 * bounds every date (no TMT after it). `defectRate` is the share of records given one defect.
 */
export function baseOfficer(
  seed: number,
  agency: SimAgency,
  slot: number,
  baseDate: string,
  defectRate: number,
): SimOfficer {
  const rng = Rng.of(seed, 'officer', agency.id, slot);
  const baseYear = Number(baseDate.slice(0, 4));
  const { gender, level } = genderAndLevel(rng);
  const levelInfo = levels.find((l) => l.code === level)!;
  // Older officers at higher levels; everyone retires more than three years after baseDate (R18:
  // no retirement wave but the seeded ones), except in a retirement-wave agency.
  const minAge = { ahli_pertama: 24, ahli_muda: 30, ahli_madya: 38, ahli_utama: 45 }[level];
  let birth = randomDate(rng, baseYear - levelInfo.retirementAge + 4, baseYear - minAge);
  if (agency.planning.retirementWave) {
    const wave = Rng.of(seed, 'wave', agency.id, slot);
    // Retiring between two months and three years (less a month) after baseDate.
    if (wave.chance(0.8))
      birth = birthRetiringOn(addDays(baseDate, wave.int(60, 3 * 365 - 30)), levelInfo.retirementAge);
  }
  const cpnsYear = rng.int(birth.y + 21, Math.min(birth.y + 35, baseYear - 1));
  const cpnsMonth = rng.int(1, 12);
  const seq = rng.int(1, 999);
  const nip = `${birth.y}${pad(birth.m)}${pad(birth.d)}${cpnsYear}${pad(cpnsMonth)}${gender === 'L' ? 1 : 2}${pad(seq, 3)}`;
  const given = rng.pick(gender === 'L' ? MALE_NAMES : FEMALE_NAMES);
  const middle = rng.chance(0.3) ? ` ${rng.pick(gender === 'L' ? MALE_NAMES : FEMALE_NAMES)}` : '';
  const family = rng.pick(FAMILY_NAMES);
  let name = `${given}${middle} ${family}`;
  if (rng.chance(0.08)) name = `${rng.pick(PREFIX_TITLES)} ${name}`;
  if (rng.chance(0.45))
    name = `${name}, ${rng.pick(SUFFIX_TITLES)}${rng.chance(0.25) ? `, ${rng.pick(SUFFIX_TITLES)}` : ''}`;
  const tmtYear = rng.int(Math.min(cpnsYear + 2, baseYear), baseYear);
  let tmt = `${tmtYear}-${pad(rng.int(1, 12))}-01`;
  if (tmt > baseDate) tmt = `${baseYear}-01-01`;
  // R17 agencies: the first slots were appointed the year before baseDate (when their CPNS year
  // allows), so that the year has appointees whose formation can be missing or short.
  if (agency.planning.appointment !== null && slot < 3 && cpnsYear + 2 <= baseYear - 1) {
    tmt = `${baseYear - 1}-${pad(slot + 3)}-01`;
  }
  const email = rng.chance(0.6)
    ? `${given}.${family}${rng.int(1, 99)}@${rng.pick(['gmail.com', 'yahoo.co.id', 'kemnaker.go.id'])}`.toLowerCase()
    : null;
  const phone = rng.chance(0.7)
    ? `${rng.chance(0.2) ? '+62' : '0'}8${rng.int(11, 59)}${rng.int(1000000, 99999999)}`
    : null;
  const defect = rng.chance(defectRate) ? rng.pick(DEFECTS) : null;
  return {
    nip,
    name,
    gender,
    birthDate: `${birth.y}-${pad(birth.m)}-${pad(birth.d)}`,
    level,
    grade: rng.pick(levelInfo.grades),
    unit: rng.chance(0.5) ? agency.agency : `Bidang Penempatan Tenaga Kerja, ${agency.agency}`,
    regionCode: agency.region.code,
    tmtJabatan: tmt,
    status: rng.weighted(STATUS_WEIGHTS),
    email,
    phone,
    updatedAt: `${addDays(baseDate, -rng.int(0, 400))}T${pad(rng.int(0, 23))}:${pad(rng.int(0, 59))}:00+07:00`,
    defect,
  };
}

/**
 * The level slot `slot` of `agency` is drawn with (its day-0 officer's, before any defect): what
 * formations count per level without making whole officers.
 */
export function levelOfSlot(seed: number, agency: SimAgency, slot: number): LevelCode {
  return genderAndLevel(Rng.of(seed, 'officer', agency.id, slot)).level;
}

/** Applies the officer's defect (if any) to its canonical values. */
export function applyDefect(
  seed: number,
  agency: SimAgency,
  slot: number,
  o: SimOfficer,
  baseDate: string,
): SimOfficer {
  if (!o.defect) return o;
  const rng = Rng.of(seed, 'defect', agency.id, slot);
  const x = { ...o };
  switch (o.defect) {
    case 'nip_invalid':
      // A month 13 in the birth date, or a digit lost.
      x.nip = rng.chance(0.5) ? `${o.nip.slice(0, 4)}13${o.nip.slice(6)}` : o.nip.slice(0, 17);
      break;
    case 'gender_mismatch':
      x.gender = o.gender === 'L' ? 'P' : 'L';
      break;
    case 'birthdate_mismatch':
      x.birthDate = addDays(o.birthDate, rng.int(1, 300));
      break;
    case 'grade_level_mismatch': {
      const other = levels.filter((l) => l.code !== o.level);
      x.grade = rng.pick(rng.pick(other).grades);
      break;
    }
    case 'level_unknown':
      x.level = rng.pick(['Ahli Super', 'Terampil', 'Staf']) as LevelCode;
      break;
    case 'grade_unknown':
      x.grade = rng.pick(['V/a', 'III/z', 'Golongan Tiga']);
      break;
    case 'field_missing':
      x.unit = '';
      break;
    case 'date_invalid':
      x.tmtJabatan = rng.pick(['2019-02-30', '2020-13-01', 'kemarin']);
      break;
    case 'date_in_future':
      x.tmtJabatan = addDays(baseDate, 400 + rng.int(0, 300));
      break;
    case 'field_too_long':
      x.unit = `${o.unit} ${'Seksi Penempatan Tenaga Kerja Dalam Negeri '.repeat(14)}`.trim();
      break;
    case 'region_mismatch': {
      const others = regions.filter((r) => r.code !== agency.region.code);
      x.regionCode = rng.pick(others).code;
      break;
    }
    case 'past_retirement_age': {
      // A consistent NIP for someone already past the level's retirement age.
      const age = levels.find((l) => l.code === o.level)!.retirementAge + rng.int(0, 3);
      const y = Number(baseDate.slice(0, 4)) - age - 1;
      x.birthDate = `${y}${o.birthDate.slice(4)}`.replace(/-02-29$/, '-02-28');
      x.nip = `${x.birthDate.replaceAll('-', '')}${o.nip.slice(8)}`;
      break;
    }
    case 'formula_text':
      // Stored as given, exported so no spreadsheet runs it.
      x.unit = rng.pick([
        '=HYPERLINK("http://example.invalid","klik")',
        '+62-711-123',
        '@SUM(A1:A9)',
        '<b>Dinas</b> "Tenaga" Kerja 👷',
      ]);
      break;
    case 'nip_scientific':
    case 'duplicate_in_source':
      break; // applied at render time / by the listing
  }
  return x;
}

function formatDate(date: string, style: AgencyStyle['dateStyle']): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return date; // already broken on purpose
  const [, y, mo, d] = m;
  switch (style) {
    case 'iso':
      return date;
    case 'dmy-dash':
      return `${d}-${mo}-${y}`;
    case 'dmy-slash':
      return `${d}/${mo}/${y}`;
    case 'indonesian':
      return `${Number(d)} ${INDONESIAN_MONTHS[Number(mo) - 1] ?? mo} ${y}`;
  }
}

const GRADE_NUM: Record<string, string> = { I: '1', II: '2', III: '3', IV: '4' };
function formatGrade(grade: string, style: AgencyStyle['gradeStyle']): string {
  const m = /^(I|II|III|IV)\/([a-e])$/.exec(grade);
  if (!m) return grade;
  switch (style) {
    case 'canonical':
      return grade;
    case 'compact':
      return `${m[1]}${m[2]}`;
    case 'dash':
      return `${m[1]}-${m[2]!.toUpperCase()}`;
    case 'numeric':
      return `${GRADE_NUM[m[1]!]}${m[2]}`;
  }
}

function formatLevel(level: string, style: AgencyStyle['levelStyle']): string {
  if (!level.startsWith('ahli_')) return level;
  const word = level.slice(5);
  const title = `Ahli ${word[0]!.toUpperCase()}${word.slice(1)}`;
  switch (style) {
    case 'code':
      return level;
    case 'title':
      return title;
    case 'full':
      return `Pengantar Kerja ${title}`;
    case 'bare':
      return `${word[0]!.toUpperCase()}${word.slice(1)}`;
  }
}

function formatGender(g: 'L' | 'P', style: AgencyStyle['genderStyle']): string {
  if (style === 'words') return g === 'L' ? 'Laki-laki' : 'Perempuan';
  if (style === 'MF') return g === 'L' ? 'M' : 'F';
  return g;
}

/** Field values of an exchange-format OfficerRecord, in the agency's style (strings; `null` = absent). */
export interface OfficerFields {
  nip: string;
  nama: string;
  jenis_kelamin: string;
  tanggal_lahir: string;
  jenjang: string;
  golongan: string;
  unit_kerja: string;
  kode_wilayah: string | null;
  tmt_jabatan: string;
  status: string;
  email: string | null;
  telepon: string | null;
  updated_at: string;
}

export function renderOfficer(o: SimOfficer, style: AgencyStyle): OfficerFields {
  let nip = o.nip;
  if (o.defect === 'nip_scientific') nip = Number(o.nip).toExponential(5).replace('e+', 'E+');
  else if (style.nipStyle === 'spaced' && nip.length === 18)
    nip = `${nip.slice(0, 8)} ${nip.slice(8, 14)} ${nip.slice(14, 15)} ${nip.slice(15)}`;
  const region =
    o.regionCode !== '' && (style.regionStyle !== 'absent' || o.defect === 'region_mismatch')
      ? style.regionStyle === 'digits'
        ? o.regionCode.replace('.', '')
        : o.regionCode
      : null;
  return {
    nip,
    nama: o.name,
    jenis_kelamin: formatGender(o.gender, style.genderStyle),
    tanggal_lahir: formatDate(o.birthDate, style.dateStyle),
    jenjang: formatLevel(o.level, style.levelStyle),
    golongan: formatGrade(o.grade, style.gradeStyle),
    unit_kerja: o.unit,
    kode_wilayah: region,
    tmt_jabatan: formatDate(o.tmtJabatan, style.dateStyle),
    status: o.status,
    email: o.email,
    telepon: o.phone,
    updated_at: o.updatedAt,
  };
}

/** A FormationRecord of the exchange format. */
export interface FormationFields {
  kode_wilayah: string;
  tahun: number;
  jenjang: string;
  kebutuhan: number;
  formasi: number;
}
