import { ageInYears, formatDate } from './date.ts';

/** Why a NIP failed R1; each maps to a sentence in Bahasa Indonesia via {@link describeNipProblem}. */
export type NipProblem =
  | 'missing'
  | 'numeric_cell'
  | 'not_18_digits'
  | 'birth_date_invalid'
  | 'born_before_1940'
  | 'under_18'
  | 'tmt_cpns_invalid'
  | 'tmt_cpns_in_future'
  | 'tmt_cpns_before_age_18'
  | 'gender_digit_invalid';

export type NipCheck =
  | { ok: true; nip: string; birthDate: string; tmtCpns: string; gender: 'L' | 'P' }
  | { ok: false; nip: string; problem: NipProblem };

const NIP_PROBLEMS: Record<NipProblem, string> = {
  missing: 'NIP kosong',
  numeric_cell:
    'NIP tertulis sebagai angka, bukan teks (misalnya sel Excel berformat angka): angka 18 digit kehilangan digit terakhirnya; format kolom NIP sebagai Teks lalu isi ulang',
  not_18_digits: 'NIP harus 18 digit angka',
  birth_date_invalid: 'digit 1–8 NIP bukan tanggal lahir yang sah',
  born_before_1940: 'tahun lahir pada NIP sebelum 1940',
  under_18: 'menurut tanggal lahir pada NIP, umur belum 18 tahun',
  tmt_cpns_invalid: 'digit 9–14 NIP bukan tahun-bulan TMT CPNS yang sah',
  tmt_cpns_in_future: 'TMT CPNS pada NIP melewati tanggal acuan',
  tmt_cpns_before_age_18: 'tahun TMT CPNS pada NIP kurang dari tahun lahir + 18',
  gender_digit_invalid: 'digit ke-15 NIP harus 1 (laki-laki) atau 2 (perempuan)',
};

/** The Bahasa Indonesia explanation of a NIP problem. */
export function describeNipProblem(problem: NipProblem): string {
  return NIP_PROBLEMS[problem];
}

/**
 * The NIP with spaces, dots and dashes removed (R1 identity), and a leading apostrophe (the
 * spreadsheet way of typing a number as text) dropped.
 */
export function cleanNip(input: string): string {
  return input.replace(/^\s*'|[\s.-]/g, '');
}

function isAsciiDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function d2(s: string, i: number): number {
  return (s.charCodeAt(i) - 48) * 10 + (s.charCodeAt(i + 1) - 48);
}

/**
 * R1: checks a NIP against `asOf` (`YYYY-MM-DD`). A valid NIP has 18 digits; digits 1–8 are the
 * birth date (a real date, year ≥ 1940, age on `asOf` ≥ 18); digits 9–14 are the TMT CPNS year-month
 * (real, not after `asOf`, year ≥ birth year + 18); digit 15 is the gender (1 = L, 2 = P).
 * A number (an Excel numeric cell or a JSON number) is never a valid NIP: 18 digits exceed a
 * double's precision, so the digits cannot be trusted.
 *
 * @example validateNip('19850312 201001 1 003', '2026-11-27') // { ok: true, nip: '198503122010011003', … }
 */
export function validateNip(input: unknown, asOf: string): NipCheck {
  if (typeof input === 'number' || typeof input === 'bigint') {
    return { ok: false, nip: String(input), problem: 'numeric_cell' };
  }
  if (typeof input !== 'string') return { ok: false, nip: '', problem: 'missing' };
  // A NIP exported from a numeric spreadsheet column: `1.98503E+17`.
  if (/^\s*\d(?:[.,]\d+)?e\+?\d+\s*$/i.test(input)) return { ok: false, nip: input.trim(), problem: 'numeric_cell' };
  // Most NIPs arrive already bare: skip the replace.
  const nip = input.length === 18 && isAsciiDigits(input) ? input : cleanNip(input);
  if (nip.length === 0) return { ok: false, nip, problem: 'missing' };
  if (nip.length !== 18 || !isAsciiDigits(nip)) return { ok: false, nip, problem: 'not_18_digits' };
  const by = d2(nip, 0) * 100 + d2(nip, 2);
  const birthDate = formatDate(by, d2(nip, 4), d2(nip, 6));
  if (!birthDate) return { ok: false, nip, problem: 'birth_date_invalid' };
  if (by < 1940) return { ok: false, nip, problem: 'born_before_1940' };
  if (ageInYears(birthDate, asOf) < 18) return { ok: false, nip, problem: 'under_18' };
  const ty = d2(nip, 8) * 100 + d2(nip, 10);
  const tm = d2(nip, 12);
  if (tm < 1 || tm > 12 || ty < 1000) return { ok: false, nip, problem: 'tmt_cpns_invalid' };
  const tmtCpns = `${ty}-${nip.slice(12, 14)}`;
  // Compare year-months as text: both are zero-padded YYYY-MM.
  if (tmtCpns > asOf.slice(0, 7)) return { ok: false, nip, problem: 'tmt_cpns_in_future' };
  if (ty < by + 18) return { ok: false, nip, problem: 'tmt_cpns_before_age_18' };
  const g = nip.charCodeAt(14);
  if (g !== 49 && g !== 50) return { ok: false, nip, problem: 'gender_digit_invalid' };
  return { ok: true, nip, birthDate, tmtCpns, gender: g === 49 ? 'L' : 'P' };
}
