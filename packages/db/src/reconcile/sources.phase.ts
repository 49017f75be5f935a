import { sql } from 'kysely';
import { heldRemovalOutcome } from '@pksync/core';
import { lostStagedSources } from '../repositories/staging.repository.ts';
import { ReconcileError, StagedRowsLostError, type ReconcileContext } from './context.ts';

export type FetchOutcome = 'succeeded' | 'unchanged' | 'failed';

export interface FetchRow {
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

/** Which sources a run covers and how (R9), and the held removals (R8) it applies. */
export interface RunSources {
  fetchRows: FetchRow[];
  /** Covered sources (their fetch finished) → how. */
  outcome: Map<string, FetchOutcome>;
  coveredSources: string[];
  /** S: the sources whose new snapshot replaces their register entries. */
  snapshotSources: string[];
  /** Their regions and provinces (the register's rows of S are found through them). */
  regions: string[];
  provinces: string[];
  /** Held removals (R8) this run applies. */
  applyHoldIds: number[];
}

/**
 * Phase 1, R9 and R8: reads the run's fetches — `succeeded` → the staged snapshot replaces the
 * source's entries (unless a newer one was already reconciled: then it counts as unchanged),
 * `unchanged`/`failed` → its entries stay, `pending`/`running` → not covered — and decides what
 * happens to the covered sources' open held removals (a later look or a confirmation applies one).
 * Staged rows lost (a crash) are an error here, never an empty snapshot.
 */
export async function readRunSources(ctx: ReconcileContext): Promise<RunSources> {
  const { trx, runId } = ctx;
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
  return {
    fetchRows,
    outcome,
    coveredSources,
    snapshotSources: S,
    regions: sRegions,
    provinces: sProvinces,
    applyHoldIds,
  };
}

/** Staged rows lost (UNLOGGED tables are emptied by a server crash) must not read as an empty snapshot. */
async function assertStagedRowsPresent(trx: ReconcileContext['trx'], runId: string, S: string[]): Promise<void> {
  const lost = await lostStagedSources(trx, runId, S);
  if (lost.length) throw new StagedRowsLostError(runId, lost);
}

/** The officers of the held removals this run applies (R8), as `h_apply`. */
export async function createHoldApply(ctx: ReconcileContext, applyHoldIds: number[]): Promise<void> {
  const { trx } = ctx;
  await sql`
    create temporary table h_apply on commit drop as
    select unnest(h.nips) as nip, h.source_id, h.id as hold_id,
           case when h.status = 'confirmed' then 'removal_confirmed' else 'removal_repeated' end as reason
    from held_removals h where h.id = any(${applyHoldIds}::bigint[])`.execute(trx);
}
