import { sql, type Selectable } from 'kysely';
import type { Db } from '../db.ts';
import type { PublicationTable } from '../schema.ts';

/** One published version of the register (R14). */
export interface PublicationInfo {
  version: number;
  runId: string;
  asOf: string;
  publishedAt: Date;
  /** `{ added, removed, changed, active, officers, formations_changed }` at publication. */
  counts: Record<string, unknown>;
}

const toInfo = (r: Selectable<PublicationTable>): PublicationInfo => ({
  version: r.version,
  runId: r.run_id,
  asOf: r.as_of,
  // Generated<Timestamp> selects as the ColumnType wrapper in Kysely's types; pg gives a Date.
  publishedAt: r.published_at as unknown as Date,
  counts: r.counts as unknown as Record<string, unknown>,
});

/** One publication, or null when that version was never published. */
export async function getPublication(db: Db, version: number): Promise<PublicationInfo | null> {
  if (!Number.isSafeInteger(version)) return null;
  const row = await db.selectFrom('publications').selectAll().where('version', '=', version).executeTakeFirst();
  return row ? toInfo(row) : null;
}

/**
 * Publications, newest first; keyset by version: `afterVersion` is the last version of the
 * previous page (the next page holds the versions below it).
 */
export async function listPublications(
  db: Db,
  options: { limit?: number; afterVersion?: number } = {},
): Promise<PublicationInfo[]> {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 1001);
  let q = db.selectFrom('publications').selectAll().orderBy('version', 'desc').limit(limit);
  if (options.afterVersion !== undefined) q = q.where('version', '<', options.afterVersion);
  return (await q.execute()).map(toInfo);
}

/**
 * Officers and active officers in the current register. Only a publication changes the register,
 * so these are the latest version's figures; counted from the register only while no version
 * exists. Call it under the reconciliation lock (inside `reconcileRun`) for an exact answer.
 */
export async function currentRegisterTotals(db: Db): Promise<{ officers: number; active: number }> {
  const latest = await db
    .selectFrom('publications')
    .select('counts')
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  const c = (latest?.counts ?? {}) as { officers?: unknown; active?: unknown };
  if (typeof c.officers === 'number' && typeof c.active === 'number') return { officers: c.officers, active: c.active };
  const t = await sql<{ officers: number; active: number }>`
    select count(*)::int as officers, (count(*) filter (where active))::int as active
    from officer_records where valid_to is null`.execute(db);
  return t.rows[0]!;
}
