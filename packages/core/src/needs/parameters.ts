import { LEVEL_CODES, type LevelCode } from '@pksync/reference';
import { z } from 'zod';
import type { Complexity } from '../officer.ts';
import { isCalendarDate } from '../normalise/date.ts';

/**
 * The parameter set of the need computation (needs-planning-v1.md § The parameter set): a
 * versioned document, never edited in place; the version in force on a run's `as_of` is the one
 * with the latest `valid_from` not after it (a later-added version wins a tie, so loading the
 * confirmed annex with the placeholder's `valid_from` supersedes the placeholder).
 */

const SHARE_TOLERANCE = 0.001;

const positive = (what: string) =>
  z
    .number({ error: `${what} harus berupa angka` })
    .finite()
    .positive({ error: `${what} harus lebih dari 0` });

const ActivitySchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  minutes: positive('minutes'),
  shares: z
    .partialRecord(z.enum(LEVEL_CODES), z.number().finite().min(0).max(1))
    .refine((s) => Object.keys(s).length > 0, { error: 'shares menyebut paling sedikit satu jenjang' })
    .refine((s) => Math.abs(Object.values(s).reduce<number>((a, b) => a + (b ?? 0), 0) - 1) <= SHARE_TOLERANCE, {
      error: (issue) => {
        const sum = Object.values(issue.input as Record<string, number>).reduce((a, b) => a + b, 0);
        return `jumlah shares ${sum} harus 1 (±${SHARE_TOLERANCE})`;
      },
    }),
});

export const NeedParametersSchema = z.strictObject({
  version: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: 'version: 1–64 huruf, angka, titik, garis bawah atau minus' }),
  status: z.enum(['confirmed', 'unconfirmed']),
  valid_from: z.string().refine(isCalendarDate, { error: 'valid_from harus tanggal YYYY-MM-DD' }),
  source: z.string().trim().min(1).max(2000),
  /** Optional free text: what was changed from the previous version and why. */
  notes: z.string().max(4000).optional(),
  effective_minutes_per_year: positive('effective_minutes_per_year'),
  rounding: z.enum(['half_up', 'up', 'down']),
  activities: z
    .record(
      z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, { error: 'kode kegiatan: huruf kecil, angka dan garis bawah' }),
      ActivitySchema,
    )
    .refine((a) => Object.keys(a).length > 0, { error: 'activities tidak boleh kosong' }),
  area_factors: z
    .array(z.strictObject({ min_kecamatan: z.number().int().min(1), factor: positive('factor') }))
    .min(1)
    .refine((a) => new Set(a.map((f) => f.min_kecamatan)).size === a.length, {
      error: 'min_kecamatan tidak boleh berulang',
    }),
  complexity_factors: z.strictObject({
    rendah: positive('rendah'),
    sedang: positive('sedang'),
    tinggi: positive('tinggi'),
  }),
});

export type NeedParameters = z.infer<typeof NeedParametersSchema>;
export type ParameterStatus = NeedParameters['status'];

export type ParseParametersResult = { ok: true; parameters: NeedParameters } | { ok: false; errors: string[] };

/**
 * Checks a parameter document whole: every problem is reported with the path of its field
 * (`activities.penempatan_akad.shares: jumlah shares 0.9 harus 1 (±0.001)`), and a document with
 * any problem is refused.
 *
 * @example parseNeedParameters(JSON.parse(text))
 */
export function parseNeedParameters(input: unknown): ParseParametersResult {
  const r = NeedParametersSchema.safeParse(input);
  if (r.success) return { ok: true, parameters: r.data };
  return {
    ok: false,
    errors: r.error.issues.map((i) => `${i.path.length ? i.path.map(String).join('.') : '(dokumen)'}: ${i.message}`),
  };
}

/**
 * The version in force on `asOf`: the latest `valid_from` not after it; of several with that
 * `valid_from`, the one added last (`sets` in the order they were added). Null before the first.
 */
export function parametersInForce<T extends { valid_from: string }>(sets: readonly T[], asOf: string): T | null {
  let best: T | null = null;
  for (const s of sets) if (s.valid_from <= asOf && (best === null || s.valid_from >= best.valid_from)) best = s;
  return best;
}

/** The activity codes of a parameter set, for the workload normaliser. */
export function activityCodes(p: Pick<NeedParameters, 'activities'>): ReadonlySet<string> {
  return new Set(Object.keys(p.activities));
}

/**
 * The area factor of a region and year: the `factor` of the entry with the largest
 * `min_kecamatan` not above `districts`; 1.0 when `districts` is null or below every entry.
 */
export function areaFactor(p: Pick<NeedParameters, 'area_factors'>, districts: number | null): number {
  if (districts === null) return 1;
  let best: { min_kecamatan: number; factor: number } | null = null;
  for (const f of p.area_factors) {
    if (f.min_kecamatan <= districts && (best === null || f.min_kecamatan > best.min_kecamatan)) best = f;
  }
  return best?.factor ?? 1;
}

/** The complexity factor: `complexity_factors[complexity]`, 1.0 when the region states none. */
export function complexityFactor(p: Pick<NeedParameters, 'complexity_factors'>, complexity: Complexity | null): number {
  return complexity === null ? 1 : p.complexity_factors[complexity];
}

/** A level's share of an activity (0 when the activity does not name the level). */
export function shareOf(activity: NeedParameters['activities'][string], level: LevelCode): number {
  return activity.shares[level] ?? 0;
}
