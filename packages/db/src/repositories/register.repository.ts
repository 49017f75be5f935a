import { sql, type Transaction } from 'kysely';
import {
  describeCode,
  formationFigures,
  heldRemovalOutcome,
  isCovered,
  provinceCoverage,
  type Coverage,
  type FormationFigures,
  isMassRemoval,
  isStale,
  severityOf,
  STALE_AFTER_DAYS,
  type FindingCode,
} from '@pksync/core';
import type { Db } from '../db.ts';
import { isLevelCode, LEVEL_CODES, type LevelCode } from '@pksync/reference';
import type { Database, OfficerRecord } from '../schema.ts';
import { currentRegisterTotals } from './publication.repository.ts';
import { lostStagedSources } from './staging.repository.ts';
import {
  bufferFindings,
  createFindingBuffer,
  mergeFindingBuffer,
  resolveGoneFindings,
  type BufferedFinding,
} from './finding.repository.ts';

/** Information handed to {@link ReconcileHooks.afterFindings}. */
export interface AfterFindingsInfo {
  runId: string;
  openedFindingIds: number[];
  resolvedFindingIds: number[];
}

export interface ReconcileHooks {
  /** Called inside the reconcile transaction, after findings are merged (e.g. to queue R15 digests). */
  afterFindings?: (trx: Transaction<Database>, info: AfterFindingsInfo) => Promise<void>;
}

export interface ReconcileInput {
  runId: string;
  /** The run's `as_of` date, `YYYY-MM-DD`: ages (R11) and the formation year (R12) come from it. */
  asOf: string;
  hooks?: ReconcileHooks;
  /** New rows from which a publication rebuilds a table's indexes (default {@link BULK_LOAD_ROWS}; lower in tests). */
  bulkLoadRows?: number;
}

export interface ReconcileResult {
  /** The version published (R14), or null when the run changed nothing. */
  version: number | null;
  counts: { added: number; removed: number; changed: number; active: number; officers: number };
  findings: { opened: number; resolved: number };
  /** Milliseconds per phase (lock wait included in the first), for logs and benchmarks. */
  timings: Record<string, number>;
}

/** The run cannot be reconciled as asked (bad input, or staged data missing). */
export class ReconcileError extends Error {
  override name = 'ReconcileError';
}

// One advisory-lock key for every reconcile: versions form a strict sequence (R14).
const RECONCILE_LOCK = 0x706b73796e63; // 'pksync'

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
// `Generated<Timestamp>` columns select as the ColumnType wrapper in Kysely's types; pg gives a Date.
const asDate = (v: unknown): Date => v as Date;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function assertDate(asOf: string): void {
  const d = new Date(`${asOf}T00:00:00Z`);
  if (!DATE_RE.test(asOf) || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== asOf) {
    throw new ReconcileError(`reconcileRun: asOf must be a real date YYYY-MM-DD, got "${asOf}"`);
  }
}

type FetchOutcome = 'succeeded' | 'unchanged' | 'failed';

interface FetchRow {
  source_id: string;
  status: string;
  error_code: string | null;
  error_message: string | null;
  region_code: string;
  created_at: Date;
  last_success_at: Date | null;
  has_header: boolean;
  superseded: boolean;
}

const desc = (code: FindingCode) => describeCode(code);
const finding = (code: FindingCode) => ({ code, severity: severityOf(code) });

/**
 * Reconciles a run into the register, in ONE transaction (serialised with every other reconcile
 * by an advisory lock, so versions stay a strict sequence):
 *
 * - reads the run's `source_fetches`: `succeeded` → the source's staged snapshot replaces its
 *   listing; `unchanged` / `failed` → its published entries stay as they are (R9);
 * - R10 across the whole register: for every NIP the run touches, the candidates are the new
 *   snapshots, the register's entries of sources not re-read, and what other agencies last
 *   listed; the later `tmt_jabatan` stands, ties keep the registered assignment (else the
 *   smaller region code);
 * - R8: an officer registered to a re-read source, absent from its snapshot and listed by no
 *   other agency, leaves the register — unless the source's removals trip the mass-removal
 *   guard, then they are held (`held_removals`) and stay published until confirmed
 *   ({@link confirmRemoval}) or seen again on a later run;
 * - R11 flags (age on `asOf`), R12 formations of the re-read sources;
 * - R14: publishes version n+1 with its diff only when officers or formations changed;
 * - findings (R2/R3/R6/R7 from staging, R8–R12): merged by fingerprint, resolved when gone;
 *   then `hooks.afterFindings(trx, …)`.
 *
 * The caller (the run owner) records the returned numbers on its run.
 */
export async function reconcileRun(db: Db, input: ReconcileInput): Promise<ReconcileResult> {
  const { runId, asOf, hooks } = input;
  const bulkLoadRows = input.bulkLoadRows ?? BULK_LOAD_ROWS;
  if (!UUID_RE.test(runId)) throw new ReconcileError(`reconcileRun: runId must be a UUID, got "${runId}"`);
  assertDate(asOf);
  const year = Number(asOf.slice(0, 4));

  const timings: Record<string, number> = {};
  let last = performance.now();
  const lap = (phase: string) => {
    const now = performance.now();
    timings[phase] = Math.round(now - last);
    last = now;
  };
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${RECONCILE_LOCK}::bigint)`.execute(trx);
    // Sorts of up to ~1M rows (ordered index inserts below) stay in memory.
    await sql`set local work_mem = '512MB'`.execute(trx);
    // JIT compiling costs 0.1–0.4 s per large statement here, more than it saves at these sizes.
    await sql`set local jit = off`.execute(trx);
    const run = await trx.selectFrom('runs').select('id').where('id', '=', runId).executeTakeFirst();
    if (!run) throw new ReconcileError(`reconcileRun: run ${runId} does not exist`);
    // R11/R12 over the whole register only when as_of differs from the last full evaluation;
    // otherwise only what this run touches can have changed.
    const state = await trx.selectFrom('register_state').select('evaluated_as_of').executeTakeFirst();
    const registerWide = state?.evaluated_as_of !== asOf;
    // --- Which sources the run covers, and how (R9) -------------------------------------------
    const fetchRows = (
      await sql<FetchRow>`
        select sf.source_id, sf.status, sf.error_code, sf.error_message, s.region_code, s.created_at,
               s.last_success_at,
               h.run_id is not null as has_header,
               (h.discarded_at is not null or l.staged_at > h.staged_at) as superseded
        from source_fetches sf
        join sources s on s.id = sf.source_id
        left join staged_snapshots h on h.run_id = sf.run_id and h.source_id = sf.source_id
        left join source_listings l on l.source_id = sf.source_id and l.run_id <> sf.run_id
        where sf.run_id = ${runId}
        order by sf.source_id`.execute(trx)
    ).rows;
    const outcome = new Map<string, FetchOutcome>();
    // Sources whose staged snapshot is older than one already reconciled: treated as unchanged,
    // and they show nothing new about a held removal (the newer run judged it).
    const superseded = new Set<string>();
    const snapshotSources: string[] = [];
    for (const f of fetchRows) {
      if (f.status === 'succeeded') {
        if (!f.has_header) {
          throw new ReconcileError(
            `reconcileRun: source "${f.source_id}" fetched successfully in run ${runId} but no snapshot was staged`,
          );
        }
        // A newer snapshot of the source was already reconciled by another run: this older one
        // must not roll the source back; its published entries stand.
        if (f.superseded) {
          outcome.set(f.source_id, 'unchanged');
          superseded.add(f.source_id);
        } else {
          outcome.set(f.source_id, 'succeeded');
          snapshotSources.push(f.source_id);
        }
      } else if (f.status === 'unchanged' || f.status === 'failed') {
        outcome.set(f.source_id, f.status);
      }
      // 'pending'/'running': not finished, not covered — its entries stay, nothing is evaluated.
    }
    const coveredSources = [...outcome.keys()];
    // --- R8: open held removals of covered sources --------------------------------------------
    // A later look at the source is a fetch begun after the fetch that made the hold had finished
    // (not the same fetch, nor one that overlapped it while two runs fetched the agency at once).
    const openHolds = (
      await sql<{ id: number; source_id: string; status: 'held' | 'confirmed'; later_look: boolean }>`
        select h.id, h.source_id, h.status,
               coalesce(h.run_id <> ${runId}::uuid
                        and (made.finished_at is null or mine.started_at >= made.finished_at), false) as later_look
        from held_removals h
        join source_fetches mine on mine.run_id = ${runId}::uuid and mine.source_id = h.source_id
        left join source_fetches made on made.run_id = h.run_id and made.source_id = h.source_id
        where h.status in ('held', 'confirmed') and h.source_id = any(${coveredSources}::text[])`.execute(trx)
    ).rows;
    const applyHoldIds: number[] = [];
    for (const h of openHolds) {
      const o = heldRemovalOutcome({
        status: h.status,
        laterLook: h.later_look,
        fetchStatus: superseded.has(h.source_id) ? 'failed' : (outcome.get(h.source_id) ?? 'failed'),
      });
      if (o !== 'keep') applyHoldIds.push(Number(h.id));
      // A snapshot that is no later look than the held one shows nothing new about the agency:
      // like a superseded one, its source counts as unchanged and the hold stands as it is.
      if (o === 'keep' && outcome.get(h.source_id) === 'succeeded') {
        outcome.set(h.source_id, 'unchanged');
        superseded.add(h.source_id);
        snapshotSources.splice(snapshotSources.indexOf(h.source_id), 1);
      }
    }
    const regionOf = new Map(fetchRows.map((f) => [f.source_id, f.region_code]));
    const sRegions = [...new Set(snapshotSources.map((id) => regionOf.get(id)!))];
    const sProvinces = [...new Set(sRegions.map((r) => r.slice(0, 2)))];
    const S = snapshotSources;
    await assertStagedRowsPresent(trx, runId, S);
    lap('sources');
    await sql`
      create temporary table h_apply on commit drop as
      select unnest(h.nips) as nip, h.source_id, h.id as hold_id,
             case when h.status = 'confirmed' then 'removal_confirmed' else 'removal_repeated' end as reason
      from held_removals h where h.id = any(${applyHoldIds}::bigint[])`.execute(trx);
    lap('holds');
    // A quiet run (no snapshot re-read, no held removal to apply, the same as_of as the last
    // register-wide evaluation) cannot change the register: its candidates, removals, diff,
    // formations and publication are skipped — each would be empty — and only its findings (R9
    // staleness, resolutions) are evaluated. A repeat run on the same day is such a run; the next
    // night (another as_of) evaluates R11/R12 over the whole register first.
    const quiet = S.length === 0 && applyHoldIds.length === 0 && !registerWide;
    let sizes = { added: 0, changed: 0, removed: 0, formations: 0 };
    let version: number | null = null;
    if (quiet) {
      await sql`create temporary table aff (nip text) on commit drop`.execute(trx);
      lap('quiet');
    } else {
      // --- The NIPs this run touches ------------------------------------------------------------
      await sql`
        create temporary table aff on commit drop as
        select nip from staged_officers where run_id = ${runId} and source_id = any(${S}::text[])
        union
        select nip from officer_records
        where valid_to is null and source_id = any(${S}::text[])
          -- A source's rows carry its region (R4): found through the current-region index.
          and province_code = any(${sProvinces}::text[]) and region_code = any(${sRegions}::text[])
        union
        select nip from h_apply
        union
        -- R10 findings a re-read source was given: re-evaluated even if it no longer lists the NIP.
        select nip from findings
        where status <> 'resolved' and nip is not null and source_id = any(${S}::text[])
          and code in ('transferred_officer_still_listed', 'conflicting_assignment')`.execute(trx);
      await sql`analyze aff`.execute(trx);
      lap('candidates:nips');

      // Few NIPs (a region re-sync): look each one up in the listings by the NIP index; many (a
      // national run): one hash join over the listings.
      const affCount = Number(
        (await sql<{ n: number }>`select count(*)::int as n from aff`.execute(trx)).rows[0]?.n ?? 0,
      );
      // (LATERAL makes the lookup a per-NIP index probe whatever the planner's statistics.)
      const few = affCount < 50_000;
      const listingRows = few
        ? sql`aff a
            cross join lateral (select * from staged_officers x where x.nip = a.nip) so
            join source_listings l on l.run_id = so.run_id and l.source_id = so.source_id`
        : sql`source_listings l
            join staged_officers so on so.run_id = l.run_id and so.source_id = l.source_id
            join aff a on a.nip = so.nip`;
      const registerRows = few
        ? sql`aff a cross join lateral (select * from officer_records x where x.nip = a.nip and x.valid_to is null) o`
        : sql`officer_records o join aff a on a.nip = o.nip`;
      // R10 candidates for those NIPs: the new snapshots; the register's entries of sources not
      // re-read (minus held removals being applied); what other agencies last listed. Each with
      // the columns a register row derives (province, R11 past retirement), so that the winners
      // are this table minus the losers.
      await sql`
        create temporary table cand on commit drop as
        select u.*, left(u.region_code, 2) as province_code,
               coalesce(u.active and u.birth_date <= lv.born_by, false) as past_retirement
        from (
        select so.source_id, so.nip, so.name, so.name_normalised, so.gender, so.birth_date, so.level, so.grade,
               so.unit, so.region_code, so.tmt_jabatan, so.status, so.active, so.email, so.phone, so.source_updated_at
        from staged_officers so
        where so.run_id = ${runId} and so.source_id = any(${S}::text[])
        union all
        select o.source_id, o.nip, o.name, o.name_normalised, o.gender, o.birth_date, o.level, o.grade,
               o.unit, o.region_code, o.tmt_jabatan, o.status, o.active, o.email, o.phone, o.source_updated_at
        from ${registerRows}
        where o.valid_to is null and o.source_id <> all(${S}::text[])
          and not exists (select 1 from h_apply h where h.nip = o.nip and h.source_id = o.source_id)
        union all
        select so.source_id, so.nip, so.name, so.name_normalised, so.gender, so.birth_date, so.level, so.grade,
               so.unit, so.region_code, so.tmt_jabatan, so.status, so.active, so.email, so.phone, so.source_updated_at
        from ${listingRows}
        where l.source_id <> all(${S}::text[])
          and not exists (
            select 1 from officer_records o where o.nip = so.nip and o.valid_to is null and o.source_id = so.source_id)
        ) u
        -- R11: at least retirement_age full years old on as_of, i.e. born on or before as_of
        -- minus those years (the same test as age(), one date comparison per row).
        left join (
          select code, (${asOf}::date - make_interval(years => retirement_age))::date as born_by from levels
        ) lv on lv.code = u.level`.execute(trx);
      lap('candidates:rows');

      // R10 order (compareCandidates in @pksync/core): active first, later tmt_jabatan, the
      // registered assignment, the smaller region code, the smaller source id. Most NIPs have one
      // candidate: only the contested ones are ordered. Their candidates are kept apart (for the
      // R10 findings), the losers deleted, and what is left is the winners: \`win\` (no copy of a
      // first load's million rows).
      await sql`
        create temporary table contested on commit drop as
        select nip from cand group by nip having count(*) > 1`.execute(trx);
      await sql`
        create temporary table contenders on commit drop as
        select c.*, c.ctid as tid, row_number() over (
                 partition by c.nip
                 order by c.active desc, c.tmt_jabatan desc, coalesce(c.source_id = cur.source_id, false) desc,
                          c.region_code, c.source_id) as rank
        from cand c
        left join officer_records cur on cur.nip = c.nip and cur.valid_to is null
        -- (a hash semi-join: a join on cand, which has no statistics yet, was planned as a sort of all of it)
        where exists (select 1 from contested x where x.nip = c.nip)`.execute(trx);
      await sql`
        delete from cand where ctid = any(array(select tid from contenders where rank > 1))`.execute(trx);
      await sql`alter table cand rename to win`.execute(trx);
      await sql`analyze win`.execute(trx);
      lap('candidates:winners');
      // --- R8: disappearances and the mass-removal guard ----------------------------------------
      await sql`
        create temporary table gone on commit drop as
        select o.id, o.nip, o.source_id, o.region_code, o.province_code, o.active, h.reason as hold_reason
        from officer_records o
        join aff a on a.nip = o.nip
        left join h_apply h on h.nip = o.nip and h.source_id = o.source_id
        where o.valid_to is null and not exists (select 1 from win w where w.nip = o.nip)`.execute(trx);
      const goneStats = (
        await sql<{ source_id: string; removing_active: number; removing: number; active_before: number }>`
          select g.source_id,
                 count(*) filter (where g.hold_reason is null and g.active)::int as removing_active,
                 count(*) filter (where g.hold_reason is null)::int as removing,
                 (select count(*)::int from officer_records o
                   where o.valid_to is null and o.source_id = g.source_id and o.active
                     and o.province_code = left(s.region_code, 2) and o.region_code = s.region_code) as active_before
          from gone g join sources s on s.id = g.source_id group by g.source_id, s.region_code`.execute(trx)
      ).rows;
      const holdSources: { sourceId: string; activeBefore: number; removing: number }[] = [];
      for (const g of goneStats) {
        if (g.removing > 0 && isMassRemoval({ removingActive: g.removing_active, activeBefore: g.active_before })) {
          holdSources.push({ sourceId: g.source_id, activeBefore: g.active_before, removing: g.removing });
        }
      }
      const holdIds = holdSources.map((h) => h.sourceId);
      await sql`
        create temporary table rem on commit drop as
        select g.*, coalesce(g.hold_reason, 'disappeared') as reason from gone g
        where g.hold_reason is not null or g.source_id <> all(${holdIds}::text[])`.execute(trx);

      // Held removals applied (or moot: every held officer came back) by this run.
      if (applyHoldIds.length) {
        await sql`
          update held_removals h set
            status = case when exists (select 1 from rem r where r.source_id = h.source_id and r.hold_reason is not null)
                          then 'applied' else 'superseded' end,
            resolution = case
              when not exists (select 1 from rem r where r.source_id = h.source_id and r.hold_reason is not null) then 'superseded'
              when h.status = 'confirmed' then 'confirmed' else 'repeated' end,
            resolved_run_id = ${runId}::uuid, resolved_at = now()
          where h.id = any(${applyHoldIds}::bigint[])`.execute(trx);
      }
      for (const h of holdSources) {
        await sql`
          insert into held_removals (source_id, run_id, nips, active_before)
          select ${h.sourceId}, ${runId}::uuid, array_agg(g.nip order by g.nip), ${h.activeBefore}::int
          from gone g where g.source_id = ${h.sourceId} and g.hold_reason is null`.execute(trx);
      }
      lap('removals');
      // --- The diff (R14) -----------------------------------------------------------------------
      await sql`
        create temporary table diff on commit drop as
        select w.*, cur.id as cur_id, cur.region_code as prev_region_code, cur.source_id as prev_source_id,
               case when cur.id is null then 'added' else 'changed' end as change,
               case when cur.id is null then '{}'::text[] else array_remove(array[
                 case when w.source_id is distinct from cur.source_id then 'source_id' end,
                 case when w.region_code is distinct from cur.region_code then 'region_code' end,
                 case when (w.name, w.name_normalised) is distinct from (cur.name, cur.name_normalised) then 'name' end,
                 case when w.gender is distinct from cur.gender then 'gender' end,
                 case when w.birth_date is distinct from cur.birth_date then 'birth_date' end,
                 case when w.level is distinct from cur.level then 'level' end,
                 case when w.grade is distinct from cur.grade then 'grade' end,
                 case when w.unit is distinct from cur.unit then 'unit' end,
                 case when w.tmt_jabatan is distinct from cur.tmt_jabatan then 'tmt_jabatan' end,
                 case when w.status is distinct from cur.status then 'status' end,
                 case when w.email is distinct from cur.email then 'email' end,
                 case when w.phone is distinct from cur.phone then 'phone' end,
                 case when w.past_retirement is distinct from cur.past_retirement then 'past_retirement' end
               ], null) end as fields
        from win w
        left join officer_records cur on cur.nip = w.nip and cur.valid_to is null
        where cur.id is null
           or (w.source_id, w.region_code, w.name, w.name_normalised, w.gender, w.birth_date, w.level, w.grade,
               w.unit, w.tmt_jabatan, w.status, w.active, w.email, w.phone, w.past_retirement)
              is distinct from
              (cur.source_id, cur.region_code, cur.name, cur.name_normalised, cur.gender, cur.birth_date, cur.level,
               cur.grade, cur.unit, cur.tmt_jabatan, cur.status, cur.active, cur.email, cur.phone, cur.past_retirement)`.execute(
        trx,
      );
      // R11 over the rest of the register: as_of moves, so officers untouched by this run may
      // reach (or, replaying an earlier as_of, fall below) their retirement age.
      if (registerWide) {
        await sql`
        insert into diff
        select cur.source_id, cur.nip, cur.name, cur.name_normalised, cur.gender, cur.birth_date, cur.level, cur.grade,
               cur.unit, cur.region_code, cur.tmt_jabatan, cur.status, cur.active, cur.email, cur.phone,
               cur.source_updated_at, cur.province_code, not cur.past_retirement,
               cur.id, cur.region_code, cur.source_id, 'changed', array['past_retirement']
        from officer_records cur
        join levels lv on lv.code = cur.level
        where cur.valid_to is null
          and cur.past_retirement <> (cur.active and extract(year from age(${asOf}::date, cur.birth_date)) >= lv.retirement_age)
          and not exists (select 1 from win w where w.nip = cur.nip)
          and not exists (select 1 from gone g where g.nip = cur.nip)`.execute(trx);
      }
      lap('diff');
      // --- Formations of re-read sources (R12) --------------------------------------------------
      // A snapshot's formation rows replace the source's formations for the years it gives; a
      // snapshot without formation rows leaves them as they are (e.g. a CSV source without a
      // formation file). A key given by another source is taken over.
      await sql`
        create temporary table fdes on commit drop as
        select distinct on (region_code, year, level) source_id, region_code, year, level, need, approved
        from staged_formations where run_id = ${runId} and source_id = any(${S}::text[])
        order by region_code, year, level, source_id`.execute(trx);
      await sql`
        create temporary table fclose on commit drop as
        select f.id from formations f
        where f.valid_to is null
          and (exists (select 1 from fdes d where d.source_id = f.source_id and d.year = f.year)
               or exists (select 1 from fdes d where d.region_code = f.region_code and d.year = f.year and d.level = f.level))
          and not exists (select 1 from fdes d
                          where (d.source_id, d.region_code, d.year, d.level, d.need, d.approved)
                              = (f.source_id, f.region_code, f.year, f.level, f.need, f.approved))`.execute(trx);
      await sql`
        create temporary table fnew on commit drop as
        select d.* from fdes d
        where not exists (select 1 from formations f
                          where f.valid_to is null
                            and (d.source_id, d.region_code, d.year, d.level, d.need, d.approved)
                              = (f.source_id, f.region_code, f.year, f.level, f.need, f.approved))`.execute(trx);

      sizes = (
        await sql<{ added: number; changed: number; removed: number; formations: number }>`
          select (select count(*) from diff where change = 'added')::int as added,
                 (select count(*) from diff where change = 'changed')::int as changed,
                 (select count(*) from rem)::int as removed,
                 ((select count(*) from fclose) + (select count(*) from fnew))::int as formations`.execute(trx)
      ).rows[0]!;
      lap('formations');
      // --- Publish (R14): only when officers or formations changed --------------------------------
      if (sizes.added + sizes.changed + sizes.removed + sizes.formations > 0) {
        version = (
          await sql<{ v: number }>`select coalesce(max(version), 0)::int + 1 as v from publications`.execute(trx)
        ).rows[0]!.v;
        await sql`insert into publications (version, run_id, as_of) values (${version}, ${runId}::uuid, ${asOf}::date)`.execute(
          trx,
        );
        await sql`
          update officer_records o set valid_to = ${version}::int
          where o.valid_to is null
            and o.id in (select cur_id from diff where cur_id is not null union all select id from rem)`.execute(trx);
        const inserted = sizes.added + sizes.changed;
        const recordIndexes = await bulkLoadIndexes(trx, 'officer_records', inserted, bulkLoadRows);
        const changeIndexes = await bulkLoadIndexes(trx, 'publication_changes', inserted + sizes.removed, bulkLoadRows);
        const rebuild = [...recordIndexes, ...changeIndexes];
        // In NIP order, the NIP indexes (and the diff's primary key) grow by appending instead of
        // random page splits; indexes dropped for a bulk load are built afterwards, so the rows
        // need no order. NIPs are digits: byte order ("C", a cheaper sort than the database's
        // collation) is their order.
        await sql`
          insert into officer_records
            (nip, source_id, region_code, province_code, name, name_normalised, gender, birth_date, level, grade, unit,
             tmt_jabatan, status, active, email, phone, source_updated_at, past_retirement, valid_from)
          select nip, source_id, region_code, province_code, name, name_normalised, gender, birth_date, level, grade, unit,
                 tmt_jabatan, status, active, email, phone, source_updated_at, past_retirement, ${version}::int
          from diff
          ${recordIndexes.length ? sql`` : sql`order by nip collate "C"`}`.execute(trx);
        lap('publish:records');
        await sql`
          insert into publication_changes
            (version, nip, change, fields, region_code, province_code, source_id, previous_region_code,
             previous_source_id, reason)
          select * from (
          select ${version}::int, d.nip, d.change, d.fields, d.region_code, d.province_code, d.source_id,
                 case when d.change = 'changed' and d.prev_region_code <> d.region_code then d.prev_region_code end,
                 case when d.change = 'changed' and d.prev_source_id <> d.source_id then d.prev_source_id end,
                 case when d.change = 'added' then 'new'
                      when d.prev_source_id <> d.source_id then 'transfer'
                      when d.fields = array['past_retirement'] then 'retirement_age'
                      else 'updated' end
          from diff d
          union all
          select ${version}::int, r.nip, 'removed', '{}'::text[], r.region_code, r.province_code, r.source_id, null, null, r.reason
          from rem r
          ) c (version, nip)
          ${changeIndexes.length ? sql`` : sql`order by nip collate "C"`}`.execute(trx);
        lap('publish:changes');
        for (const def of rebuild) await sql.raw(def).execute(trx);
        lap('publish:indexes');
        await sql`update formations set valid_to = ${version}::int where id in (select id from fclose)`.execute(trx);
        await sql`
          insert into formations (source_id, region_code, year, level, need, approved, valid_from)
          select source_id, region_code, year, level, need, approved, ${version}::int from fnew`.execute(trx);
      }
      // After a large change, refresh the planner's statistics now rather than waiting for
      // autovacuum: the next (small) runs' index probes depend on them.
      if (sizes.added + sizes.changed + sizes.removed > 100_000) {
        await sql`analyze officer_records`.execute(trx);
        await sql`analyze staged_officers`.execute(trx);
        lap('publish:analyze');
      }
    }
    // A new version counts its register; otherwise the register is the latest version's.
    const totals =
      version === null
        ? await currentRegisterTotals(trx)
        : (
            await sql<{ officers: number; active: number }>`
              select count(*)::int as officers, (count(*) filter (where active))::int as active
              from officer_records where valid_to is null`.execute(trx)
          ).rows[0]!;
    const counts = { added: sizes.added, removed: sizes.removed, changed: sizes.changed, ...totals };
    if (version !== null) {
      await sql`update publications set counts = ${JSON.stringify({ ...counts, formations_changed: sizes.formations })}::jsonb
                where version = ${version}`.execute(trx);
    }
    lap('publish');
    // --- Findings -----------------------------------------------------------------------------
    await createFindingBuffer(trx);
    await bufferRecordFindings(trx, runId, S);
    if (!quiet) await bufferAssignmentFindings(trx);
    await bufferFindings(trx, await sourceFindings(trx, runId, fetchRows, outcome));
    // Regions whose R12 figures this run may have changed (incremental mode).
    if (quiet) await sql`create temporary table treg (region_code text) on commit drop`.execute(trx);
    else
      await sql`
        create temporary table treg on commit drop as
        select region_code from win
        union select region_code from contenders
        union select region_code from gone
        union select prev_region_code from diff where prev_region_code is not null
        union select region_code from fdes
        union select f.region_code from formations f join fclose c on c.id = f.id`.execute(trx);
    await bufferRegisterFindings(trx, asOf, year, registerWide);
    const opened = await mergeFindingBuffer(trx, runId);
    const resolved = await resolveGoneFindings(trx, runId, {
      snapshotSources: S,
      coveredSources,
      nipTable: 'aff',
      registerWide,
      regionTable: 'treg',
    });
    if (registerWide) {
      await sql`
        insert into register_state (id, evaluated_as_of) values (true, ${asOf}::date)
        on conflict (id) do update set evaluated_as_of = excluded.evaluated_as_of`.execute(trx);
    }
    lap('findings');
    // --- Staging bookkeeping: the re-read snapshots become the sources' listings --------------
    if (S.length) {
      await sql`
        update staged_snapshots set reconciled_at = now()
        where run_id = ${runId} and source_id = any(${S}::text[])`.execute(trx);
      await sql`
        insert into source_listings (source_id, run_id, staged_at, reconciled_at)
        select source_id, run_id, staged_at, now() from staged_snapshots
        where run_id = ${runId} and source_id = any(${S}::text[])
        on conflict (source_id) do update set
          run_id = excluded.run_id, staged_at = excluded.staged_at, reconciled_at = excluded.reconciled_at`.execute(
        trx,
      );
      // Older snapshots of these sources are no longer anyone's listing: drop their rows (an
      // older run still in flight then sees its snapshot superseded and keeps the newer one).
      await sql`
        create temporary table discard on commit drop as
        with d as (
          update staged_snapshots h set discarded_at = now()
          from staged_snapshots mine
          where mine.run_id = ${runId} and mine.source_id = h.source_id
            and h.source_id = any(${S}::text[]) and h.run_id <> ${runId}
            and h.discarded_at is null and h.staged_at < mine.staged_at
          returning h.run_id, h.source_id)
        select * from d`.execute(trx);
      for (const table of ['staged_officers', 'staged_formations', 'staged_findings']) {
        await sql`delete from ${sql.table(table)} t using discard d
                  where t.run_id = d.run_id and t.source_id = d.source_id`.execute(trx);
      }
    }
    lap('bookkeeping');
    if (hooks?.afterFindings) {
      await hooks.afterFindings(trx, { runId, openedFindingIds: opened, resolvedFindingIds: resolved });
      lap('afterFindings');
    }
    return { version, counts, findings: { opened: opened.length, resolved: resolved.length }, timings };
  });
}

/** Below this many new rows, a table's indexes are always updated row by row. */
const BULK_LOAD_ROWS = 100_000;

/**
 * A publication that writes most of a table (the first load of a million officers) is faster
 * when the table's secondary indexes are built once afterwards than updated row by row (the
 * trigram name index most of all). When `rows` is at least `minRows` ({@link BULK_LOAD_ROWS}) and at least
 * the rows the table already holds, its indexes (with the primary key or unique constraint an
 * index backs, unless a foreign key depends on it) are dropped here and the statements that
 * create them returned, to be run after the insert — in the same transaction, so a failure rolls
 * the drop back too. Readers of the table wait for the publication meanwhile.
 */
async function bulkLoadIndexes(
  trx: Transaction<Database>,
  table: string,
  rows: number,
  minRows: number,
): Promise<string[]> {
  if (rows < minRows) return [];
  const held = Number(
    (
      await sql<{
        n: number;
      }>`select greatest(reltuples, 0)::float8 as n from pg_class where oid = ${table}::regclass`.execute(trx)
    ).rows[0]?.n ?? 0,
  );
  if (rows < held) return [];
  // Plain indexes, and the primary key / unique constraints no foreign key depends on (dropped
  // with their constraint, added back afterwards, which checks them over every row again).
  const indexes = (
    await sql<{ name: string; drop: string; create: string }>`
      select i.indexrelid::regclass::text as name,
             case when c.oid is null then format('drop index %s', i.indexrelid::regclass)
                  else format('alter table %s drop constraint %I', i.indrelid::regclass, c.conname) end as drop,
             case when c.oid is null then pg_get_indexdef(i.indexrelid)
                  else format('alter table %s add constraint %I %s', i.indrelid::regclass, c.conname,
                              pg_get_constraintdef(c.oid)) end as create
      from pg_index i
      left join pg_constraint c on c.conindid = i.indexrelid and c.conrelid = i.indrelid
      where i.indrelid = ${table}::regclass
        and (c.oid is null
             or (c.contype in ('p', 'u')
                 and not exists (select 1 from pg_constraint f where f.contype = 'f' and f.conindid = i.indexrelid)))
      order by i.indexrelid`.execute(trx)
  ).rows;
  if (!indexes.length) return [];
  await sql`set local maintenance_work_mem = '1GB'`.execute(trx);
  for (const ix of indexes) await sql.raw(ix.drop).execute(trx);
  return indexes.map((ix) => ix.create);
}

/** Staged rows lost (UNLOGGED tables are emptied by a server crash) must not read as an empty snapshot. */
async function assertStagedRowsPresent(trx: Transaction<Database>, runId: string, S: string[]): Promise<void> {
  const lost = await lostStagedSources(trx, runId, S);
  if (lost.length) {
    throw new ReconcileError(
      `reconcileRun: the staged snapshot of ${lost.join(', ')} in run ${runId} is incomplete (staging rows lost, ` +
        'e.g. by a database restart); fetch and stage the source again',
    );
  }
}

/** R2/R3/R7 record findings and the R6 rejections (one `record_rejected` per source) of re-read sources. */
async function bufferRecordFindings(trx: Transaction<Database>, runId: string, S: string[]): Promise<void> {
  if (!S.length) return;
  const texts = ['gender_mismatch', 'birthdate_mismatch', 'grade_level_mismatch', 'duplicate_in_source'] as const;
  await sql`
    insert into finding_buffer (fingerprint, code, severity, province_code, region_code, source_id, nip, row, message, details)
    select x.code || '|' || x.source_id || '|' || coalesce(x.nip, 'row:' || x.row),
           x.code, x.severity, left(s.region_code, 2), s.region_code, x.source_id, x.nip, x.row,
           d.text || coalesce(' (baris ' || x.row || coalesce(', NIP ' || x.nip, '') || ')', ''),
           x.details
    from staged_findings x
    join sources s on s.id = x.source_id
    join unnest(${texts as unknown as string[]}::text[], ${texts.map(desc)}::text[]) as d(code, text) on d.code = x.code
    where x.run_id = ${runId} and x.source_id = any(${S}::text[])`.execute(trx);
  const { code, severity } = finding('record_rejected');
  await sql`
    insert into finding_buffer (fingerprint, code, severity, province_code, region_code, source_id, message, details)
    select ${code}::text || '|' || r.source_id, ${code}::text, ${severity}::text, left(s.region_code, 2), s.region_code, r.source_id,
           format('%s baris data dari sumber %s ditolak dan tidak masuk register: %s. Baris: %s%s',
                  count(*), r.source_id,
                  (select string_agg(c || ' ' || n, ', ' order by n desc, c) from (
                     select c, count(*) as n from rejected_records r2, unnest(r2.codes) c
                     where r2.run_id = r.run_id and r2.source_id = r.source_id group by c) t),
                  array_to_string((array_agg(r.row order by r.row))[1:20], ', '),
                  case when count(*) > 20 then ', …' else '' end),
           jsonb_build_object(
             'count', count(*),
             'records', (select jsonb_agg(jsonb_build_object('row', r3.row, 'nip', r3.nip, 'codes', r3.codes, 'fields', r3.fields)
                                          order by r3.row)
                         from (select * from rejected_records r4 where r4.run_id = r.run_id and r4.source_id = r.source_id
                               order by r4.row limit 100) r3))
    from rejected_records r
    join sources s on s.id = r.source_id
    where r.run_id = ${runId} and r.source_id = any(${S}::text[])
    group by r.run_id, r.source_id, s.region_code`.execute(trx);
}

/** R10 findings for the NIPs the run touched: losers still listing an officer, equal-tmt conflicts. */
async function bufferAssignmentFindings(trx: Transaction<Database>): Promise<void> {
  // Only NIPs with more than one candidate (\`contested\`) can raise R10 findings; most runs have none.
  const multi = await sql<{ n: number }>`select count(*)::int as n from contested`.execute(trx);
  if (!multi.rows[0]?.n) return;
  const t = finding('transferred_officer_still_listed');
  const c = finding('conflicting_assignment');
  await sql`
    insert into finding_buffer (fingerprint, code, severity, province_code, region_code, source_id, nip, message, details)
    select ${t.code}::text || '|' || l.source_id || '|' || l.nip, ${t.code}::text, ${t.severity}::text, left(l.region_code, 2),
           l.region_code, l.source_id, l.nip,
           format('%s: %s (NIP %s) tercatat di wilayah %s (sumber %s) dengan TMT Jabatan %s, lebih baru dari TMT %s di sumber ini',
                  ${desc('transferred_officer_still_listed')}::text, w.name, w.nip, w.region_code, w.source_id,
                  w.tmt_jabatan, l.tmt_jabatan),
           jsonb_build_object('registeredSource', w.source_id, 'registeredRegion', w.region_code,
                              'registeredTmt', w.tmt_jabatan, 'listedTmt', l.tmt_jabatan)
    from contenders l join win w on w.nip = l.nip
    where l.active and w.active and l.source_id <> w.source_id and l.tmt_jabatan < w.tmt_jabatan`.execute(trx);
  // Both provinces get a conflict; one finding per province and NIP.
  await sql`
    insert into finding_buffer (fingerprint, code, severity, province_code, region_code, source_id, nip, message, details)
    select ${c.code}::text || '|' || side.province || '|' || l.nip, ${c.code}::text, ${c.severity}::text, side.province,
           side.region, side.source, l.nip,
           format('%s: %s (NIP %s) dilaporkan aktif oleh sumber %s (%s) dan %s (%s) dengan TMT Jabatan %s; yang tercatat: %s',
                  ${desc('conflicting_assignment')}::text, w.name, w.nip, w.source_id, w.region_code, l.source_id,
                  l.region_code, w.tmt_jabatan, w.source_id),
           jsonb_build_object('registeredSource', w.source_id, 'registeredRegion', w.region_code,
                              'otherSource', l.source_id, 'otherRegion', l.region_code, 'tmtJabatan', w.tmt_jabatan)
    from contenders l join win w on w.nip = l.nip
    cross join lateral (values (left(l.region_code, 2), l.region_code, l.source_id),
                               (left(w.region_code, 2), w.region_code, w.source_id)) as side(province, region, source)
    where l.active and w.active and l.source_id <> w.source_id and l.tmt_jabatan = w.tmt_jabatan`.execute(trx);
}

/** R8 holds and R9 failure/staleness of the covered sources (a handful of rows: built in JS). */
async function sourceFindings(
  trx: Transaction<Database>,
  runId: string,
  fetchRows: FetchRow[],
  outcome: Map<string, FetchOutcome>,
): Promise<BufferedFinding[]> {
  const covered = [...outcome.keys()];
  if (!covered.length) return [];
  const out: BufferedFinding[] = [];
  // Every success stamps `last_success_at`; the latest successful fetch (one step down the
  // (source_id, id) index, not the source's whole history) counts too, for a fetch recorded
  // without the stamp.
  const lastSuccess = new Map(
    (
      await sql<{ source_id: string; last: Date | null; now: Date }>`
        select s.id as source_id, now() as now,
               greatest(s.last_success_at,
                        (select coalesce(f.finished_at, f.started_at, r.created_at)
                         from source_fetches f join runs r on r.id = f.run_id
                         where f.source_id = s.id and f.status in ('succeeded', 'unchanged')
                         order by f.id desc limit 1)) as last
        from sources s where s.id = any(${covered}::text[])`.execute(trx)
    ).rows.map((r) => [r.source_id, r] as const),
  );
  const fmt = (d: Date | null) => (d ? d.toISOString() : 'belum pernah');
  for (const f of fetchRows) {
    const o = outcome.get(f.source_id);
    if (!o) continue;
    const province = f.region_code.slice(0, 2);
    const ls = lastSuccess.get(f.source_id);
    const last = ls?.last ?? null;
    if (o === 'failed') {
      out.push({
        ...finding('source_failed'),
        fingerprint: `source_failed|${f.source_id}`,
        provinceCode: province,
        regionCode: f.region_code,
        sourceId: f.source_id,
        message:
          `${desc('source_failed')}. Sumber ${f.source_id}` +
          (f.error_code ? `: ${describeErrorCode(f.error_code)}` : '') +
          (f.error_message ? ` (${f.error_message})` : '') +
          `. Terakhir berhasil: ${fmt(last)}`,
        details: { errorCode: f.error_code, errorMessage: f.error_message, lastSuccessAt: last, runId },
      });
    }
    if (ls && isStale(last, f.created_at, ls.now)) {
      out.push({
        ...finding('source_stale'),
        fingerprint: `source_stale|${f.source_id}`,
        provinceCode: province,
        regionCode: f.region_code,
        sourceId: f.source_id,
        message: `${desc('source_stale')}. Sumber ${f.source_id}, terakhir berhasil: ${fmt(last)}`,
        details: { lastSuccessAt: last, staleAfterDays: STALE_AFTER_DAYS },
      });
    }
  }
  const holds = (
    await sql<{
      source_id: string;
      region_code: string;
      n: number;
      active_before: number;
      status: string;
      sample: string[];
    }>`
      select h.source_id, s.region_code, cardinality(h.nips)::int as n, h.active_before, h.status,
             h.nips[1:20] as sample
      from held_removals h join sources s on s.id = h.source_id
      where h.status in ('held', 'confirmed') and h.source_id = any(${covered}::text[])`.execute(trx)
  ).rows;
  for (const h of holds) {
    out.push({
      ...finding('mass_removal_held'),
      fingerprint: `mass_removal_held|${h.source_id}`,
      provinceCode: h.region_code.slice(0, 2),
      regionCode: h.region_code,
      sourceId: h.source_id,
      message:
        `${desc('mass_removal_held')}. Sumber ${h.source_id}: ${h.n} pejabat tidak ada lagi dalam kiriman ` +
        `(dari ${h.active_before} pejabat aktif)` +
        (h.status === 'confirmed'
          ? '; penghapusan sudah dikonfirmasi dan diterapkan pada sinkronisasi berikutnya'
          : ''),
      details: { nips: h.n, activeBefore: h.active_before, sampleNips: h.sample, status: h.status },
    });
  }
  return out;
}

// Fetch error codes (FETCH_ERROR_CODES) have Bahasa Indonesia texts too; unknown codes come back as is.
const describeErrorCode = (code: string): string => describeCode(code as FindingCode);

/** R11 flags and R12 formation findings over the whole register after this run. */
async function bufferRegisterFindings(
  trx: Transaction<Database>,
  asOf: string,
  year: number,
  registerWide: boolean,
): Promise<void> {
  // Incremental: only the NIPs (aff) and regions (treg) this run touched, probed by index.
  const officers = registerWide
    ? sql`officer_records o`
    : sql`aff a cross join lateral (select * from officer_records x where x.nip = a.nip and x.valid_to is null) o`;
  const activeRows = registerWide
    ? sql`officer_records o`
    : sql`treg t cross join lateral (
            select x.region_code, x.level, x.active, x.valid_to from officer_records x
            where x.valid_to is null and x.province_code = left(t.region_code, 2) and x.region_code = t.region_code) o`;
  const regionFilter = registerWide ? sql`true` : sql`region_code in (select region_code from treg)`;
  const p = finding('past_retirement_age');
  await sql`
    insert into finding_buffer (fingerprint, code, severity, province_code, region_code, source_id, nip, message, details)
    select ${p.code}::text || '|' || o.nip, ${p.code}::text, ${p.severity}::text, o.province_code, o.region_code, o.source_id, o.nip,
           format('%s: %s (NIP %s), %s, berusia %s tahun pada %s; batas usia pensiun %s tahun',
                  ${desc('past_retirement_age')}::text, o.name, o.nip, lv.name,
                  extract(year from age(${asOf}::date, o.birth_date))::int, ${asOf}::text, lv.retirement_age),
           jsonb_build_object('age', extract(year from age(${asOf}::date, o.birth_date))::int,
                              'retirementAge', lv.retirement_age, 'level', o.level, 'asOf', ${asOf}::text)
    from ${officers} join levels lv on lv.code = o.level
    where o.valid_to is null and o.past_retirement`.execute(trx);
  const m = finding('formation_missing');
  const over = finding('over_formation');
  await sql`
    with terisi as (
      select o.region_code, o.level, count(*)::int as n from ${activeRows}
      where o.valid_to is null and o.active group by o.region_code, o.level),
    fyear as (select region_code, level, approved, need from formations
              where valid_to is null and year = ${year}::int and ${regionFilter})
    insert into finding_buffer (fingerprint, code, severity, province_code, region_code, message, details)
    select ${m.code}::text || '|' || t.region_code || '|' || ${year}::text, ${m.code}::text, ${m.severity}::text, left(t.region_code, 2),
           t.region_code,
           format('%s: wilayah %s, tahun %s, %s pejabat aktif', ${desc('formation_missing')}::text, t.region_code, ${year}::int,
                  sum(t.n)),
           jsonb_build_object('year', ${year}::int, 'active', sum(t.n))
    from terisi t
    where not exists (select 1 from fyear f where f.region_code = t.region_code)
    group by t.region_code
    union all
    select ${over.code}::text || '|' || t.region_code || '|' || ${year}::text || '|' || t.level, ${over.code}::text, ${over.severity}::text,
           left(t.region_code, 2), t.region_code,
           format('%s: wilayah %s, tahun %s, jenjang %s: terisi %s, formasi %s', ${desc('over_formation')}::text,
                  t.region_code, ${year}::int, lv.name, t.n, f.approved),
           jsonb_build_object('year', ${year}::int, 'level', t.level, 'terisi', t.n, 'formasi', f.approved,
                              'kebutuhan', f.need)
    from terisi t join fyear f on f.region_code = t.region_code and f.level = t.level
    join levels lv on lv.code = t.level
    where t.n > f.approved`.execute(trx);
}

/**
 * R8: an admin confirms the held mass removal of a source. The next reconcile covering the source
 * applies it (trigger a source run to apply it now). Returns whether a held removal was found and
 * how many officers it removes.
 */
export async function confirmRemoval(
  db: Db,
  input: { sourceId: string; by: string; reason: string },
): Promise<{ confirmed: boolean; nips: number }> {
  if (!input.sourceId) throw new ReconcileError('confirmRemoval: sourceId is required');
  if (!input.by?.trim()) throw new ReconcileError('confirmRemoval: by (who confirms) is required');
  if (!input.reason?.trim()) throw new ReconcileError('confirmRemoval: reason is required');
  const row = await db
    .updateTable('held_removals')
    .set({
      status: 'confirmed',
      confirmed_by: input.by.trim(),
      confirmed_at: new Date(),
      confirm_reason: input.reason.trim(),
    })
    .where('source_id', '=', input.sourceId)
    .where('status', '=', 'held')
    .returning(sql<number>`cardinality(nips)`.as('n'))
    .executeTakeFirst();
  return row ? { confirmed: true, nips: Number(row.n) } : { confirmed: false, nips: 0 };
}

export interface HeldRemovalInfo {
  id: number;
  sourceId: string;
  agency: string;
  regionCode: string;
  provinceCode: string;
  runId: string;
  /** Officers the held snapshot would remove. */
  count: number;
  activeBefore: number;
  status: 'held' | 'confirmed';
  confirmedBy: string | null;
  confirmedAt: Date | null;
  createdAt: Date;
}

/**
 * Open R8 mass removals (held or confirmed, not yet applied; `waitingOnly`: held, still waiting
 * for a confirmation), newest first, optionally of one province.
 */
export async function listHeldRemovals(
  db: Db,
  options: { province?: string; waitingOnly?: boolean } = {},
): Promise<HeldRemovalInfo[]> {
  let q = db
    .selectFrom('held_removals as h')
    .innerJoin('sources as s', 's.id', 'h.source_id')
    .select([
      'h.id',
      'h.source_id',
      's.agency',
      's.region_code',
      'h.run_id',
      sql<number>`cardinality(h.nips)`.as('count'),
      'h.active_before',
      'h.status',
      'h.confirmed_by',
      'h.confirmed_at',
      'h.created_at',
    ])
    .where('h.status', 'in', options.waitingOnly ? ['held'] : ['held', 'confirmed'])
    .orderBy('h.id', 'desc');
  if (options.province) q = q.where(sql<string>`left(s.region_code, 2)`, '=', options.province);
  return (await q.execute()).map((r) => ({
    id: Number(r.id),
    sourceId: r.source_id,
    agency: r.agency,
    regionCode: r.region_code,
    provinceCode: r.region_code.slice(0, 2),
    runId: r.run_id,
    count: Number(r.count),
    activeBefore: r.active_before,
    status: r.status as 'held' | 'confirmed',
    confirmedBy: r.confirmed_by,
    confirmedAt: r.confirmed_at as Date | null,
    createdAt: asDate(r.created_at),
  }));
}

/** The open (held or confirmed) mass removal of a source, if any (for the API and the console). */
export async function getHeldRemoval(db: Db, sourceId: string) {
  return db
    .selectFrom('held_removals')
    .selectAll()
    .where('source_id', '=', sourceId)
    .where('status', 'in', ['held', 'confirmed'])
    .executeTakeFirst();
}

// --- Read helpers (API, console, demo) --------------------------------------------------------

/** The latest published version of the register (R14), or null before the first publication. */
export async function getRegisterVersion(db: Db): Promise<number | null> {
  const row = await db
    .selectFrom('publications')
    .select((eb) => eb.fn.max('version').as('v'))
    .executeTakeFirst();
  return row?.v ?? null;
}

/** R12 figures of one level: `formasi`/`kebutuhan` are null when the region has no formation row for it. */
export type LevelFigures = FormationFigures;

export interface RegionSummary {
  code: string;
  name: string;
  level: 'province' | 'regency';
  kind: 'provinsi' | 'kabupaten' | 'kota';
  parentCode: string | null;
  /** Active officers (R5) registered to this region itself, by level. */
  activeByLevel: Record<LevelCode, number>;
  active: number;
  /** R12 for the year: formasi, kebutuhan, terisi (active at the level), kekurangan. */
  formationByLevel: Record<LevelCode, LevelFigures>;
  /** R13: at least one active officer. */
  covered: boolean;
  /** R13, provinces only: covered regencies/cities out of all of them; null for a regency/city. */
  coverage: Coverage | null;
  /** Provinces only: active officers in the whole province (its own office and its regencies/cities). */
  provinceActive: number | null;
  /** Latest successful fetch of the region's sources (R9), null when none ever succeeded. */
  lastSuccessAt: Date | null;
  /** R9: a source of the region failed its latest fetch or has had no success for 3 days. */
  stale: boolean;
  /** Number of enabled sources bound to the region. */
  sources: number;
}

const emptyByLevel = <T>(f: () => T): Record<LevelCode, T> =>
  Object.fromEntries(LEVEL_CODES.map((l) => [l, f()])) as Record<LevelCode, T>;

/**
 * Every region (provinces and regencies/cities, in code order) with its register figures at a
 * version (default: the latest) for a formation year: active officers by level, R12 formation
 * figures, R13 coverage, R9 last success and staleness.
 *
 * @example const regions = await getRegionSummaries(db, { year: 2026 });
 */
export async function getRegionSummaries(
  db: Db,
  options: { version?: number; year: number },
): Promise<RegionSummary[]> {
  if (!Number.isInteger(options.year) || options.year < 1900 || options.year > 9999) {
    throw new ReconcileError(`getRegionSummaries: year must be a 4-digit year, got ${options.year}`);
  }
  const latest = await getRegisterVersion(db);
  const version = options.version ?? latest;
  if (
    options.version !== undefined &&
    (!Number.isInteger(options.version) || latest === null || options.version < 1 || options.version > latest)
  ) {
    throw new ReconcileError(`getRegionSummaries: version ${options.version} has not been published`);
  }
  const regionRows = await db.selectFrom('regions').selectAll().orderBy('code').execute();
  const active = new Map<string, Record<LevelCode, number>>();
  const formation = new Map<string, Map<string, { approved: number; need: number }>>();
  if (version !== null) {
    // The current version reads the current rows (index on valid_to is null); older ones the ranges.
    const atVersion = (v: number) =>
      v === latest ? sql`valid_to is null` : sql`valid_from <= ${v} and (valid_to is null or valid_to > ${v})`;
    const counts = await sql<{ region_code: string; level: string; n: number }>`
      select region_code, level, count(*)::int as n from officer_records
      where active and ${atVersion(version)} group by region_code, level`.execute(db);
    for (const r of counts.rows) {
      const byLevel = active.get(r.region_code) ?? emptyByLevel(() => 0);
      if (isLevelCode(r.level)) byLevel[r.level] += r.n;
      active.set(r.region_code, byLevel);
    }
    const forms = await sql<{ region_code: string; level: string; approved: number; need: number }>`
      select region_code, level, approved, need from formations
      where year = ${options.year} and ${atVersion(version)}`.execute(db);
    for (const f of forms.rows) {
      const m = formation.get(f.region_code) ?? new Map();
      m.set(f.level, { approved: f.approved, need: f.need });
      formation.set(f.region_code, m);
    }
  }
  // Last success as in sourceFindings: the stamp, or the latest successful fetch.
  const sourceRows = (
    await sql<{ region_code: string; created_at: Date; last: Date | null; latest_status: string | null; now: Date }>`
      select s.region_code, s.created_at, now() as now,
             greatest(s.last_success_at,
                      (select coalesce(f.finished_at, f.started_at) from source_fetches f
                       where f.source_id = s.id and f.status in ('succeeded', 'unchanged')
                       order by f.id desc limit 1)) as last,
             (select f.status from source_fetches f
              where f.source_id = s.id and f.status in ('succeeded', 'unchanged', 'failed')
              order by f.id desc limit 1) as latest_status
      from sources s where s.enabled`.execute(db)
  ).rows;
  const sourceInfo = new Map<string, { last: Date | null; stale: boolean; n: number }>();
  for (const s of sourceRows) {
    const info = sourceInfo.get(s.region_code) ?? { last: null, stale: false, n: 0 };
    info.n++;
    if (s.last && (!info.last || s.last > info.last)) info.last = s.last;
    if (s.latest_status === 'failed' || isStale(s.last, s.created_at, s.now)) info.stale = true;
    sourceInfo.set(s.region_code, info);
  }

  const activeTotal = (code: string) => Object.values(active.get(code) ?? {}).reduce((a, b) => a + b, 0);
  const activeByRegion = new Map(regionRows.map((r) => [r.code, activeTotal(r.code)]));
  const regenciesByProvince = new Map<string, string[]>();
  for (const r of regionRows) {
    if (r.parent_code)
      regenciesByProvince.set(r.parent_code, [...(regenciesByProvince.get(r.parent_code) ?? []), r.code]);
  }
  return regionRows.map((r): RegionSummary => {
    const byLevel = active.get(r.code) ?? emptyByLevel(() => 0);
    const forms = formation.get(r.code);
    const formationByLevel = emptyByLevel<LevelFigures>(() =>
      formationFigures({ formasi: null, kebutuhan: null, terisi: 0 }),
    );
    for (const l of LEVEL_CODES) {
      const f = forms?.get(l);
      formationByLevel[l] = formationFigures({
        formasi: f?.approved ?? null,
        kebutuhan: f?.need ?? null,
        terisi: byLevel[l],
      });
    }
    const regencies = regenciesByProvince.get(r.code) ?? [];
    const n = activeByRegion.get(r.code) ?? 0;
    const src = sourceInfo.get(r.code);
    return {
      code: r.code,
      name: r.name,
      level: r.level,
      kind: r.kind,
      parentCode: r.parent_code,
      activeByLevel: byLevel,
      active: n,
      formationByLevel,
      covered: isCovered(n),
      coverage: r.level === 'province' ? provinceCoverage(regencies, activeByRegion) : null,
      provinceActive:
        r.level === 'province' ? n + regencies.reduce((a, c) => a + (activeByRegion.get(c) ?? 0), 0) : null,
      lastSuccessAt: src?.last ?? null,
      stale: src?.stale ?? false,
      sources: src?.n ?? 0,
    };
  });
}

export interface OfficerHistoryRecord {
  sourceId: string;
  regionCode: string;
  name: string;
  level: string;
  grade: string;
  unit: string;
  tmtJabatan: string;
  status: string;
  active: boolean;
  pastRetirement: boolean;
  /** Valid for versions [validFrom, validTo); validTo null = current. */
  validFrom: number;
  validTo: number | null;
}

export interface OfficerHistoryChange {
  version: number;
  publishedAt: Date;
  asOf: string;
  change: 'added' | 'removed' | 'changed';
  fields: string[];
  reason: string;
  regionCode: string;
  sourceId: string;
  previousRegionCode: string | null;
  previousSourceId: string | null;
}

export interface OfficerHistory {
  nip: string;
  /** The current register entry, or null when the officer has left the register. */
  current: OfficerRecord | null;
  /** Every version of the record, oldest first. */
  records: OfficerHistoryRecord[];
  /** Consecutive periods in one agency/region/unit. */
  assignments: {
    sourceId: string;
    regionCode: string;
    unit: string;
    fromVersion: number;
    toVersion: number | null;
    from: Date | null;
    to: Date | null;
  }[];
  /** Every published change of this NIP, with when and why. */
  changes: OfficerHistoryChange[];
  /** R10 transfers (mutasi): from which region/agency to which, when. */
  transfers: {
    version: number;
    at: Date;
    asOf: string;
    fromRegionCode: string | null;
    toRegionCode: string;
    fromSourceId: string | null;
    toSourceId: string;
  }[];
}

/**
 * An officer's history from the versioned register: records, assignments, changes and
 * transfers, with when (version, publication time, as_of) and why (the change reason). Null
 * for a NIP the register has never held. Personal data: for `province`/`admin` readers only.
 */
export async function getOfficerHistory(db: Db, nip: string): Promise<OfficerHistory | null> {
  const clean = nip.replace(/[\s.-]/g, '');
  const records = await db
    .selectFrom('officer_records')
    .selectAll()
    .where('nip', '=', clean)
    .orderBy('valid_from')
    .execute();
  if (records.length === 0) return null;
  const changes = await db
    .selectFrom('publication_changes as c')
    .innerJoin('publications as p', 'p.version', 'c.version')
    .select([
      'c.version',
      'p.published_at',
      'p.as_of',
      'c.change',
      'c.fields',
      'c.reason',
      'c.region_code',
      'c.source_id',
      'c.previous_region_code',
      'c.previous_source_id',
    ])
    .where('c.nip', '=', clean)
    .orderBy('c.version')
    .execute();
  const publishedAt = new Map(changes.map((c) => [c.version, asDate(c.published_at)]));
  const assignments: OfficerHistory['assignments'] = [];
  for (const r of records) {
    const last = assignments[assignments.length - 1];
    if (
      last &&
      last.sourceId === r.source_id &&
      last.regionCode === r.region_code &&
      last.unit === r.unit &&
      last.toVersion === r.valid_from
    ) {
      last.toVersion = r.valid_to;
      last.to = r.valid_to === null ? null : (publishedAt.get(r.valid_to) ?? null);
      continue;
    }
    assignments.push({
      sourceId: r.source_id,
      regionCode: r.region_code,
      unit: r.unit,
      fromVersion: r.valid_from,
      toVersion: r.valid_to,
      from: publishedAt.get(r.valid_from) ?? null,
      to: r.valid_to === null ? null : (publishedAt.get(r.valid_to) ?? null),
    });
  }
  const mapped: OfficerHistoryChange[] = changes.map((c) => ({
    version: c.version,
    publishedAt: asDate(c.published_at),
    asOf: c.as_of,
    change: c.change,
    fields: c.fields,
    reason: c.reason,
    regionCode: c.region_code,
    sourceId: c.source_id,
    previousRegionCode: c.previous_region_code,
    previousSourceId: c.previous_source_id,
  }));
  return {
    nip: clean,
    current: records.find((r) => r.valid_to === null) ?? null,
    records: records.map((r) => ({
      sourceId: r.source_id,
      regionCode: r.region_code,
      name: r.name,
      level: r.level,
      grade: r.grade,
      unit: r.unit,
      tmtJabatan: r.tmt_jabatan,
      status: r.status,
      active: r.active,
      pastRetirement: r.past_retirement,
      validFrom: r.valid_from,
      validTo: r.valid_to,
    })),
    assignments,
    changes: mapped,
    transfers: mapped
      .filter((c) => c.reason === 'transfer')
      .map((c) => ({
        version: c.version,
        at: c.publishedAt,
        asOf: c.asOf,
        fromRegionCode: c.previousRegionCode ?? c.regionCode,
        toRegionCode: c.regionCode,
        fromSourceId: c.previousSourceId,
        toSourceId: c.sourceId,
      })),
  };
}
