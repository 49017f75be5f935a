import { LEVEL_CODES, type LevelCode } from '@pksync/reference';
import { OFFICER_STATUSES, type OfficerStatus } from '../officer.ts';

/**
 * Caches a pure string → value function. Agencies write the same few forms of a level, status or
 * gender on every row, so a small cache removes most of the per-record work; it is bounded so
 * hostile input cannot grow it.
 */
export function memoise<T>(fn: (input: string) => T, max = 1000): (input: string) => T {
  const cache = new Map<string, T>();
  return (input: string): T => {
    const hit = cache.get(input);
    if (hit !== undefined || cache.has(input)) return hit as T;
    const value = fn(input);
    if (cache.size >= max) cache.clear();
    cache.set(input, value);
    return value;
  };
}

const GENDERS: Record<string, 'L' | 'P'> = {
  l: 'L',
  'laki-laki': 'L',
  'laki laki': 'L',
  lakilaki: 'L',
  laki: 'L',
  lk: 'L',
  pria: 'L',
  m: 'L',
  male: 'L',
  p: 'P',
  perempuan: 'P',
  pr: 'P',
  wanita: 'P',
  f: 'P',
  female: 'P',
};

/**
 * `jenis_kelamin` in any accepted form (`L`, `P`, `Laki-laki`, `Perempuan`, `M`, `F`, any case) →
 * `L` or `P`; null when unrecognised.
 */
export const normaliseGender: (input: string) => 'L' | 'P' | null = memoise(
  (input) => GENDERS[input.trim().toLowerCase().replace(/\s+/g, ' ')] ?? null,
);

const LEVEL_WORDS: Record<string, LevelCode> = {
  pertama: 'ahli_pertama',
  muda: 'ahli_muda',
  madya: 'ahli_madya',
  utama: 'ahli_utama',
};
// Words that decorate a level name without changing it: `Jabatan Fungsional Pengantar Kerja Ahli Muda`.
const LEVEL_NOISE = new Set(['pengantar', 'kerja', 'ahli', 'jabatan', 'fungsional', 'jf', 'pk', 'jenjang']);
const LEVEL_SET = new Set<string>(LEVEL_CODES);

/**
 * `jenjang` → level code. Accepts the codes in any case, spaces for `_`, the prefix
 * `Pengantar Kerja`, and bare `Pertama`/`Muda`/`Madya`/`Utama`; null for anything else.
 *
 * @example normaliseLevel('Pengantar Kerja Ahli Muda') // 'ahli_muda'
 */
export const normaliseLevel: (input: string) => LevelCode | null = memoise(levelOf);

function levelOf(input: string): LevelCode | null {
  if (LEVEL_SET.has(input)) return input as LevelCode;
  let found: LevelCode | null = null;
  for (const word of input.toLowerCase().split(/[\s_\-.,/]+/)) {
    if (word === '' || LEVEL_NOISE.has(word)) continue;
    const level = LEVEL_WORDS[word];
    // Two level words, or any other word, make the value ambiguous.
    if (!level || found) return null;
    found = level;
  }
  return found;
}

const STATUS_SET = new Set<string>(OFFICER_STATUSES);
const STATUS_ALIASES: Record<string, OfficerStatus> = {
  meninggal_dunia: 'meninggal',
  mutasi: 'mutasi_keluar',
  pindah_keluar: 'mutasi_keluar',
  diberhentikan_sementara_waktu: 'diberhentikan_sementara',
};

/**
 * `status` in any case with spaces or dashes for `_` → status; null when unrecognised.
 *
 * @example normaliseStatus('Tugas Belajar') // 'tugas_belajar'
 */
export const normaliseStatus: (input: string) => OfficerStatus | null = memoise(statusOf);

function statusOf(input: string): OfficerStatus | null {
  if (STATUS_SET.has(input)) return input as OfficerStatus;
  const key = input
    .trim()
    .toLowerCase()
    .replace(/[\s\-_]+/g, '_');
  if (STATUS_SET.has(key)) return key as OfficerStatus;
  return STATUS_ALIASES[key] ?? null;
}

/**
 * A phone number (digits, may start with `+62` or `0`; spaces, dashes, dots and parentheses
 * allowed) → `+62…`; null when it is not a plausible Indonesian number. A number that lost its
 * leading 0 in a spreadsheet (`81234567890`) is read as a mobile number.
 *
 * @example normalisePhone('0812-3456-7890') // '+6281234567890'
 */
export function normalisePhone(input: string): string | null {
  const s = input.replace(/[\s\-().]/g, '');
  if (/^\+62\d{7,13}$/.test(s)) return s;
  if (/^62\d{7,13}$/.test(s)) return `+${s}`;
  if (/^0\d{7,13}$/.test(s)) return `+62${s.slice(1)}`;
  if (/^8\d{7,12}$/.test(s)) return `+62${s}`;
  return null;
}

const EMAIL_RE = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;

/** An e-mail address, trimmed; null when it is not shaped like one. */
export function normaliseEmail(input: string): string | null {
  const s = input.trim();
  return EMAIL_RE.test(s) ? s : null;
}
