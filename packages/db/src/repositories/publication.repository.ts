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

export interface PublicationDiffEntry {
  nip: string;
  change: 'added' | 'removed' | 'changed';
  /** Changed field names for 'changed' (`region_code`, `grade`, `past_retirement`, …). */
  fields: string[];
  /** `new`, `updated`, `transfer` (R10), `retirement_age` (R11), `disappeared` (R8), `removal_confirmed`, `removal_repeated`. */
  reason: string;
  regionCode: string;
  provinceCode: string;
  sourceId: string;
  previousRegionCode: string | null;
  previousSourceId: string | null;
}

export interface PublicationDiff {
  version: number;
  /** Totals of the whole diff (not only this page), within the province filter if given. */
  totals: { added: number; removed: number; changed: number };
  changes: PublicationDiffEntry[];
  /** Pass as `after` for the next page; null on the last page. */
  nextCursor: string | null;
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

/** Publications, newest first; `before` pages back (versions lower than it). */
export async function listPublications(
  db: Db,
  options: { limit?: number; before?: number } = {},
): Promise<PublicationInfo[]> {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 1000);
  let q = db.selectFrom('publications').selectAll().orderBy('version', 'desc').limit(limit);
  if (options.before !== undefined) q = q.where('version', '<', options.before);
  return (await q.execute()).map(toInfo);
}

/**
 * The diff of a version: officers added, removed and changed (with the fields and the reason),
 * paged by NIP (`after` = the previous page's `nextCursor`), optionally for one province or one
 * kind of change. Null when that version was never published.
 *
 * @example
 * let page = await getPublicationDiff(db, 7, { province: '16', limit: 500 });
 * while (page?.nextCursor) page = await getPublicationDiff(db, 7, { province: '16', after: page.nextCursor });
 */
export async function getPublicationDiff(
  db: Db,
  version: number,
  options: { limit?: number; after?: string; province?: string; change?: 'added' | 'removed' | 'changed' } = {},
): Promise<PublicationDiff | null> {
  if (!(await getPublication(db, version))) return null;
  const limit = Math.min(Math.max(options.limit ?? 1000, 1), 10_000);
  let totalsQ = db
    .selectFrom('publication_changes')
    .select(['change', (eb) => eb.fn.countAll<number>().as('n')])
    .where('version', '=', version)
    .groupBy('change');
  if (options.province) totalsQ = totalsQ.where('province_code', '=', options.province);
  const totals = { added: 0, removed: 0, changed: 0 };
  for (const t of await totalsQ.execute()) totals[t.change] = Number(t.n);

  let q = db
    .selectFrom('publication_changes')
    .selectAll()
    .where('version', '=', version)
    .orderBy('nip')
    .limit(limit + 1);
  if (options.province) q = q.where('province_code', '=', options.province);
  if (options.change) q = q.where('change', '=', options.change);
  if (options.after) q = q.where('nip', '>', options.after);
  const rows = await q.execute();
  const page = rows.slice(0, limit);
  return {
    version,
    totals,
    changes: page.map((r) => ({
      nip: r.nip,
      change: r.change,
      fields: r.fields,
      reason: r.reason,
      regionCode: r.region_code,
      provinceCode: r.province_code,
      sourceId: r.source_id,
      previousRegionCode: r.previous_region_code,
      previousSourceId: r.previous_source_id,
    })),
    nextCursor: rows.length > limit ? (page[page.length - 1]?.nip ?? null) : null,
  };
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
