import { sql } from 'kysely';
import type { ReconcileContext } from './context.ts';
import type { RunSources } from './sources.phase.ts';

/**
 * Phase 2, the NIPs the run touches (`aff`) and their R10 candidates (`cand`): the new
 * snapshots, the register's entries of sources not re-read (minus held removals being applied),
 * and what other agencies last listed (their listings' staged rows), each with the columns a
 * register row derives — province and R11 `past_retirement` on `as_of`.
 */
export async function collectCandidates(ctx: ReconcileContext, src: RunSources): Promise<void> {
  const { trx, runId, asOf } = ctx;
  const S = src.snapshotSources;
  const sRegions = src.regions;
  const sProvinces = src.provinces;
  await sql`
    create temporary table aff on commit drop as
    select nip from staged_officers where run_id = ${runId} and source_id = any(${S}::text[])
    union
    select nip from officer_records
    where valid_to is null and source_id = any(${S}::text[])
      -- A source's rows carry its region (R4): found through the current-region index.
      and province_code = any(${sProvinces}::text[]) and region_code = any(${sRegions}::text[])
    union
    select nip from h_apply
    union
    -- R10 findings a re-read source was given: re-evaluated even if it no longer lists the NIP.
    select nip from findings
    where status <> 'resolved' and nip is not null and source_id = any(${S}::text[])
      and code in ('transferred_officer_still_listed', 'conflicting_assignment')`.execute(trx);
  await sql`analyze aff`.execute(trx);
  ctx.lap('candidates:nips');

  // Few NIPs (a region re-sync): look each one up in the listings by the NIP index; many (a
  // national run): one hash join over the listings.
  const affCount = Number((await sql<{ n: number }>`select count(*)::int as n from aff`.execute(trx)).rows[0]?.n ?? 0);
  // (LATERAL makes the lookup a per-NIP index probe whatever the planner's statistics.)
  const few = affCount < 50_000;
  const listingRows = few
    ? sql`aff a
        cross join lateral (select * from staged_officers x where x.nip = a.nip) so
        join source_listings l on l.run_id = so.run_id and l.source_id = so.source_id`
    : sql`source_listings l
        join staged_officers so on so.run_id = l.run_id and so.source_id = l.source_id
        join aff a on a.nip = so.nip`;
  const registerRows = few
    ? sql`aff a cross join lateral (select * from officer_records x where x.nip = a.nip and x.valid_to is null) o`
    : sql`officer_records o join aff a on a.nip = o.nip`;
  // R10 candidates for those NIPs: the new snapshots; the register's entries of sources not
  // re-read (minus held removals being applied); what other agencies last listed. Each with
  // the columns a register row derives (province, R11 past retirement), so that the winners
  // are this table minus the losers.
  await sql`
    create temporary table cand on commit drop as
    select u.*, left(u.region_code, 2) as province_code,
           coalesce(u.active and u.birth_date <= lv.born_by, false) as past_retirement
    from (
    select so.source_id, so.nip, so.name, so.name_normalised, so.gender, so.birth_date, so.level, so.grade,
           so.unit, so.region_code, so.tmt_jabatan, so.status, so.active, so.email, so.phone, so.source_updated_at
    from staged_officers so
    where so.run_id = ${runId} and so.source_id = any(${S}::text[])
    union all
    select o.source_id, o.nip, o.name, o.name_normalised, o.gender, o.birth_date, o.level, o.grade,
           o.unit, o.region_code, o.tmt_jabatan, o.status, o.active, o.email, o.phone, o.source_updated_at
    from ${registerRows}
    where o.valid_to is null and o.source_id <> all(${S}::text[])
      and not exists (select 1 from h_apply h where h.nip = o.nip and h.source_id = o.source_id)
    union all
    select so.source_id, so.nip, so.name, so.name_normalised, so.gender, so.birth_date, so.level, so.grade,
           so.unit, so.region_code, so.tmt_jabatan, so.status, so.active, so.email, so.phone, so.source_updated_at
    from ${listingRows}
    where l.source_id <> all(${S}::text[])
      and not exists (
        select 1 from officer_records o where o.nip = so.nip and o.valid_to is null and o.source_id = so.source_id)
    ) u
    -- R11: at least retirement_age full years old on as_of, i.e. born on or before as_of
    -- minus those years (the same test as age(), one date comparison per row). Production; its
    -- oracle is isPastRetirement (@pksync/core), pinned by oracles.int.test.ts.
    left join (
      select code, (${asOf}::date - make_interval(years => retirement_age))::date as born_by from levels
    ) lv on lv.code = u.level`.execute(trx);
  ctx.lap('candidates:rows');
}

/**
 * Phase 3, R10: orders the candidates of each contested NIP (`contenders`, kept for the R10
 * findings) and deletes the losers; what is left of `cand` is the winners, renamed `win`.
 */
export async function chooseWinners(ctx: ReconcileContext): Promise<void> {
  const { trx } = ctx;

  // R10 order, production (its oracle: compareCandidates/resolveAssignment in @pksync/core,
  // pinned by register.int.test.ts "R10 in SQL matches the pure decision"): active first, later
  // tmt_jabatan, the registered assignment, the smaller region code, the smaller source id.
  // Most NIPs have one candidate: only the contested ones are ordered. Their candidates are kept
  // apart (for the R10 findings), the losers deleted, and what is left is the winners: \`win\`
  // (no copy of a first load's million rows).
  await sql`
    create temporary table contested on commit drop as
    select nip from cand group by nip having count(*) > 1`.execute(trx);
  await sql`
    create temporary table contenders on commit drop as
    select c.*, c.ctid as tid, row_number() over (
             partition by c.nip
             order by c.active desc, c.tmt_jabatan desc, coalesce(c.source_id = cur.source_id, false) desc,
                      c.region_code, c.source_id) as rank
    from cand c
    left join officer_records cur on cur.nip = c.nip and cur.valid_to is null
    -- (a hash semi-join: a join on cand, which has no statistics yet, was planned as a sort of all of it)
    where exists (select 1 from contested x where x.nip = c.nip)`.execute(trx);
  await sql`
    delete from cand where ctid = any(array(select tid from contenders where rank > 1))`.execute(trx);
  await sql`alter table cand rename to win`.execute(trx);
  await sql`analyze win`.execute(trx);
  ctx.lap('candidates:winners');
}
