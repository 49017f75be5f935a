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
