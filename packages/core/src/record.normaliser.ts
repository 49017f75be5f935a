import {
  gradeByCode,
  levelByCode,
  normaliseGrade,
  normaliseRegionCode,
  regionByCode,
  type LevelCode,
} from '@pksync/reference';
import { severityOf, type FindingCode, type RejectionCode } from './findings.ts';
import {
  memoise,
  normaliseEmail,
  normaliseGender,
  normaliseLevel,
  normalisePhone,
  normaliseStatus,
} from './normalise/fields.ts';
import { parseDate } from './normalise/date.ts';
import { normaliseName } from './normalise/name.ts';
import { describeNipProblem, validateNip } from './normalise/nip.ts';
import { cleanText, isTooLong, MAX_FIELD_LENGTH } from './normalise/text.ts';
import {
  COMPLEXITIES,
  type Complexity,
  type Formation,
  type Officer,
  type OfficerStatus,
  type RawRecord,
  type Workload,
} from './officer.ts';
import type { RecordContext, RecordFinding, Rejection, RejectionIssue } from './record.types.ts';

/** OfficerRecord field names (exchange-format-v1.md). Any other field is unknown: counted, ignored. */
export const OFFICER_FIELDS = [
  'nip',
  'nama',
  'jenis_kelamin',
  'tanggal_lahir',
  'jenjang',
  'golongan',
  'unit_kerja',
  'kode_wilayah',
  'tmt_jabatan',
  'status',
  'email',
  'telepon',
  'updated_at',
] as const;

/** FormationRecord field names. */
export const FORMATION_FIELDS = ['kode_wilayah', 'tahun', 'jenjang', 'kebutuhan', 'formasi'] as const;

export type OfficerResult =
  { ok: true; officer: Officer; findings: RecordFinding[] } | { ok: false; rejection: Rejection };
export type FormationResult = { ok: true; formation: Formation } | { ok: false; rejection: Rejection };
export type WorkloadResult = { ok: true; workload: Workload } | { ok: false; rejection: Rejection };

/** WorkloadRecord field names (needs-planning-v1.md § Workload data). */
export const WORKLOAD_FIELDS = [
  'kode_wilayah',
  'tahun',
  'kegiatan',
  'volume',
  'cakupan_kecamatan',
  'kompleksitas',
] as const;

const gradeOf = memoise((s: string): string | null => (gradeByCode(s) ? s : normaliseGrade(s)));

/** Collects rejection issues for one record; allocates only when something is wrong. */
class Issues {
  list: RejectionIssue[] | null = null;
  add(code: RejectionCode, field: string, detail?: string): void {
    const issue: RejectionIssue = detail === undefined ? { code, field } : { code, field, detail };
    (this.list ??= []).push(issue);
  }
}

const sharedIssues = new Issues();

// `undefined`: absent or blank. `null`: present but unusable, already reported.
type Text = string | undefined | null;

function readText(raw: RawRecord, field: string, issues: Issues): Text {
  const v = raw[field];
  let s: string;
  if (typeof v === 'string') s = cleanText(v);
  else if (v === undefined || v === null) return undefined;
  else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') s = String(v);
  else if (v instanceof Date) s = parseDate(v) ?? '';
  else {
    issues.add('field_missing', field, 'nilainya bukan teks');
    return null;
  }
  if (s === '') return undefined;
  if (isTooLong(s)) {
    issues.add('field_too_long', field, `lebih dari ${MAX_FIELD_LENGTH} karakter`);
    return null;
  }
  return s;
}

function requireText(raw: RawRecord, field: string, issues: Issues): string | null {
  const s = readText(raw, field, issues);
  if (s === undefined) {
    issues.add('field_missing', field, 'wajib diisi');
    return null;
  }
  return s;
}

/** A date field: text in an accepted form, an Excel date cell or serial. */
function readDate(raw: RawRecord, field: string, issues: Issues, required: boolean): string | null | undefined {
  const v = raw[field];
  if (v instanceof Date || typeof v === 'number') {
    const d = parseDate(v);
    if (d === null) issues.add('date_invalid', field, `bukan tanggal yang sah: ${String(v)}`);
    return d;
  }
  const s = readText(raw, field, issues);
  if (s === undefined) {
    if (required) issues.add('field_missing', field, 'wajib diisi');
    return s;
  }
  if (s === null) return null;
  const d = parseDate(s);
  if (d === null) issues.add('date_invalid', field, `bukan tanggal yang sah: "${s}"`);
  return d;
}

let memoRegionIn = '';
let memoRegionOut = '';
function canonicalSourceRegion(code: string): string {
  if (code === memoRegionIn) return memoRegionOut;
  const c = normaliseRegionCode(code);
  if (!c || !regionByCode(c)) throw new Error(`sourceRegion is not a known region code: ${JSON.stringify(code)}`);
  memoRegionIn = code;
  memoRegionOut = c;
  return c;
}

let memoAsOf = '';
function checkAsOf(asOf: string): void {
  if (asOf === memoAsOf) return;
  if (parseDate(asOf) !== asOf) throw new Error(`asOf must be a real date as YYYY-MM-DD: ${JSON.stringify(asOf)}`);
  memoAsOf = asOf;
}

/** R4: the record's region, or null (reported) when it is unknown or not the source's. */
function readRegion(raw: RawRecord, issues: Issues, sourceRegion: string): string | null {
  const v = raw.kode_wilayah;
  // A spreadsheet number cell drops a trailing zero: 16.10 arrives as 16.1.
  const s =
    typeof v === 'number' && v > 10 && v < 100 && !Number.isInteger(v)
      ? v.toFixed(2)
      : readText(raw, 'kode_wilayah', issues);
  if (s === undefined) return sourceRegion;
  if (s === null) return null;
  const code = s === sourceRegion ? s : normaliseRegionCode(s);
  if (!code || !regionByCode(code)) {
    issues.add('region_unknown', 'kode_wilayah', `"${s}" bukan kode wilayah Kemendagri`);
    return null;
  }
  if (code !== sourceRegion) {
    issues.add('region_mismatch', 'kode_wilayah', `${code} berbeda dengan wilayah sumber ${sourceRegion}`);
    return null;
  }
  return code;
}

function readLevel(raw: RawRecord, issues: Issues): LevelCode | null {
  const s = requireText(raw, 'jenjang', issues);
  if (s === null) return null;
  const level = normaliseLevel(s);
  if (!level) issues.add('level_unknown', 'jenjang', `"${s}" bukan jenjang Pengantar Kerja`);
  return level;
}

/** The record's values as text, for keeping with a rejection (NULs removed: PostgreSQL cannot store them). */
export function rawAsText(raw: RawRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(raw)) {
    const v = raw[key];
    let s: string;
    if (v === undefined || v === null) s = '';
    else if (typeof v === 'string') s = v;
    else if (v instanceof Date) s = Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
    else if (typeof v === 'object') {
      try {
        s = JSON.stringify(v);
      } catch {
        s = String(v);
      }
    } else s = String(v);
    out[key] = s.indexOf('\u0000') === -1 ? s : s.replaceAll('\u0000', '');
  }
  return out;
}

function reject(raw: RawRecord, position: number, issues: RejectionIssue[], nip: string | undefined): Rejection {
  const codes: RejectionCode[] = [];
  const fields: string[] = [];
  for (const i of issues) {
    if (!codes.includes(i.code)) codes.push(i.code);
    if (!fields.includes(i.field)) fields.push(i.field);
  }
  const rejection: Rejection = { row: position, codes, fields, raw: rawAsText(raw), issues };
  if (nip) rejection.nip = nip;
  return rejection;
}

function finding(code: FindingCode, row: number, nip: string, details: Record<string, unknown>): RecordFinding {
  return { code, severity: severityOf(code), row, nip, details };
}

/**
 * Normalises one OfficerRecord (exchange-format-v1.md) and applies the per-record rules R1–R6:
 * either a canonical {@link Officer} with its R2/R3 warnings, or a {@link Rejection} listing every
 * reason (all fields are checked, not just the first failure). Hand-written per field for speed;
 * no zod on this path.
 *
 * @throws Error when `ctx.asOf` or `ctx.sourceRegion` is invalid (a caller bug, not bad data).
 */
export function normaliseOfficer(raw: RawRecord, ctx: RecordContext): OfficerResult {
  checkAsOf(ctx.asOf);
  const sourceRegion = canonicalSourceRegion(ctx.sourceRegion);
  const { asOf, position } = ctx;
  // One collector reused across calls (normalisation is synchronous): one allocation less per record.
  const issues = sharedIssues;
  issues.list = null;

  // R1 identity
  let nip: string | undefined;
  let nipCheck: ReturnType<typeof validateNip> | undefined;
  const rawNip = raw.nip;
  if (typeof rawNip === 'number' || typeof rawNip === 'bigint') {
    nipCheck = validateNip(rawNip, asOf);
    nip = nipCheck.nip;
  } else {
    const s = requireText(raw, 'nip', issues);
    if (s !== null) {
      nipCheck = validateNip(s, asOf);
      nip = nipCheck.nip;
    }
  }
  if (nipCheck && !nipCheck.ok) issues.add('nip_invalid', 'nip', describeNipProblem(nipCheck.problem));

  const name = requireText(raw, 'nama', issues);
  const genderText = readText(raw, 'jenis_kelamin', issues);
  const birthGiven = readDate(raw, 'tanggal_lahir', issues, false);

  // R3 level and grade
  const level = readLevel(raw, issues);
  const gradeText = requireText(raw, 'golongan', issues);
  let grade: string | null = null;
  if (gradeText !== null) {
    grade = gradeOf(gradeText);
    if (!grade) issues.add('grade_unknown', 'golongan', `"${gradeText}" bukan golongan/ruang yang dikenal`);
  }

  const unit = requireText(raw, 'unit_kerja', issues);
  const region = readRegion(raw, issues, sourceRegion);

  // R6 dates
  const tmtJabatan = readDate(raw, 'tmt_jabatan', issues, true);
  if (tmtJabatan && tmtJabatan > asOf) {
    issues.add('date_in_future', 'tmt_jabatan', `${tmtJabatan} setelah tanggal acuan ${asOf}`);
  }

  // R5 status; an unrecognised status leaves the required field without a usable value.
  const statusText = requireText(raw, 'status', issues);
  let status: OfficerStatus | null = null;
  if (statusText !== null) {
    status = normaliseStatus(statusText);
    if (!status) issues.add('field_missing', 'status', `status "${statusText}" tidak dikenali`);
  }

  const emailText = readText(raw, 'email', issues);
  const phoneText = readText(raw, 'telepon', issues);
  let updatedAt: string | null = null;
  const rawUpdated = raw.updated_at;
  if (rawUpdated instanceof Date || typeof rawUpdated === 'number') {
    const d = rawUpdated instanceof Date ? rawUpdated : new Date(Number.NaN);
    if (Number.isNaN(d.getTime())) issues.add('date_invalid', 'updated_at', 'bukan waktu ISO 8601 yang sah');
    else updatedAt = d.toISOString();
  } else {
    const s = readText(raw, 'updated_at', issues);
    if (s) {
      const t = /^\d{4}-\d{2}-\d{2}/.test(s) ? Date.parse(s) : Number.NaN;
      if (Number.isNaN(t)) issues.add('date_invalid', 'updated_at', `bukan waktu ISO 8601 yang sah: "${s}"`);
      else updatedAt = new Date(t).toISOString();
    }
  }

  if (issues.list || !nipCheck || !nipCheck.ok) {
    return { ok: false, rejection: reject(raw, position, issues.list ?? [], nip) };
  }
  // Everything below is non-null when no issue was raised.
  const valid = nipCheck;
  const findings: RecordFinding[] = [];

  // R2 cross-checks: the NIP's values stand.
  if (genderText) {
    const given = normaliseGender(genderText);
    if (given !== valid.gender) {
      findings.push(
        finding('gender_mismatch', position, valid.nip, {
          given: genderText,
          fromNip: valid.gender,
          recognised: given !== null,
        }),
      );
    }
  }
  if (birthGiven && birthGiven !== valid.birthDate) {
    findings.push(finding('birthdate_mismatch', position, valid.nip, { given: birthGiven, fromNip: valid.birthDate }));
  }
  // R3: grade outside the level's range is a warning; the record stands.
  if (!levelByCode(level!)!.grades.includes(grade!)) {
    findings.push(finding('grade_level_mismatch', position, valid.nip, { level: level, grade: grade }));
  }

  const officer: Officer = {
    nip: valid.nip,
    name: name!,
    nameNormalised: normaliseName(name!),
    gender: valid.gender,
    birthDate: valid.birthDate,
    level: level!,
    grade: grade!,
    unit: unit!,
    regionCode: region!,
    tmtJabatan: tmtJabatan!,
    status: status!,
    email: emailText ? normaliseEmail(emailText) : null,
    phone: phoneText ? normalisePhone(phoneText) : null,
    updatedAt,
    position,
  };
  return { ok: true, officer, findings };
}

function readCount(raw: RawRecord, field: string, issues: Issues): number | null {
  const v = raw[field];
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 0) return v;
    issues.add('field_missing', field, `${v} bukan bilangan bulat ≥ 0`);
    return null;
  }
  const s = requireText(raw, field, issues);
  if (s === null) return null;
  if (/^\d{1,9}$/.test(s)) return Number(s);
  issues.add('field_missing', field, `"${s}" bukan bilangan bulat ≥ 0`);
  return null;
}

/** `tahun`: a 4-digit year (`date_invalid` otherwise). */
function readYear(raw: RawRecord, issues: Issues): number | null {
  const rawYear = raw.tahun;
  const yearText = typeof rawYear === 'number' ? String(rawYear) : requireText(raw, 'tahun', issues);
  if (yearText === null) return null;
  if (/^\d{4}$/.test(yearText)) return Number(yearText);
  issues.add('date_invalid', 'tahun', `"${yearText}" bukan tahun 4 digit`);
  return null;
}

/**
 * Normalises one FormationRecord: region (R4), year, level (R3), need and approved counts (R6).
 * A year that is not a 4-digit year is `date_invalid`; a count that is not a whole number ≥ 0
 * leaves a required field without a usable value (`field_missing`).
 */
export function normaliseFormation(raw: RawRecord, ctx: RecordContext): FormationResult {
  checkAsOf(ctx.asOf);
  const sourceRegion = canonicalSourceRegion(ctx.sourceRegion);
  const issues = new Issues();
  const region = readRegion(raw, issues, sourceRegion);
  const year = readYear(raw, issues);
  const level = readLevel(raw, issues);
  const need = readCount(raw, 'kebutuhan', issues);
  const approved = readCount(raw, 'formasi', issues);
  if (issues.list) return { ok: false, rejection: reject(raw, ctx.position, issues.list, undefined) };
  return {
    ok: true,
    formation: {
      regionCode: region!,
      year: year!,
      level: level!,
      need: need!,
      approved: approved!,
      position: ctx.position,
    },
  };
}

/** What a workload row is checked against: the activity codes of the parameter set in force on `as_of`. */
export interface WorkloadContext extends RecordContext {
  /** Known activity codes; without them (no parameter set in force) any code is kept unchecked. */
  activityCodes?: ReadonlySet<string>;
}

/** An optional whole number ≥ `min`; null when absent, reported when unusable. */
function readOptionalCount(raw: RawRecord, field: string, min: number, issues: Issues): number | null {
  const v = raw[field];
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= min) return v;
    issues.add('field_missing', field, `${v} bukan bilangan bulat ≥ ${min}`);
    return null;
  }
  const s = readText(raw, field, issues);
  if (s === undefined || s === null) return null;
  if (/^\d{1,9}$/.test(s) && Number(s) >= min) return Number(s);
  issues.add('field_missing', field, `"${s}" bukan bilangan bulat ≥ ${min}`);
  return null;
}

/**
 * Normalises one WorkloadRecord (needs-planning-v1.md § Workload data): region (R4), year
 * (`date_invalid` unless 4 digits), an activity code of the parameter set (`field_missing` naming
 * an unknown one), a volume ≥ 0, and the optional `cakupan_kecamatan` (≥ 1) and `kompleksitas`.
 *
 * @example normaliseWorkload({ tahun: 2026, kegiatan: 'penempatan_akad', volume: 40 }, { sourceRegion: '16.71', asOf: '2026-11-30', position: 2 })
 */
export function normaliseWorkload(raw: RawRecord, ctx: WorkloadContext): WorkloadResult {
  checkAsOf(ctx.asOf);
  const sourceRegion = canonicalSourceRegion(ctx.sourceRegion);
  const issues = new Issues();
  const region = readRegion(raw, issues, sourceRegion);
  const year = readYear(raw, issues);
  let activity = requireText(raw, 'kegiatan', issues);
  if (activity !== null) {
    const code = activity.toLowerCase().replace(/[\s-]+/g, '_');
    if (ctx.activityCodes && !ctx.activityCodes.has(code)) {
      issues.add(
        'field_missing',
        'kegiatan',
        `kode kegiatan "${activity}" tidak ada dalam parameter perhitungan kebutuhan`,
      );
      activity = null;
    } else activity = code;
  }
  const volume = readCount(raw, 'volume', issues);
  const districts = readOptionalCount(raw, 'cakupan_kecamatan', 1, issues);
  let complexity: Complexity | null = null;
  const k = readText(raw, 'kompleksitas', issues);
  if (typeof k === 'string') {
    const c = k.toLowerCase();
    if ((COMPLEXITIES as readonly string[]).includes(c)) complexity = c as Complexity;
    else issues.add('field_missing', 'kompleksitas', `"${k}" bukan rendah, sedang atau tinggi`);
  }
  if (issues.list) return { ok: false, rejection: reject(raw, ctx.position, issues.list, undefined) };
  return {
    ok: true,
    workload: {
      regionCode: region!,
      year: year!,
      activity: activity!,
      volume: volume!,
      districts,
      complexity,
      position: ctx.position,
    },
  };
}
