import { sql } from 'kysely';
import type { Db } from '../db.ts';

// `Generated<Timestamp>` columns select as the ColumnType wrapper in Kysely's types; pg gives a Date.
const asDate = (v: unknown): Date => v as Date;

/** R8 held mass removals: what an admin sees and confirms (reconciliation holds and applies them). */

/**
 * R8: an admin confirms the held mass removal of a source. The next reconcile covering the source
 * applies it (trigger a source run to apply it now). Returns whether a held removal was found and
 * how many officers it removes.
 */
export async function confirmRemoval(
  db: Db,
  input: { sourceId: string; by: string; reason: string },
): Promise<{ confirmed: boolean; nips: number }> {
  if (!input.sourceId) throw new Error('confirmRemoval: sourceId is required');
  if (!input.by?.trim()) throw new Error('confirmRemoval: by (who confirms) is required');
  if (!input.reason?.trim()) throw new Error('confirmRemoval: reason is required');
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
 * for a confirmation), newest first, optionally of one province or one source
 * (`GET /held-removals`, `pksync sources confirm-removal`).
 */
export async function listHeldRemovals(
  db: Db,
  options: { province?: string; sourceId?: string; waitingOnly?: boolean } = {},
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
  if (options.sourceId) q = q.where('h.source_id', '=', options.sourceId);
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
