import { sql } from 'kysely';
import type { ReconcileContext } from './context.ts';

/**
 * Phase 5, R14's diff: the winners that are new or differ from their register row (`diff`, with
 * the fields that changed). R11's flips of register rows the run did not touch are added by
 * {@link flagRetirement}, once the regions to evaluate are known.
 */
export async function computeDiff(ctx: ReconcileContext): Promise<void> {
  const { trx } = ctx;
  await sql`
    create temporary table diff on commit drop as
    select w.*, cur.id as cur_id, cur.region_code as prev_region_code, cur.source_id as prev_source_id,
           cur.active as prev_active,
           case when cur.id is null then 'added' else 'changed' end as change,
           case when cur.id is null then '{}'::text[] else array_remove(array[
             case when w.source_id is distinct from cur.source_id then 'source_id' end,
             case when w.region_code is distinct from cur.region_code then 'region_code' end,
             case when (w.name, w.name_normalised) is distinct from (cur.name, cur.name_normalised) then 'name' end,
             case when w.gender is distinct from cur.gender then 'gender' end,
             case when w.birth_date is distinct from cur.birth_date then 'birth_date' end,
             case when w.level is distinct from cur.level then 'level' end,
             case when w.grade is distinct from cur.grade then 'grade' end,
             case when w.unit is distinct from cur.unit then 'unit' end,
             case when w.tmt_jabatan is distinct from cur.tmt_jabatan then 'tmt_jabatan' end,
             case when w.status is distinct from cur.status then 'status' end,
             case when w.email is distinct from cur.email then 'email' end,
             case when w.phone is distinct from cur.phone then 'phone' end,
             case when w.past_retirement is distinct from cur.past_retirement then 'past_retirement' end
           ], null) end as fields
    from win w
    left join officer_records cur on cur.nip = w.nip and cur.valid_to is null
    where cur.id is null
       or (w.source_id, w.region_code, w.name, w.name_normalised, w.gender, w.birth_date, w.level, w.grade,
           w.unit, w.tmt_jabatan, w.status, w.active, w.email, w.phone, w.past_retirement)
          is distinct from
          (cur.source_id, cur.region_code, cur.name, cur.name_normalised, cur.gender, cur.birth_date, cur.level,
           cur.grade, cur.unit, cur.tmt_jabatan, cur.status, cur.active, cur.email, cur.phone, cur.past_retirement)`.execute(
    trx,
  );
  ctx.lap('diff');
}

/**
 * Phase 6b, R11 on the run's `as_of` over register rows the run did not touch: every row when the
 * evaluation is register-wide (a national run on a new `as_of`), else the rows of the dated
 * regions (`dreg`: evaluated on another `as_of` until now), probed by the current-region index.
 * Their `past_retirement` flips join the diff (reason `retirement_age`). Production; its oracle
 * is isPastRetirement (@pksync/core), pinned by oracles.int.test.ts.
 */
export async function flagRetirement(ctx: ReconcileContext): Promise<void> {
  const { trx, asOf } = ctx;
  // (`offset 0` keeps the lateral a per-region probe, as in the needs phase.)
  const rows = ctx.registerWide
    ? sql`officer_records cur`
    : sql`dreg d cross join lateral (
            select x.* from officer_records x
            where x.valid_to is null and x.province_code = left(d.region_code, 2) and x.region_code = d.region_code
            offset 0) cur`;
  await sql`
    insert into diff
    select cur.source_id, cur.nip, cur.name, cur.name_normalised, cur.gender, cur.birth_date, cur.level, cur.grade,
           cur.unit, cur.region_code, cur.tmt_jabatan, cur.status, cur.active, cur.email, cur.phone,
           cur.source_updated_at, cur.province_code, not cur.past_retirement,
           cur.id, cur.region_code, cur.source_id, cur.active, 'changed', array['past_retirement']
    from ${rows}
    join levels lv on lv.code = cur.level
    where cur.valid_to is null
      and cur.past_retirement <> (cur.active and extract(year from age(${asOf}::date, cur.birth_date)) >= lv.retirement_age)
      and not exists (select 1 from win w where w.nip = cur.nip)
      and not exists (select 1 from gone g where g.nip = cur.nip)`.execute(trx);
  ctx.lap('diff:retirement');
}
