import { sql, type Transaction } from 'kysely';
import type { Database } from '../../schema.ts';
import { desc, finding } from './codes.ts';

/**
 * R11 flags and R12 formation findings after this run: over the whole register when the
 * evaluation is register-wide, else over what the run touched and the dated regions. Production;
 * the oracles are isPastRetirement/ageOn and formationFindings (@pksync/core), pinned to this SQL
 * by oracles.int.test.ts.
 */
export async function bufferRegisterFindings(
  trx: Transaction<Database>,
  asOf: string,
  year: number,
  registerWide: boolean,
): Promise<void> {
  // Incremental: only the NIPs this run touched (aff) and the officers of the dated regions
  // (dreg: flagged on this as_of by flagRetirement), and the regions of treg (the dated ones
  // included), probed by index. An officer in both is buffered twice: merged by fingerprint.
  const officers = registerWide
    ? sql`officer_records o`
    : sql`(select y.* from aff a
           cross join lateral (select * from officer_records x where x.nip = a.nip and x.valid_to is null) y
           union all
           select y.* from dreg d
           cross join lateral (
             select * from officer_records x
             where x.valid_to is null and x.province_code = left(d.region_code, 2) and x.region_code = d.region_code
             offset 0) y) o`;
  const activeRows = registerWide
    ? sql`officer_records o`
    : sql`treg t cross join lateral (
            select x.region_code, x.level, x.active, x.valid_to from officer_records x
            where x.valid_to is null and x.province_code = left(t.region_code, 2) and x.region_code = t.region_code) o`;
  const regionFilter = registerWide ? sql`true` : sql`region_code in (select region_code from treg)`;
  const p = finding('past_retirement_age');
  await sql`
    insert into finding_buffer (fingerprint, code, severity, province_code, region_code, source_id, nip, message, details)
    select ${p.code}::text || '|' || o.nip, ${p.code}::text, ${p.severity}::text, o.province_code, o.region_code, o.source_id, o.nip,
           format('%s: %s (NIP %s), %s, berusia %s tahun pada %s; batas usia pensiun %s tahun',
                  ${desc('past_retirement_age')}::text, o.name, o.nip, lv.name,
                  extract(year from age(${asOf}::date, o.birth_date))::int, ${asOf}::text, lv.retirement_age),
           jsonb_build_object('age', extract(year from age(${asOf}::date, o.birth_date))::int,
                              'retirementAge', lv.retirement_age, 'level', o.level, 'asOf', ${asOf}::text)
    from ${officers} join levels lv on lv.code = o.level
    where o.valid_to is null and o.past_retirement`.execute(trx);
  const m = finding('formation_missing');
  const over = finding('over_formation');
  await sql`
    with terisi as (
      select o.region_code, o.level, count(*)::int as n from ${activeRows}
      where o.valid_to is null and o.active group by o.region_code, o.level),
    fyear as (select region_code, level, approved, need from formations
              where valid_to is null and year = ${year}::int and ${regionFilter})
    insert into finding_buffer (fingerprint, code, severity, province_code, region_code, message, details)
    select ${m.code}::text || '|' || t.region_code || '|' || ${year}::text, ${m.code}::text, ${m.severity}::text, left(t.region_code, 2),
           t.region_code,
           format('%s: wilayah %s, tahun %s, %s pejabat aktif', ${desc('formation_missing')}::text, t.region_code, ${year}::int,
                  sum(t.n)),
           jsonb_build_object('year', ${year}::int, 'active', sum(t.n))
    from terisi t
    where not exists (select 1 from fyear f where f.region_code = t.region_code)
    group by t.region_code
    union all
    select ${over.code}::text || '|' || t.region_code || '|' || ${year}::text || '|' || t.level, ${over.code}::text, ${over.severity}::text,
           left(t.region_code, 2), t.region_code,
           format('%s: wilayah %s, tahun %s, jenjang %s: terisi %s, formasi %s', ${desc('over_formation')}::text,
                  t.region_code, ${year}::int, lv.name, t.n, f.approved),
           jsonb_build_object('year', ${year}::int, 'level', t.level, 'terisi', t.n, 'formasi', f.approved,
                              'kebutuhan', f.need)
    from terisi t join fyear f on f.region_code = t.region_code and f.level = t.level
    join levels lv on lv.code = t.level
    where t.n > f.approved`.execute(trx);
}
