import { sql } from 'kysely';
import { isMassRemoval } from '@pksync/core';
import type { ReconcileContext } from './context.ts';

/**
 * Phase 4, R8: the register rows no winner keeps (`gone`) leave the register (`rem`) — unless
 * their source's removals trip the mass-removal guard: then they are held (`held_removals`) and
 * stay published until confirmed or seen again. Held removals this run applies are marked
 * applied (or superseded, when every held officer came back).
 */
export async function decideRemovals(ctx: ReconcileContext, applyHoldIds: number[]): Promise<void> {
  const { trx, runId } = ctx;
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
  ctx.lap('removals');
}
