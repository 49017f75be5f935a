import { sql } from 'kysely';
import type { ReconcileContext } from './context.ts';

/**
 * Phase 6, R12's formations of the re-read sources: a snapshot's formation rows replace the
 * source's formations for the years it gives (`fclose` → `fnew`); a snapshot without formation
 * rows leaves them as they are (e.g. a CSV source without a formation file). A key given by
 * another source is taken over.
 */
export async function replaceFormations(ctx: ReconcileContext, S: string[]): Promise<void> {
  const { trx, runId } = ctx;
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
  ctx.lap('formations');
}

/**
 * Phase 6, R16's workloads of the re-read sources (`wdes`): a snapshot's workload rows replace,
 * per region and year they give, every current workload row of that region and year, whichever
 * source had it; a snapshot without workload rows leaves them as they are. Two re-read sources
 * giving the same region and year: the smaller source id's set stands (one source's set per
 * region and year, never a mix). Written by {@link writeWorkloads}.
 */
export async function replaceWorkloads(ctx: ReconcileContext, S: string[]): Promise<void> {
  const { trx, runId } = ctx;
  await sql`
    create temporary table wdes on commit drop as
    select source_id, region_code, year, activity, volume, districts, complexity, position
    from (select w.*, min(w.source_id) over (partition by w.region_code, w.year) as keep
          from staged_workloads w where w.run_id = ${runId} and w.source_id = any(${S}::text[])) x
    where source_id = keep`.execute(trx);
  ctx.lap('workloads');
}

/**
 * Phase 7, writes `wdes` into `workloads`, touching only what differs (most nights a source sends
 * the same rows again). Workloads are not versioned: they change the computed needs (R16), not
 * the published register, so a change of workloads alone publishes no version.
 */
export async function writeWorkloads(ctx: ReconcileContext): Promise<void> {
  const { trx, runId } = ctx;
  await sql`
    delete from workloads w
    where exists (select 1 from wdes d where d.region_code = w.region_code and d.year = w.year)
      and not exists (select 1 from wdes d
                      where (d.region_code, d.year, d.activity, d.source_id, d.volume, d.position) =
                            (w.region_code, w.year, w.activity, w.source_id, w.volume, w.position)
                        and d.districts is not distinct from w.districts
                        and d.complexity is not distinct from w.complexity)`.execute(trx);
  await sql`
    insert into workloads (region_code, year, activity, source_id, volume, districts, complexity, position, run_id)
    select d.region_code, d.year, d.activity, d.source_id, d.volume, d.districts, d.complexity, d.position, ${runId}::uuid
    from wdes d
    where not exists (select 1 from workloads w
                      where (w.region_code, w.year, w.activity) = (d.region_code, d.year, d.activity))`.execute(trx);
  ctx.lap('publish:workloads');
}
