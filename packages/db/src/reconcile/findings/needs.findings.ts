import { sql } from 'kysely';
import { addYears, isRetirementWave, needDiffers, type LevelOutlook } from '@pksync/core';
import { LEVEL_CODES, levelByCode } from '@pksync/reference';
import type { ReconcileContext } from '../context.ts';
import type { NeedsState } from '../needs.phase.ts';
import { bufferFindings, type BufferedFinding } from './finding-buffer.ts';
import { desc, finding } from './codes.ts';

const levelName = (code: string) => levelByCode(code)?.name ?? code;
const statusText = (s: string) => (s === 'confirmed' ? 'terkonfirmasi' : 'belum terkonfirmasi');
/** 0.2 → "20" (without binary noise: 0.07 × 100 is 7.000000000000001). */
const percent = (x: number) => String(Number((x * 100).toPrecision(12)));

/**
 * The R16–R18 findings of a run, after the needs phase refreshed `retirement_outlook` and
 * `computed_needs`:
 * - `need_differs_from_declared` (R16) every run, over every region (a national run) or a scoped
 *   run's regions and those it touched (built here from the computed needs and the year's
 *   formations, with core `needDiffers`);
 * - `workload_missing` (R16), `appointed_without_formation` / `appointed_beyond_formation` (R17,
 *   in SQL) and `retirement_wave` (R18, core `isRetirementWave`) over the regions in scope (every
 *   region when `needs.wide`, else `treg`).
 */
export async function bufferNeedsFindings(ctx: ReconcileContext, needs: NeedsState): Promise<void> {
  const out: BufferedFinding[] = [];
  out.push(...(await needDiffersFindings(ctx, needs)));
  out.push(...(await retirementWaveFindings(ctx, needs.wide)));
  await bufferFindings(ctx.trx, out);
  await bufferWorkloadMissing(ctx, needs.wide);
  await bufferAppointmentFindings(ctx, needs.wide);
}

/**
 * R16: computed and declared needs differ beyond the tolerance (a few thousand rows a year: in JS),
 * over the regions R16 was evaluated in (`needs.needRegions`: every region in a national run).
 */
async function needDiffersFindings(ctx: ReconcileContext, needs: NeedsState): Promise<BufferedFinding[]> {
  const { trx, year } = ctx;
  const { parameters } = needs;
  if (!parameters || !needs.computed.length) return [];
  const tolerance = ctx.needs.tolerance;
  const declared = new Map(
    (
      await trx
        .selectFrom('formations')
        .select(['region_code', 'level', 'need', 'source_id'])
        .where('valid_to', 'is', null)
        .where('year', '=', year)
        .$if(needs.needRegions !== null, (q) =>
          q.where('region_code', '=', sql<string>`any(${needs.needRegions}::text[])`),
        )
        .execute()
    ).map((f) => [`${f.region_code}|${f.level}`, f] as const),
  );
  const f = finding('need_differs_from_declared');
  const out: BufferedFinding[] = [];
  for (const c of needs.computed) {
    const d = declared.get(`${c.regionCode}|${c.level}`);
    if (!d || !needDiffers(c.need, d.need, tolerance)) continue;
    out.push({
      ...f,
      fingerprint: `${f.code}|${c.regionCode}|${year}|${c.level}`,
      provinceCode: c.regionCode.slice(0, 2),
      regionCode: c.regionCode,
      sourceId: d.source_id,
      message:
        `${desc(f.code)}: wilayah ${c.regionCode}, tahun ${year}, jenjang ${levelName(c.level)}: ` +
        `kebutuhan hasil hitung ${c.need}, kebutuhan yang dilaporkan ${d.need} ` +
        `(selisih ${Math.abs(c.need - d.need)}, batas: lebih dari ${percent(tolerance)}% dari yang dilaporkan, ` +
        `paling sedikit 1); parameter ${parameters.version} (${statusText(parameters.status)})`,
      details: {
        year,
        level: c.level,
        computed: c.need,
        declared: d.need,
        parameterVersion: parameters.version,
        parameterStatus: parameters.status,
        tolerance,
      },
    });
  }
  return out;
}

/** R18: one `retirement_wave` per region in scope, from its (small) outlook rows. */
async function retirementWaveFindings(ctx: ReconcileContext, wide: boolean): Promise<BufferedFinding[]> {
  const { trx, asOf } = ctx;
  const rows = await trx
    .selectFrom('retirement_outlook')
    .select(['region_code', 'level', 'active', 'retiring_1', 'retiring_3', 'retiring_5'])
    .$if(!wide, (q) => q.where(sql<boolean>`region_code in (select region_code from treg)`))
    .execute();
  const byRegion = new Map<string, Record<string, LevelOutlook>>();
  for (const r of rows) {
    const m = byRegion.get(r.region_code) ?? {};
    m[r.level] = { active: r.active, retiring: { 1: r.retiring_1, 3: r.retiring_3, 5: r.retiring_5 } };
    byRegion.set(r.region_code, m);
  }
  const f = finding('retirement_wave');
  const horizon = addYears(asOf, 3);
  const order = (code: string) => {
    const i = (LEVEL_CODES as readonly string[]).indexOf(code);
    return i < 0 ? LEVEL_CODES.length : i;
  };
  const out: BufferedFinding[] = [];
  for (const [region, byLevel] of byRegion) {
    if (!isRetirementWave(byLevel)) continue;
    const lv = Object.entries(byLevel).sort(([a], [b]) => order(a) - order(b) || (a < b ? -1 : 1));
    const active = lv.reduce((n, [, o]) => n + o.active, 0);
    const retiring3 = lv.reduce((n, [, o]) => n + o.retiring[3], 0);
    const whole = lv.filter(([, o]) => o.active > 0 && o.retiring[3] >= o.active).map(([l]) => levelName(l));
    out.push({
      ...f,
      fingerprint: `${f.code}|${region}`,
      provinceCode: region.slice(0, 2),
      regionCode: region,
      sourceId: null,
      message:
        `${desc(f.code)}: wilayah ${region}: ${retiring3} dari ${active} pejabat aktif mencapai batas usia pensiun ` +
        `sampai ${horizon}` +
        (whole.length ? `; seluruh pejabat jenjang ${whole.join(', ')}` : '') +
        ` (${lv.map(([l, o]) => `${levelName(l)} ${o.retiring[3]}/${o.active}`).join(', ')})`,
      details: {
        asOf,
        horizon,
        active,
        retiring3,
        levels: Object.fromEntries(lv.map(([l, o]) => [l, { active: o.active, retiring3: o.retiring[3] }])),
      },
    });
  }
  return out;
}

/** R16: regions in scope with active officers (their outlook rows) and no workload row for the year. */
async function bufferWorkloadMissing(ctx: ReconcileContext, wide: boolean): Promise<void> {
  const { trx, year } = ctx;
  const m = finding('workload_missing');
  const inScope = wide ? sql`true` : sql`r.region_code in (select region_code from treg)`;
  await sql`
    insert into finding_buffer (fingerprint, code, severity, province_code, region_code, message, details)
    select ${m.code}::text || '|' || r.region_code || '|' || ${year}::text, ${m.code}::text, ${m.severity}::text,
           left(r.region_code, 2), r.region_code,
           format('%s: wilayah %s, tahun %s, %s pejabat aktif', ${desc('workload_missing')}::text, r.region_code,
                  ${year}::int, sum(r.active)),
           jsonb_build_object('year', ${year}::int, 'active', sum(r.active))
    from retirement_outlook r
    where ${inScope}
      and not exists (select 1 from workloads w where w.region_code = r.region_code and w.year = ${year}::int)
    group by r.region_code
    having sum(r.active) > 0`.execute(trx);
}

/**
 * R17 in SQL, production; its oracle is `appointmentFindings` (@pksync/core), pinned by
 * needs.oracles.int.test.ts. Per region and level in scope, the active officers ranked by
 * `tmt_jabatan` then NIP: the officers appointed from the start year on are ranked among
 * themselves and offset by those appointed before it (`nout.before_start`, counted in the
 * outlook's scan), so only the recent appointments are sorted. An appointment in a year without
 * a formation row for the level is `appointed_without_formation`; a rank above that year's
 * `formasi`, `appointed_beyond_formation`.
 */
async function bufferAppointmentFindings(ctx: ReconcileContext, wide: boolean): Promise<void> {
  const { trx } = ctx;
  const startDate = `${String(ctx.needs.formationStartYear).padStart(4, '0')}-01-01`;
  // Incremental: the regions' officers probed by the current-region index (`offset 0` keeps the
  // lateral a per-region probe; flattened, a rare filter made the planner scan the register).
  const officers = wide
    ? sql`officer_records o`
    : sql`treg t cross join lateral (
            select x.* from officer_records x
            where x.valid_to is null and x.province_code = left(t.region_code, 2) and x.region_code = t.region_code
            offset 0) o`;
  const without = finding('appointed_without_formation');
  const beyond = finding('appointed_beyond_formation');
  await sql`
    insert into finding_buffer (fingerprint, code, severity, province_code, region_code, source_id, nip, message, details)
    select k.code || '|' || a.nip, k.code, k.severity, left(a.region_code, 2), a.region_code, a.source_id, a.nip,
           case when f.approved is null
             then format('%s: %s (NIP %s), %s, TMT Jabatan %s: wilayah %s tidak memiliki formasi jenjang ini untuk tahun %s',
                         ${desc('appointed_without_formation')}::text, a.name, a.nip, coalesce(lv.name, a.level),
                         a.tmt_jabatan, a.region_code, a.year)
             else format('%s: %s (NIP %s), %s, TMT Jabatan %s: urutan pengangkatan ke-%s di wilayah %s, formasi tahun %s: %s',
                         ${desc('appointed_beyond_formation')}::text, a.name, a.nip, coalesce(lv.name, a.level),
                         a.tmt_jabatan, a.rank, a.region_code, a.year, f.approved) end,
           jsonb_build_object('year', a.year, 'level', a.level, 'rank', a.rank, 'formasi', f.approved)
    from (
      select o.nip, o.source_id, o.region_code, o.level, o.name, o.tmt_jabatan,
             extract(year from o.tmt_jabatan)::int as year,
             (n.before_start + row_number() over (partition by o.region_code, o.level
                                                  order by o.tmt_jabatan, o.nip collate "C"))::int as rank
      from ${officers}
      join nout n on n.region_code = o.region_code and n.level = o.level
      where o.valid_to is null and o.active and o.tmt_jabatan >= ${startDate}::date
    ) a
    left join formations f on f.valid_to is null and f.region_code = a.region_code and f.year = a.year
                          and f.level = a.level
    left join levels lv on lv.code = a.level
    cross join lateral (select case when f.approved is null then ${without.code}::text else ${beyond.code}::text end as code,
                               case when f.approved is null then ${without.severity}::text
                                    else ${beyond.severity}::text end as severity) k
    where f.approved is null or a.rank > f.approved`.execute(trx);
}
