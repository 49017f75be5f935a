import { sql } from 'kysely';
import { computeNeeds, retiringCutoff, type ComputedNeed, type Complexity } from '@pksync/core';
import { levels } from '@pksync/reference';
import { needParametersInForce, type StoredNeedParameters } from '../repositories/need-parameters.repository.ts';
import type { ReconcileContext } from './context.ts';
import { WIDE_FROM_REGIONS } from './scope.phase.ts';

/** What the needs phase leaves for the R16–R18 findings. */
export interface NeedsState {
  /**
   * R17/R18 (and R16's `workload_missing`) were evaluated over every region — register-wide, most
   * regions touched, or the outlook never computed — else only over `treg`.
   */
  wide: boolean;
  /** The parameter set version in force on `as_of`, or null before the first. */
  parameters: StoredNeedParameters | null;
  /** R16's computed needs of `as_of`'s year, of the regions in `needRegions` (empty without a parameter set). */
  computed: ComputedNeed[];
  /**
   * Where R16 was evaluated: null for every region (a national run), else a scoped run's regions
   * and those it touched (`sreg` ∪ `treg`).
   */
  needRegions: string[] | null;
}

/**
 * Phase 6c, the regions the run touched (`treg`): where its winners, contenders, removals,
 * transfers' previous regions, formations and workloads lie (the dated regions join it, see
 * `addDatedRegions`). R12 and R17/R18 re-evaluate only these unless the run is register-wide.
 * A quiet run touches none.
 */
export async function collectTouchedRegions(ctx: ReconcileContext, quiet: boolean): Promise<void> {
  const { trx } = ctx;
  if (quiet) await sql`create temporary table treg (region_code text) on commit drop`.execute(trx);
  else
    await sql`
      create temporary table treg on commit drop as
      select region_code from win
      union select region_code from contenders
      union select region_code from gone
      union select prev_region_code from diff where prev_region_code is not null
      union select region_code from fdes
      union select f.region_code from formations f join fclose c on c.id = f.id
      union select region_code from wdes`.execute(trx);
  ctx.lap('regions');
}

/**
 * Phase 8, the needs (needs-planning-v1.md): R18's `retirement_outlook` refreshed for the
 * regions in scope (also the `terisi` GET /needs shows, so exact after every run that changed
 * officers; each row carries the `as_of` its region was evaluated on), then R16's
 * `computed_needs` of `as_of`'s year recomputed — on every run, quiet ones too, because a
 * parameter version added since the last run may now be in force: for every region in a
 * national run (a few thousand workload rows: milliseconds), for its regions and those it
 * touched in a scoped run.
 */
export async function refreshNeeds(ctx: ReconcileContext): Promise<NeedsState> {
  // One scan for a national run touching most regions (the same result, faster); a scoped run
  // never evaluates regions outside its scope (their outlook stays on their own as_of).
  const wide =
    ctx.registerWide || (ctx.national && (await manyRegionsTouched(ctx))) || (await outlookNeverComputed(ctx));
  await refreshOutlook(ctx, wide);
  ctx.lap('needs:outlook');
  const needRegions = ctx.national
    ? null
    : (
        await sql<{ region_code: string }>`
          select region_code from treg union select region_code from sreg`.execute(ctx.trx)
      ).rows.map((r) => r.region_code);
  const { parameters, computed } = await refreshComputedNeeds(ctx, needRegions);
  ctx.lap('needs');
  return { wide, parameters, computed, needRegions };
}

/** A national run re-reading most sources: evaluated over every region (the same result, faster). */
async function manyRegionsTouched(ctx: ReconcileContext): Promise<boolean> {
  const r = await sql<{ n: number }>`select count(*)::int as n from treg`.execute(ctx.trx);
  return (r.rows[0]?.n ?? 0) >= WIDE_FROM_REGIONS;
}

/**
 * The outlook is kept incrementally between register-wide runs; a register with active officers
 * and no outlook row at all (the first run after migration 0011 on the same `as_of`) has never
 * had it computed: then every region is evaluated.
 */
async function outlookNeverComputed(ctx: ReconcileContext): Promise<boolean> {
  const r = await sql<{ missing: boolean }>`
    select not exists (select 1 from retirement_outlook)
           and exists (select 1 from officer_records where valid_to is null and active) as missing`.execute(ctx.trx);
  return r.rows[0]?.missing ?? false;
}

/**
 * R18 in SQL, production; its oracle is `retirementOutlook` (@pksync/core), pinned by
 * needs.oracles.int.test.ts. One grouped scan of the active officers of the regions in scope
 * (`nout`): per region and level, how many, how many born on or before each horizon's cut-off
 * (core `retiringCutoff`, computed here and passed in: no date arithmetic in SQL), and — for R17
 * — how many were appointed before its start year. Then `retirement_outlook` is brought to it:
 * rows of regions/levels in scope without active officers deleted, changed rows written.
 */
async function refreshOutlook(ctx: ReconcileContext, wide: boolean): Promise<void> {
  const { trx, asOf } = ctx;
  const cut = (h: number) => levels.map((l) => retiringCutoff(asOf, h, l.retirementAge));
  const startDate = `${String(ctx.needs.formationStartYear).padStart(4, '0')}-01-01`;
  // Incremental: the regions' officers probed by the current-region index (`offset 0` keeps the
  // lateral a per-region probe; flattened, a rare filter made the planner scan the register).
  const officers = wide
    ? sql`officer_records o`
    : sql`treg t cross join lateral (
            select x.region_code, x.level, x.birth_date, x.tmt_jabatan, x.active, x.valid_to from officer_records x
            where x.valid_to is null and x.province_code = left(t.region_code, 2) and x.region_code = t.region_code
            offset 0) o`;
  await sql`
    create temporary table nout on commit drop as
    select o.region_code, o.level, count(*)::int as active,
           (count(*) filter (where o.birth_date <= c.c1))::int as retiring_1,
           (count(*) filter (where o.birth_date <= c.c3))::int as retiring_3,
           (count(*) filter (where o.birth_date <= c.c5))::int as retiring_5,
           (count(*) filter (where o.tmt_jabatan < ${startDate}::date))::int as before_start
    from ${officers}
    left join unnest(${levels.map((l) => l.code)}::text[], ${cut(1)}::date[], ${cut(3)}::date[], ${cut(5)}::date[])
           as c(level, c1, c3, c5) on c.level = o.level
    where o.valid_to is null and o.active
    group by o.region_code, o.level`.execute(trx);
  const inScope = wide ? sql`true` : sql`r.region_code in (select region_code from treg)`;
  await sql`
    delete from retirement_outlook r
    where ${inScope}
      and not exists (select 1 from nout n where n.region_code = r.region_code and n.level = r.level)`.execute(trx);
  await sql`
    insert into retirement_outlook as r
      (region_code, level, province_code, as_of, active, retiring_1, retiring_3, retiring_5)
    select n.region_code, n.level, left(n.region_code, 2), ${asOf}::date, n.active, n.retiring_1, n.retiring_3,
           n.retiring_5
    from nout n
    on conflict (region_code, level) do update set
      province_code = excluded.province_code, as_of = excluded.as_of, active = excluded.active,
      retiring_1 = excluded.retiring_1, retiring_3 = excluded.retiring_3, retiring_5 = excluded.retiring_5
    where (r.province_code, r.as_of, r.active, r.retiring_1, r.retiring_3, r.retiring_5)
          is distinct from (excluded.province_code, excluded.as_of, excluded.active, excluded.retiring_1,
                            excluded.retiring_3, excluded.retiring_5)`.execute(trx);
}

/**
 * R16, production in @pksync/core (`computeNeeds`): the register's workload rows of `as_of`'s
 * year with the parameter version in force on `as_of` replace that year's `computed_needs` (of
 * every region, or of `regions`; rows whose figures did not change are left alone). No version in
 * force: the year has no computed need. Other years' rows stay (each was computed by a run of its
 * year: replayable by `as_of`).
 */
async function refreshComputedNeeds(
  ctx: ReconcileContext,
  regions: string[] | null,
): Promise<{ parameters: StoredNeedParameters | null; computed: ComputedNeed[] }> {
  const { trx, runId, asOf, year } = ctx;
  const parameters = await needParametersInForce(trx, asOf);
  let computed: ComputedNeed[] = [];
  if (parameters) {
    const rows = await trx
      .selectFrom('workloads')
      .select(['region_code', 'year', 'activity', 'volume', 'districts', 'complexity', 'position'])
      .where('year', '=', year)
      .$if(regions !== null, (q) => q.where('region_code', '=', sql<string>`any(${regions}::text[])`))
      .execute();
    computed = computeNeeds(
      parameters.parameters,
      year,
      rows.map((w) => ({
        regionCode: w.region_code,
        year: w.year,
        activity: w.activity,
        volume: w.volume,
        districts: w.districts,
        complexity: w.complexity as Complexity | null,
        position: w.position,
      })),
    );
  }
  await sql`
    create temporary table cneed on commit drop as
    select * from jsonb_to_recordset(${JSON.stringify(
      computed.map((c) => ({
        region_code: c.regionCode,
        level: c.level,
        need: c.need,
        exact: c.exact,
        area_factor: c.areaFactor,
        complexity_factor: c.complexityFactor,
        parameter_version: c.parameterVersion,
      })),
    )}::jsonb) as x(region_code text, level text, need integer, exact numeric, area_factor numeric,
                    complexity_factor numeric, parameter_version text)`.execute(trx);
  await sql`
    delete from computed_needs c
    where c.year = ${year}::int
      and ${regions === null ? sql`true` : sql`c.region_code = any(${regions}::text[])`}
      and not exists (select 1 from cneed n where n.region_code = c.region_code and n.level = c.level)`.execute(trx);
  await sql`
    insert into computed_needs as c
      (region_code, year, level, province_code, need, exact, area_factor, complexity_factor, parameter_version,
       as_of, run_id)
    select n.region_code, ${year}::int, n.level, left(n.region_code, 2), n.need, n.exact, n.area_factor,
           n.complexity_factor, n.parameter_version, ${asOf}::date, ${runId}::uuid
    from cneed n
    on conflict (region_code, year, level) do update set
      province_code = excluded.province_code, need = excluded.need, exact = excluded.exact,
      area_factor = excluded.area_factor, complexity_factor = excluded.complexity_factor,
      parameter_version = excluded.parameter_version, as_of = excluded.as_of, run_id = excluded.run_id
    where (c.province_code, c.need, c.exact, c.area_factor, c.complexity_factor, c.parameter_version, c.as_of)
          is distinct from (excluded.province_code, excluded.need, excluded.exact, excluded.area_factor,
                            excluded.complexity_factor, excluded.parameter_version, excluded.as_of)`.execute(trx);
  return { parameters, computed };
}
