import { sql } from 'kysely';
import { currentRegisterTotals } from '../repositories/publication.repository.ts';
import { bulkLoadIndexes } from './bulk-load.ts';
import type { ReconcileContext } from './context.ts';

/** What a run changes in the register. */
export interface ChangeSizes {
  added: number;
  changed: number;
  removed: number;
  /** Formation rows closed plus inserted (R12). */
  formations: number;
  /** Active officers (R5) after the run minus before. */
  activeDelta: number;
}

export const NO_CHANGES: ChangeSizes = { added: 0, changed: 0, removed: 0, formations: 0, activeDelta: 0 };

/** The sizes of the diff, the removals and the formation changes, and the change of active officers. */
export async function changeSizes(ctx: ReconcileContext): Promise<ChangeSizes> {
  const { trx } = ctx;
  return (
    await sql<ChangeSizes>`
      select d.added, d.changed, r.removed,
             ((select count(*) from fclose) + (select count(*) from fnew))::int as formations,
             (d.active - d.prev_active - r.active)::int as "activeDelta"
      from (select count(*) filter (where change = 'added')::int as added,
                   count(*) filter (where change = 'changed')::int as changed,
                   count(*) filter (where active) as active, count(*) filter (where prev_active) as prev_active
            from diff) d,
           (select count(*)::int as removed, count(*) filter (where active) as active from rem) r`.execute(trx)
  ).rows[0]!;
}

/**
 * Phase 7, R14: publishes version n+1 — when officers or formations changed, and only then —
 * closing the rows it replaces and inserting the new ones and the diff (`publication_changes`),
 * with the indexes rebuilt once for a publication that writes most of a table. Returns the
 * version, or null when nothing changed.
 */
export async function publishVersion(ctx: ReconcileContext, sizes: ChangeSizes): Promise<number | null> {
  const { trx, runId, asOf } = ctx;
  let published: number | null = null;
  if (sizes.added + sizes.changed + sizes.removed + sizes.formations > 0) {
    const version = (
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
    const recordIndexes = await bulkLoadIndexes(trx, 'officer_records', inserted, ctx.bulkLoadRows);
    const changeIndexes = await bulkLoadIndexes(trx, 'publication_changes', inserted + sizes.removed, ctx.bulkLoadRows);
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
    ctx.lap('publish:records');
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
    ctx.lap('publish:changes');
    for (const def of rebuild) await sql.raw(def).execute(trx);
    ctx.lap('publish:indexes');
    await sql`update formations set valid_to = ${version}::int where id in (select id from fclose)`.execute(trx);
    await sql`
      insert into formations (source_id, region_code, year, level, need, approved, valid_from)
      select source_id, region_code, year, level, need, approved, ${version}::int from fnew`.execute(trx);
    published = version;
  }
  // After a large change, refresh the planner's statistics now rather than waiting for
  // autovacuum: the next (small) runs' index probes depend on them. Large is relative to the
  // register: a first load of 100,000 officers left with the statistics of an empty table makes
  // the next region re-sync scan the register for every NIP it looks up.
  const rows = sizes.added + sizes.changed + sizes.removed;
  if (rows >= ANALYZE_MIN_ROWS && (rows > 100_000 || rows >= ANALYZE_SHARE * (await estimatedRows(ctx)))) {
    await sql`analyze officer_records`.execute(trx);
    await sql`analyze staged_officers`.execute(trx);
    ctx.lap('publish:analyze');
  }
  return published;
}

/** A publication writing fewer rows never refreshes statistics (autovacuum's job). */
const ANALYZE_MIN_ROWS = 10_000;
/** …nor one writing less than this share of the register (autovacuum analyses at 10% too). */
const ANALYZE_SHARE = 0.1;

/** The planner's estimate of `officer_records`' rows (0 for a table never analysed). */
async function estimatedRows(ctx: ReconcileContext): Promise<number> {
  const r = await sql<{ n: number }>`
    select greatest(reltuples, 0)::float8 as n from pg_class where oid = 'officer_records'::regclass`.execute(ctx.trx);
  return Number(r.rows[0]?.n ?? 0);
}

/**
 * The register's officers and active officers before the run: the latest version's counts (read
 * before this run publishes), counted only while no version has them.
 */
export async function totalsBefore(ctx: ReconcileContext): Promise<{ officers: number; active: number }> {
  return currentRegisterTotals(ctx.trx);
}

/**
 * The register's totals after the run — the previous version's plus this run's changes (a count
 * of the whole register would cost a national run's time for one region's re-sync) — written
 * into the new publication's counts.
 */
export async function registerTotals(
  ctx: ReconcileContext,
  version: number | null,
  sizes: ChangeSizes,
  before: { officers: number; active: number },
): Promise<{ added: number; removed: number; changed: number; active: number; officers: number }> {
  const { trx } = ctx;
  const totals =
    version === null
      ? before
      : { officers: before.officers + sizes.added - sizes.removed, active: before.active + sizes.activeDelta };
  const counts = { added: sizes.added, removed: sizes.removed, changed: sizes.changed, ...totals };
  if (version !== null) {
    await sql`update publications set counts = ${JSON.stringify({ ...counts, formations_changed: sizes.formations })}::jsonb
              where version = ${version}`.execute(trx);
  }
  ctx.lap('publish');
  return counts;
}
