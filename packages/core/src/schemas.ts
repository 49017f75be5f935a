import { LEVEL_CODES } from '@pksync/reference';
import { z } from 'zod';
import { OFFICER_STATUSES } from './officer.ts';

/**
 * Boundary shapes (exchange-format-v1.md). The per-field normalisers do the real work record by
 * record (zod per record is too slow for 200k records/s); these schemas check envelopes and give
 * the canonical output a checkable definition.
 */

/** A value as an agency may send it: text, a number or a date cell, or nothing. */
export const RawValueSchema = z.union([z.string(), z.number(), z.boolean(), z.date(), z.null(), z.undefined()]);

/** One officer as sent (OfficerRecord): the spec's field names, values still raw; extra fields allowed. */
export const OfficerRecordSchema = z.looseObject({
  nip: RawValueSchema,
  nama: RawValueSchema,
  jenis_kelamin: RawValueSchema.optional(),
  tanggal_lahir: RawValueSchema.optional(),
  jenjang: RawValueSchema,
  golongan: RawValueSchema,
  unit_kerja: RawValueSchema,
  kode_wilayah: RawValueSchema.optional(),
  tmt_jabatan: RawValueSchema,
  status: RawValueSchema,
  email: RawValueSchema.optional(),
  telepon: RawValueSchema.optional(),
  updated_at: RawValueSchema.optional(),
});

/** One formation row as sent (FormationRecord). */
export const FormationRecordSchema = z.looseObject({
  kode_wilayah: RawValueSchema.optional(),
  tahun: RawValueSchema,
  jenjang: RawValueSchema,
  kebutuhan: RawValueSchema,
  formasi: RawValueSchema,
});

/** `GET {base_url}/officers` page: `{ data: [...], next_cursor }`. Records stay loose: each is normalised on its own. */
export const OfficerPageSchema = z.object({
  data: z.array(z.record(z.string(), z.unknown())),
  next_cursor: z.string().min(1).nullable(),
});

/** `GET {base_url}/formations?year=` response. */
export const FormationPageSchema = z.object({
  data: z.array(z.record(z.string(), z.unknown())),
});

/** One workload row as sent (WorkloadRecord, needs-planning-v1.md § Workload data). */
export const WorkloadRecordSchema = z.looseObject({
  kode_wilayah: RawValueSchema.optional(),
  tahun: RawValueSchema,
  kegiatan: RawValueSchema,
  volume: RawValueSchema,
  cakupan_kecamatan: RawValueSchema.optional(),
  kompleksitas: RawValueSchema.optional(),
});

/** `GET {base_url}/workloads?year=` response (a 404 means the agency sends no workload). */
export const WorkloadPageSchema = z.object({
  data: z.array(z.record(z.string(), z.unknown())),
});

const isoDate = z.iso.date();

/** The canonical Officer (see `officer.ts`), as a schema: what every accepted record satisfies. */
export const OfficerSchema = z.strictObject({
  nip: z.string().regex(/^\d{18}$/),
  name: z.string().min(1).max(500),
  nameNormalised: z.string(),
  gender: z.enum(['L', 'P']),
  birthDate: isoDate,
  level: z.enum(LEVEL_CODES),
  grade: z.string().regex(/^(I|II|III|IV)\/[a-e]$/),
  unit: z.string().min(1).max(500),
  regionCode: z.string().regex(/^\d{2}(\.\d{2})?$/),
  tmtJabatan: isoDate,
  status: z.enum(OFFICER_STATUSES),
  email: z.string().nullable(),
  phone: z
    .string()
    .regex(/^\+62\d{7,13}$/)
    .nullable(),
  updatedAt: z.string().nullable(),
  position: z.number().int(),
});

/** The canonical Formation, as a schema. */
export const FormationSchema = z.strictObject({
  regionCode: z.string().regex(/^\d{2}(\.\d{2})?$/),
  year: z.number().int().min(1000).max(9999),
  level: z.enum(LEVEL_CODES),
  need: z.number().int().min(0),
  approved: z.number().int().min(0),
  position: z.number().int(),
});
