import { sql } from 'kysely';
import type { ReconcileContext } from './context.ts';
import { STAGED_ROW_TABLES } from '../repositories/staging.repository.ts';

/**
 * Phase 10, staging bookkeeping: the re-read snapshots become their sources' listings (R10 reads
 * what other agencies list from them); older snapshots of those sources are no longer anyone's
 * listing and their rows are dropped (an older run still in flight then sees its snapshot
 * superseded and keeps the newer one).
 */
export async function recordListings(ctx: ReconcileContext, S: string[]): Promise<void> {
  const { trx, runId } = ctx;
  if (S.length) {
    await sql`
      update staged_snapshots set reconciled_at = now()
      where run_id = ${runId} and source_id = any(${S}::text[])`.execute(trx);
    await sql`
      insert into source_listings (source_id, run_id, staged_at, reconciled_at)
      select source_id, run_id, staged_at, now() from staged_snapshots
      where run_id = ${runId} and source_id = any(${S}::text[])
      on conflict (source_id) do update set
        run_id = excluded.run_id, staged_at = excluded.staged_at, reconciled_at = excluded.reconciled_at`.execute(trx);
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
    // Statistics first: planned without them, the deletes below hashed whole staging tables (a
    // million rows) to drop one source's snapshot.
    await sql`analyze discard`.execute(trx);
    for (const { table } of STAGED_ROW_TABLES) {
      await sql`delete from ${sql.table(table)} t using discard d
                where t.run_id = d.run_id and t.source_id = d.source_id`.execute(trx);
    }
  }
  ctx.lap('bookkeeping');
}
