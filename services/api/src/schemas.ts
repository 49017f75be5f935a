import { z } from 'zod';
import { LEVEL_CODES } from '@pksync/reference';
import { isCalendarDate, NeedParametersSchema, OFFICER_STATUSES } from '@pksync/core';
import { pageOf } from './paging.ts';

/**
 * The zod schemas of the API: they validate requests, check responses and generate the OpenAPI
 * document, so the three never disagree. JSON names are snake_case; times ISO 8601 with offset.
 */

export const ProvinceCode = z.string().regex(/^\d{2}$/, 'harus kode provinsi 2 digit, mis. 16');
export const RegionCode = z.string().regex(/^\d{2}(\.\d{2})?$/, 'harus kode wilayah seperti 16 atau 16.71');
export const IsoTime = z.string().describe('ISO 8601 date-time with offset');
export const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/)
  .describe('YYYY-MM-DD');
/**
 * A reference date a caller gives (`as_of`): `YYYY-MM-DD`, a real calendar date in 1900–9999
 * (`isCalendarDate` of `@pksync/core`, the check `pksync check|sync --as-of` use too).
 */
export const CalendarDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'harus tanggal YYYY-MM-DD')
  .refine(isCalendarDate, 'harus tanggal kalender yang ada, YYYY-MM-DD, tahun 1900–9999')
  .describe('YYYY-MM-DD, a real calendar date in 1900–9999');
/** The largest PostgreSQL `integer`: versions are `integer` columns. */
export const PG_INT_MAX = 2_147_483_647;
export const Level = z.enum(LEVEL_CODES);

const byLevel = <T extends z.ZodType>(t: T) =>
  z.object(Object.fromEntries(LEVEL_CODES.map((l) => [l, t])) as Record<(typeof LEVEL_CODES)[number], T>);

export const FormationCell = z.object({
  approved: z.number().int().describe('formasi: positions approved'),
  need: z.number().int().describe('kebutuhan: need from the workload analysis'),
  filled: z.number().int().describe('terisi: active officers at this level'),
  shortfall: z.number().int().describe('kekurangan: max(need − filled, 0)'),
  available_formation: z
    .number()
    .int()
    .describe('R17: formation still available, max(approved − filled, 0); recruitment only where above 0'),
});

export const RegionSummary = z
  .object({
    code: z.string(),
    name: z.string(),
    level: z.enum(['province', 'regency']),
    kind: z.enum(['provinsi', 'kabupaten', 'kota']),
    parent_code: z.string().nullable(),
    coverage: z.object({ covered: z.number().int(), total: z.number().int() }),
    officers: byLevel(z.number().int()).describe('active officers by level (R5)'),
    active_officers: z.number().int(),
    formation_year: z.number().int(),
    formation: byLevel(FormationCell.nullable()).describe('formation by level for the year (R12); null where none'),
    shortfall: z.number().int().describe('Σ kekurangan over levels'),
    available_formation: z.number().int().describe('Σ available formation (R17) over levels'),
    last_success_at: IsoTime.nullable(),
    stale: z.boolean().describe('a source of the region failed its last fetch or has had no success for 3 days (R9)'),
    sources: z.number().int(),
    stale_sources: z.number().int(),
    open_findings: z.number().int().nullable().describe('null for callers who may not see findings'),
  })
  .meta({ id: 'RegionSummary' });

export const RegionDetail = RegionSummary.extend({
  regencies: z.array(RegionSummary).describe('for a province: its regencies/cities'),
}).meta({ id: 'RegionDetail' });

export const Officer = z
  .object({
    nip: z.string().optional().describe('absent in the public view'),
    name: z.string(),
    gender: z.enum(['L', 'P']),
    birth_date: IsoDate.optional().describe('absent in the public view'),
    level: z.string(),
    grade: z.string(),
    unit: z.string(),
    region_code: z.string(),
    province_code: z.string(),
    source_id: z.string().optional(),
    tmt_jabatan: IsoDate,
    status: z.string(),
    active: z.boolean(),
    email: z.string().nullable().optional().describe('absent in the public view'),
    phone: z.string().nullable().optional().describe('absent in the public view'),
    past_retirement_age: z.boolean(),
  })
  .meta({ id: 'Officer' });

export const OfficerPage = pageOf(Officer)
  .extend({ version: z.number().int().describe('the published version this page was read at') })
  .meta({ id: 'OfficerPage' });

export const OfficerStatusQuery = z.enum([...OFFICER_STATUSES, 'active', 'inactive']);

export const Publication = z
  .object({
    version: z.number().int(),
    run_id: z.string(),
    as_of: IsoDate,
    published_at: IsoTime,
    counts: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'Publication' });

export const PublicationChange = z
  .object({
    nip: z.string().optional().describe('absent outside the caller’s province'),
    change: z.enum(['added', 'removed', 'changed']),
    fields: z.array(z.string()),
    region_code: z.string().describe('the officer’s region after the change (before it, for removed)'),
    source_id: z.string(),
    previous_region_code: z.string().nullable().describe('for a transfer: where the officer was before'),
    reason: z.string(),
  })
  .meta({ id: 'PublicationChange' });

export const RunScopeBody = z.union(
  [
    z.literal('national'),
    z.object({ province: ProvinceCode }).strict(),
    z.object({ region: RegionCode }).strict(),
    z.object({ source: z.string().min(1).max(200) }).strict(),
  ],
  { error: 'harus "national", {"province": "16"}, {"region": "16.71"} atau {"source": "<id>"}' },
);

export const Counts = z.record(z.string(), z.unknown());

export const SourceProgress = z.object({
  source_id: z.string(),
  agency: z.string().nullable(),
  region_code: z.string().nullable(),
  status: z.string(),
  attempts: z.number().int(),
  counts: Counts,
  error_code: z.string().nullable(),
  error_message: z.string().nullable(),
  started_at: IsoTime.nullable(),
  finished_at: IsoTime.nullable(),
});

export const Run = z
  .object({
    id: z.string(),
    scope: z.object({ kind: z.enum(['national', 'province', 'region', 'source']), value: z.string().nullable() }),
    trigger: z.enum(['schedule', 'manual']),
    requested_by: z.string().nullable(),
    reason: z.string().nullable(),
    as_of: IsoDate,
    status: z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']),
    generation: z.number().int().describe('the flow its jobs belong to: one more after each resume'),
    resumes: z.number().int().describe('how often it was resumed after losing its jobs or staged rows'),
    counts: Counts,
    version_published: z.number().int().nullable(),
    error: z.string().nullable(),
    created_at: IsoTime,
    started_at: IsoTime.nullable(),
    finished_at: IsoTime.nullable(),
    progress: z.object({ total: z.number().int(), done: z.number().int(), failed: z.number().int() }),
  })
  .meta({ id: 'Run' });

export const RunDetail = Run.extend({ sources: z.array(SourceProgress) }).meta({ id: 'RunDetail' });

export const Finding = z
  .object({
    id: z.number().int(),
    code: z.string(),
    rule: z.string().nullable(),
    severity: z.enum(['error', 'warning', 'info']),
    status: z.enum(['open', 'acknowledged', 'resolved']),
    province_code: z.string(),
    region_code: z.string().nullable(),
    source_id: z.string().nullable(),
    nip: z.string().nullable(),
    row: z.number().int().nullable(),
    message: z.string(),
    description: z.string().describe('what the code means, in Bahasa Indonesia'),
    details: z.record(z.string(), z.unknown()),
    first_seen_at: IsoTime,
    last_seen_at: IsoTime,
    acknowledged_at: IsoTime.nullable(),
    acknowledged_by: z.string().nullable(),
    ack_note: z.string().nullable(),
    resolved_at: IsoTime.nullable(),
  })
  .meta({ id: 'Finding' });

export const Source = z
  .object({
    id: z.string(),
    agency: z.string(),
    region_code: z.string(),
    transport: z.enum(['api', 'csv', 'xlsx', 'upload']),
    url: z.string().nullable(),
    formations_url: z.string().nullable(),
    workloads_url: z.string().nullable().describe('csv sources: the workload CSV (needs-planning-v1.md)'),
    has_token: z.boolean().describe('the token itself is never returned'),
    enabled: z.boolean(),
    timeout_s: z.number().int().nullable(),
    max_bytes: z.number().int().nullable(),
    max_rows: z.number().int().nullable(),
    last_success_at: IsoTime.nullable(),
    stale: z.boolean(),
    last_fetch: z
      .object({
        status: z.string(),
        finished_at: IsoTime.nullable(),
        error_code: z.string().nullable(),
        error_message: z.string().nullable(),
      })
      .nullable(),
    created_at: IsoTime,
    updated_at: IsoTime,
  })
  .meta({ id: 'Source' });

export const AuditEntry = z
  .object({
    id: z.number().int(),
    at: IsoTime,
    actor: z.string(),
    actor_role: z.string(),
    action: z.string(),
    target: z.string().nullable(),
    province_code: z.string().nullable(),
    reason: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEntry' });

export const Reason = z.string().trim().min(1).max(1000);

// --- Needs planning (needs-planning-v1.md § Interface) ------------------------------------------

const ByHorizon = (what: string) =>
  z
    .object({ '1': z.number().int(), '3': z.number().int(), '5': z.number().int() })
    .describe(`${what}, within 1, 3 and 5 years of as_of`);

/** The figures of one level, or of all levels added up. */
export const NeedsFigures = z
  .object({
    formasi: z.number().int().nullable().describe('approved positions of the year; null without a formation row'),
    kebutuhan_declared: z.number().int().nullable().describe('the need the agency declared for the year'),
    kebutuhan_computed: z
      .number()
      .int()
      .nullable()
      .describe('R16: the need computed from the workload; null when the region sent no workload'),
    terisi: z.number().int().describe('active officers now'),
    available_formation: z
      .number()
      .int()
      .nullable()
      .describe('R17: max(formasi − terisi, 0), each region’s own added up; null when formasi is null'),
    retiring: ByHorizon('R18: active officers retiring'),
    projected_shortfall: ByHorizon(
      'R18: max(need − (terisi − retiring), 0), need = computed ?? declared ?? 0, each region’s own added up',
    ),
  })
  .meta({ id: 'NeedsFigures' });

export const NeedsLevel = NeedsFigures.extend({ level: Level }).meta({ id: 'NeedsLevel' });

export const ParameterStatus = z.enum(['confirmed', 'unconfirmed']);

export const NeedsRow = z
  .object({
    kind: z.enum(['nation', 'province', 'region']),
    code: z.string().nullable().describe('null for the nation'),
    name: z.string(),
    parameter_version: z.string().nullable().describe('the parameter version of the computed needs shown'),
    parameter_status: ParameterStatus.nullable(),
    levels: z.array(NeedsLevel).describe('one per level, ahli_pertama … ahli_utama'),
    all_levels: NeedsFigures.describe('the sum over levels'),
  })
  .meta({ id: 'NeedsRow' });

export const NeedsParameterRef = z
  .object({ version: z.string(), status: ParameterStatus, valid_from: IsoDate, source: z.string() })
  .meta({ id: 'NeedsParameterRef' });

export const NeedsResponse = z
  .object({
    year: z.number().int(),
    as_of: IsoDate.nullable().describe('as_of of the retirement outlook shown; null before any run'),
    parameters: NeedsParameterRef.nullable().describe(
      'the version the computed needs shown were computed with (else the one in force); status unconfirmed until the annex of Permenaker 10/2023 is loaded',
    ),
    scope: z.object({ province: z.string().nullable(), region: z.string().nullable() }),
    total: NeedsRow,
    data: z
      .array(NeedsRow)
      .describe(
        'nation: one row per province; province: its own office, then every regency/city (empty ones too); region: itself',
      ),
  })
  .meta({ id: 'NeedsResponse' });

/** The parameter set document (@pksync/core NeedParametersSchema). */
export const NeedParameters = NeedParametersSchema.meta({ id: 'NeedParameters' });

export const NeedParametersInfo = z
  .object({
    version: z.string(),
    status: ParameterStatus,
    valid_from: IsoDate,
    source: z.string(),
    added_at: IsoTime,
    in_force_today: z.boolean().describe('the version in force today: the latest valid_from not after today'),
  })
  .meta({ id: 'NeedParametersInfo' });

/** Dates to ISO strings; null stays null. */
export function iso(d: Date | string | null | undefined): string | null {
  if (d === null || d === undefined) return null;
  return d instanceof Date ? d.toISOString() : new Date(d).toISOString();
}
export function isoReq(d: Date | string): string {
  return d instanceof Date ? d.toISOString() : new Date(d).toISOString();
}
