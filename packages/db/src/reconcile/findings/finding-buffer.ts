import { sql, type Transaction } from 'kysely';
import type { Database } from '../../schema.ts';

/**
 * Findings persistence of a reconciliation. Conditions found by a run are collected, set-based, in
 * the transaction-local temporary table `finding_buffer`, then merged into `findings` by
 * fingerprint: the same condition seen again updates its unresolved finding (`last_seen_at`,
 * `last_run_id`, message, details); a new one is opened. Findings in the run's scope whose
 * condition is no longer there are resolved.
 *
 * Fingerprints (identity of a condition across runs):
 * - record findings (R2/R3/R7): `code|source|nip` (or `code|source|row:N` without a NIP)
 * - `record_rejected` (R6, grouped per source), `mass_removal_held`, `source_failed`,
 *   `source_stale`: `code|source`
 * - `transferred_officer_still_listed`: `code|losing source|nip`
 * - `conflicting_assignment`: `code|province|nip` (one per province involved)
 * - `past_retirement_age`: `code|nip`
 * - `formation_missing`: `code|region|year`; `over_formation`: `code|region|year|level`
 * - `need_differs_from_declared` (R16): `code|region|year|level`; `workload_missing` (R16): `code|region|year`
 * - `appointed_without_formation`, `appointed_beyond_formation` (R17): `code|nip`
 * - `retirement_wave` (R18): `code|region`
 */

/** Creates the (empty) transaction-local buffer of the run's findings. */
export async function createFindingBuffer(trx: Transaction<Database>): Promise<void> {
  await sql`
    create temporary table finding_buffer (
      fingerprint text not null,
      code text not null,
      severity text not null,
      province_code text not null,
      region_code text,
      source_id text,
      nip text,
      row integer,
      message text not null,
      details jsonb not null default '{}'::jsonb
    ) on commit drop`.execute(trx);
}

/** One finding to buffer from JS (for the few per-source conditions: R8, R9). */
export interface BufferedFinding {
  fingerprint: string;
  code: string;
  severity: 'error' | 'warning' | 'info';
  provinceCode: string;
  regionCode: string | null;
  sourceId: string | null;
  nip?: string | null;
  row?: number | null;
  message: string;
  details?: Record<string, unknown>;
}

/** Adds findings computed in JS to the buffer (one multi-row insert). */
export async function bufferFindings(trx: Transaction<Database>, findings: readonly BufferedFinding[]): Promise<void> {
  if (findings.length === 0) return;
  await sql`
    insert into finding_buffer (fingerprint, code, severity, province_code, region_code, source_id, nip, row, message, details)
    select * from jsonb_to_recordset(${JSON.stringify(
      findings.map((f) => ({
        fingerprint: f.fingerprint,
        code: f.code,
        severity: f.severity,
        province_code: f.provinceCode,
        region_code: f.regionCode,
        source_id: f.sourceId,
        nip: f.nip ?? null,
        row: f.row ?? null,
        message: f.message,
        details: f.details ?? {},
      })),
    )}::jsonb) as x(fingerprint text, code text, severity text, province_code text, region_code text,
                    source_id text, nip text, row integer, message text, details jsonb)`.execute(trx);
}

/**
 * Merges the buffer into `findings`: inserts new conditions, refreshes the unresolved finding of
 * a condition seen again. Returns the ids of the findings opened by this run.
 */
export async function mergeFindingBuffer(trx: Transaction<Database>, runId: string): Promise<number[]> {
  // Set-based in two statements (a hash join each) rather than ON CONFLICT row by row: the same
  // conditions come back every night (R11 flags, R12), and most of the buffer is refreshes.
  await sql`
    create temporary table finding_merge on commit drop as
    select distinct on (b.fingerprint) b.* from finding_buffer b order by b.fingerprint, b.row nulls last`.execute(trx);
  await sql`
    update findings f set
      last_seen_at = now(),
      last_run_id = ${runId}::uuid,
      severity = m.severity,
      -- An officer's finding (code|nip) follows them to another province (digests route by it).
      province_code = m.province_code,
      region_code = m.region_code,
      source_id = m.source_id,
      row = m.row,
      message = m.message,
      details = m.details
    from finding_merge m
    where f.fingerprint = m.fingerprint and f.status <> 'resolved'`.execute(trx);
  const res = await sql<{ id: number }>`
    insert into findings
      (code, severity, fingerprint, province_code, region_code, source_id, nip, row, message, details,
       first_run_id, last_run_id)
    select m.code, m.severity, m.fingerprint, m.province_code, m.region_code, m.source_id, m.nip, m.row,
           m.message, m.details, ${runId}::uuid, ${runId}::uuid
    from finding_merge m
    where not exists (select 1 from findings f where f.fingerprint = m.fingerprint and f.status <> 'resolved')
    returning id`.execute(trx);
  return res.rows.map((r) => Number(r.id));
}

/** The parts of the register a run re-evaluated: its unresolved findings there may be resolved. */
export interface FindingScope {
  /** Sources whose new snapshot was read (record findings R2/R3/R6/R7 re-evaluated). */
  snapshotSources: readonly string[];
  /** Sources with a finished fetch in the run (R8 hold, R9 failure/staleness re-evaluated). */
  coveredSources: readonly string[];
  /** Name of a temporary table with a `nip` column: NIPs whose R10 assignment (and R11 flag) was re-evaluated. */
  nipTable: string;
  /** R11/R12 were evaluated over the whole register (else only `nipTable` NIPs, `datedRegionTable` officers and `regionTable` regions). */
  registerWide: boolean;
  /** Name of a temporary table with a `region_code` column: regions whose R12 (and R16–R18) figures were re-evaluated. */
  regionTable: string;
  /** Name of a temporary table with a `region_code` column: regions whose officers' R11 flags were all re-evaluated. */
  datedRegionTable: string;
  /** R16's `workload_missing`, R17 and R18 were evaluated over every region (else only `regionTable` regions). */
  needsWide: boolean;
  /** Regions R16's comparison was evaluated in; null: every region. */
  needRegions: readonly string[] | null;
}

const RECORD_CODES = [
  'gender_mismatch',
  'birthdate_mismatch',
  'grade_level_mismatch',
  'duplicate_in_source',
  'record_rejected',
];
const SOURCE_CODES = ['source_failed', 'source_stale', 'mass_removal_held'];
const ASSIGNMENT_CODES = ['transferred_officer_still_listed', 'conflicting_assignment'];
const RETIREMENT_CODES = ['past_retirement_age'];
const FORMATION_CODES = ['formation_missing', 'over_formation'];
// R16's comparison is evaluated on every run, over every region or a scoped run's regions.
const NEED_CODES = ['need_differs_from_declared'];
const NEEDS_REGION_CODES = [
  'workload_missing',
  'appointed_without_formation',
  'appointed_beyond_formation',
  'retirement_wave',
];

/**
 * Resolves the unresolved findings in the run's scope whose condition is not in the buffer
 * (open or acknowledged alike: the condition is gone). Returns their ids.
 */
export async function resolveGoneFindings(
  trx: Transaction<Database>,
  runId: string,
  scope: FindingScope,
): Promise<number[]> {
  if (!scope.registerWide && !scope.needsWide && scope.needRegions !== null) {
    return resolveGoneFindingsInRegions(trx, runId, { ...scope, needRegions: scope.needRegions });
  }
  const res = await sql<{ id: number }>`
    update findings f set status = 'resolved', resolved_at = now(), resolved_run_id = ${runId}::uuid
    where f.status <> 'resolved'
      and not exists (select 1 from finding_buffer b where b.fingerprint = f.fingerprint)
      and (
        (f.code = any(${RECORD_CODES}::text[]) and f.source_id = any(${scope.snapshotSources as string[]}::text[]))
        or (f.code = any(${SOURCE_CODES}::text[]) and f.source_id = any(${scope.coveredSources as string[]}::text[]))
        or (f.code = any(${ASSIGNMENT_CODES}::text[]) and f.nip in (select nip from ${sql.table(scope.nipTable)}))
        or (f.code = any(${RETIREMENT_CODES}::text[])
            and (${scope.registerWide} or f.nip in (select nip from ${sql.table(scope.nipTable)})
                 or f.region_code in (select region_code from ${sql.table(scope.datedRegionTable)})))
        or (f.code = any(${FORMATION_CODES}::text[])
            and (${scope.registerWide} or f.region_code in (select region_code from ${sql.table(scope.regionTable)})))
        or (f.code = any(${NEED_CODES}::text[])
            and (${scope.needRegions === null} or f.region_code = any(${(scope.needRegions ?? []) as string[]}::text[])))
        or (f.code = any(${NEEDS_REGION_CODES}::text[])
            and (${scope.needsWide} or f.region_code in (select region_code from ${sql.table(scope.regionTable)})))
      )
    returning f.id`.execute(trx);
  return res.rows.map((r) => Number(r.id));
}

/**
 * {@link resolveGoneFindings} for a run evaluated region by region (a scoped run): the same
 * findings, found through indexes — by source (`findings_source_idx`), by NIP
 * (`findings_unresolved_nip`) and by region (`findings_region_id`) — rather than by a scan of every
 * unresolved finding of the register.
 */
async function resolveGoneFindingsInRegions(
  trx: Transaction<Database>,
  runId: string,
  scope: FindingScope & { needRegions: readonly string[] },
): Promise<number[]> {
  const nips = sql.table(scope.nipTable);
  const dated = sql.table(scope.datedRegionTable);
  const regions = sql.table(scope.regionTable);
  // (LATERAL … OFFSET 0 keeps each a probe by NIP or region whatever the temporary tables'
  // statistics — flattened, the planner hashed every unresolved finding; the update goes by id.)
  const res = await sql<{ id: number }>`
    with scope (id) as (
      select f.id from findings f
      where f.status <> 'resolved' and f.source_id = any(${scope.snapshotSources as string[]}::text[])
        and f.code = any(${RECORD_CODES}::text[])
      union
      select f.id from findings f
      where f.status <> 'resolved' and f.source_id = any(${scope.coveredSources as string[]}::text[])
        and f.code = any(${SOURCE_CODES}::text[])
      union
      select x.id from ${nips} a cross join lateral (
        select f.id from findings f
        where f.nip = a.nip and f.status <> 'resolved' and f.nip is not null
          and f.code = any(${[...ASSIGNMENT_CODES, ...RETIREMENT_CODES]}::text[])
        offset 0) x
      union
      select x.id from ${dated} d cross join lateral (
        select f.id from findings f
        where f.region_code = d.region_code and f.status <> 'resolved'
          and f.code = any(${RETIREMENT_CODES}::text[])
        offset 0) x
      union
      select x.id from ${regions} r cross join lateral (
        select f.id from findings f
        where f.region_code = r.region_code and f.status <> 'resolved'
          and f.code = any(${[...FORMATION_CODES, ...NEEDS_REGION_CODES]}::text[])
        offset 0) x
      union
      select f.id from findings f
      where f.status <> 'resolved' and f.region_code = any(${scope.needRegions as string[]}::text[])
        and f.code = any(${NEED_CODES}::text[])
    )
    update findings f set status = 'resolved', resolved_at = now(), resolved_run_id = ${runId}::uuid
    where f.id = any(array(select id from scope)) and f.status <> 'resolved'
      and not exists (select 1 from finding_buffer b where b.fingerprint = f.fingerprint)
    returning f.id`.execute(trx);
  return res.rows.map((r) => Number(r.id));
}
