import { describe, expect, it } from 'vitest';
import {
  addYears,
  appointmentFindings,
  DEFAULT_FORMATION_START_YEAR,
  isActiveStatus,
  retirementOutlook,
  retiringCutoff,
  OUTLOOK_YEARS,
  type AppointmentFinding,
  type Formation,
  type Officer,
  type OfficerStatus,
  type SnapshotResult,
} from '@pksync/core';
import { LEVEL_CODES, levelByCode, levels, type LevelCode } from '@pksync/reference';
import { insertSource, snapshotOf, useTestDatabase } from '@pksync/testing';
import type { Db } from '../src/db.ts';
import { reconcileFetches } from './support/reconcile-run.ts';

// R17 and R18 run in SQL in the reconciliation (needs.phase.ts, findings/needs.findings.ts);
// @pksync/core keeps appointmentFindings and retirementOutlook as their oracles. These tests pin the
// SQL to them over random registers, through the real stage + reconcile, register-wide and
// incremental (a re-read source, a transfer) alike.

function seeded(seed: number) {
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return { rand, pick: <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]! };
}

/** `date` plus `days` days (UTC calendar arithmetic). */
function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** One run: the sources given re-read (their snapshot), the others unchanged, reconciled on `asOf`. */
const sync = (db: Db, sources: string[], snapshots: Record<string, SnapshotResult>, asOf: string) =>
  reconcileFetches(db, { asOf, fetches: Object.fromEntries(sources.map((id) => [id, snapshots[id] ?? 'unchanged'])) });

/** The current register and formations, and what the oracles make of them. */
async function expected(db: Db, asOf: string) {
  const officers = await db.selectFrom('officer_records').selectAll().where('valid_to', 'is', null).execute();
  const formations = await db.selectFrom('formations').selectAll().where('valid_to', 'is', null).execute();
  const active = officers.filter((o) => o.active);
  const groups = new Map<string, typeof active>();
  for (const o of active) {
    const k = `${o.region_code}|${o.level}`;
    groups.set(k, [...(groups.get(k) ?? []), o]);
  }
  const outlook: Record<string, { active: number; r1: number; r3: number; r5: number }> = {};
  const byRegion = new Map<string, typeof active>();
  for (const o of active) byRegion.set(o.region_code, [...(byRegion.get(o.region_code) ?? []), o]);
  for (const [region, mine] of byRegion) {
    const lo = retirementOutlook({
      officers: mine.map((o) => ({ birthDate: o.birth_date, level: o.level })),
      asOf,
      retirementAge: (l) => levelByCode(l)!.retirementAge,
    });
    for (const [level, x] of Object.entries(lo)) {
      outlook[`${region}|${level}`] = { active: x.active, r1: x.retiring[1], r3: x.retiring[3], r5: x.retiring[5] };
    }
  }
  const appointments: (AppointmentFinding & { region: string; source: string })[] = [];
  for (const [k, mine] of groups) {
    const [region, level] = k.split('|') as [string, string];
    const formasiByYear = new Map(
      formations.filter((f) => f.region_code === region && f.level === level).map((f) => [f.year, f.approved]),
    );
    const source = new Map(mine.map((o) => [o.nip, o.source_id]));
    for (const a of appointmentFindings({
      officers: mine.map((o) => ({ nip: o.nip, tmtJabatan: o.tmt_jabatan })),
      formasiByYear,
      startYear: DEFAULT_FORMATION_START_YEAR,
    }))
      appointments.push({ ...a, region, source: source.get(a.nip)! });
  }
  return { officers, outlook, appointments };
}

/** The register's R18 rows and open R17 findings, against the oracles. */
async function check(db: Db, asOf: string) {
  const want = await expected(db, asOf);
  const rows = await db.selectFrom('retirement_outlook').selectAll().execute();
  expect(
    Object.fromEntries(
      rows.map((r) => [
        `${r.region_code}|${r.level}`,
        { active: r.active, r1: r.retiring_1, r3: r.retiring_3, r5: r.retiring_5 },
      ]),
    ),
  ).toEqual(want.outlook);
  for (const r of rows) {
    expect(r.province_code).toBe(r.region_code.slice(0, 2));
    expect(r.as_of).toBe(asOf);
  }
  const open = await db
    .selectFrom('findings')
    .selectAll()
    .where('status', '<>', 'resolved')
    .where('code', 'in', ['appointed_without_formation', 'appointed_beyond_formation'])
    .execute();
  const got = open.map((f) => {
    const d = f.details as { year: number; rank: number; formasi: number | null; level: string };
    return {
      nip: f.nip,
      code: f.code,
      year: d.year,
      rank: d.rank,
      formasi: d.formasi,
      region: f.region_code,
      province: f.province_code,
      source: f.source_id,
      fingerprint: f.fingerprint,
    };
  });
  const key = (x: { nip: string | null; code: string }) => `${x.code}|${x.nip}`;
  expect(got.sort((a, b) => (key(a) < key(b) ? -1 : 1))).toEqual(
    want.appointments
      .map((a) => ({
        nip: a.nip,
        code: a.code,
        year: a.year,
        rank: a.rank,
        formasi: a.formasi,
        region: a.region,
        province: a.region.slice(0, 2),
        source: a.source,
        fingerprint: `${a.code}|${a.nip}`,
      }))
      .sort((a, b) => (key(a) < key(b) ? -1 : 1)),
  );
  return want;
}

describe('R17 and R18 in the reconciliation match appointmentFindings and retirementOutlook', () => {
  const t = useTestDatabase();

  it('ranks, finds and counts the same over random registers, register-wide and incremental, as as_of moves', async () => {
    const { db } = t;
    const { rand, pick } = seeded(17);
    const regions = ['16.01', '16.02', '16.71', '17.01', '17'];
    for (const r of regions) await insertSource(db, { id: `src-${r}`, regionCode: r });
    const sources = regions.map((r) => `src-${r}`);
    const asOfs = ['2028-02-29', '2027-02-28', '2026-11-30'];
    const start = DEFAULT_FORMATION_START_YEAR;

    // Birth dates on and either side of every level's cut-off for every horizon and as_of (the
    // officer reaching the age on as_of + h years exactly counts), and 29 February births.
    const births = new Set<string>();
    for (const asOf of asOfs)
      for (const l of levels)
        for (const h of [0, ...OUTLOOK_YEARS]) {
          const cut = h === 0 ? addYears(asOf, -l.retirementAge) : retiringCutoff(asOf, h, l.retirementAge);
          for (const d of [-1, 0, 1]) births.add(addDays(cut, d));
          const y = Number(cut.slice(0, 4));
          for (const yy of [y - 1, y, y + 1]) if (yy % 4 === 0) births.add(`${yy}-02-29`);
        }
    births.add('1985-03-12');
    // Appointments either side of the start year's first day, ties on a date (the NIP decides),
    // and years with and without formations.
    const tmts = [
      `${start - 1}-12-31`,
      `${start}-01-01`,
      `${start}-01-01`,
      `${start}-06-15`,
      `${start + 1}-03-01`,
      `${start + 1}-03-01`,
      `${start + 2}-12-31`,
      `${start + 3}-01-02`,
      '2019-05-01',
    ];
    const statuses: OfficerStatus[] = ['aktif', 'aktif', 'aktif', 'aktif', 'cuti', 'pensiun', 'tugas_belajar'];
    let seq = 0;
    const officers: Officer[] = [...births].flatMap((birthDate) =>
      [0, 1].map((): Officer => {
        // A region holding only one level: the other levels have no row.
        const regionCode = pick(regions);
        const level: LevelCode = regionCode === '17' ? 'ahli_madya' : pick(LEVEL_CODES);
        return {
          nip: `${birthDate.replace(/-/g, '')}${Number(birthDate.slice(0, 4)) + 22}011${String(++seq).padStart(3, '0')}`,
          name: `Pejabat ${seq}`,
          nameNormalised: `pejabat ${seq}`,
          gender: 'L',
          birthDate,
          level,
          grade: 'III/a',
          unit: 'Dinas Tenaga Kerja',
          regionCode,
          tmtJabatan: pick(tmts),
          status: pick(statuses),
          email: null,
          phone: null,
          updatedAt: null,
          position: seq + 1,
        };
      }),
    );
    const formations: Formation[] = [];
    for (const regionCode of regions)
      for (let year = start - 1; year <= start + 3; year++)
        for (const level of LEVEL_CODES)
          if (rand() < 0.6) {
            formations.push({ regionCode, year, level, approved: Math.floor(rand() * 4), need: 3, position: 2 });
          }
    const snapshotsOf = (list: Officer[], fs: Formation[]) =>
      Object.fromEntries(
        regions.map((r) => [
          `src-${r}`,
          snapshotOf(
            list.filter((o) => o.regionCode === r),
            { formations: fs.filter((f) => f.regionCode === r) },
          ),
        ]),
      );

    // 1. Everything read on a leap day (register-wide).
    await sync(db, sources, snapshotsOf(officers, formations), asOfs[0]!);
    const first = await check(db, asOfs[0]!);
    expect(first.officers).toHaveLength(officers.length);

    // 2. as_of moves, nothing re-read: the outlook of every region is recounted.
    await sync(db, sources, {}, asOfs[1]!);
    const second = await check(db, asOfs[1]!);

    // 3. Same as_of (incremental): 16.02 re-read with officers moved in from 16.01 (a later
    //    tmt_jabatan wins R10; 16.01, not re-read, still lists them), one of its own gone, one
    //    turned inactive, and a formation year changed.
    const movers = officers.filter((o) => o.regionCode === '16.01' && isActiveStatus(o.status)).slice(0, 4);
    expect(movers.length).toBe(4);
    const own = officers.filter((o) => o.regionCode === '16.02');
    const moved = movers.map((o) => ({ ...o, regionCode: '16.02', tmtJabatan: `${start + 3}-06-01` }));
    const next = [...own.slice(2), { ...own[1]!, status: 'pensiun' as OfficerStatus }, ...moved];
    const nextFormations = formations
      .filter((f) => f.regionCode === '16.02' && f.year !== start + 3)
      .concat(
        LEVEL_CODES.map((level) => ({
          regionCode: '16.02',
          year: start + 3,
          level,
          approved: 2,
          need: 2,
          position: 2,
        })),
      );
    const r3 = await sync(db, sources, { 'src-16.02': snapshotOf(next, { formations: nextFormations }) }, asOfs[1]!);
    expect(r3.version).not.toBeNull();
    const third = await check(db, asOfs[1]!);
    const movedRows = third.officers.filter((o) => movers.some((m) => m.nip === o.nip));
    expect(movedRows.map((o) => o.region_code)).toEqual(movers.map(() => '16.02'));

    // 4. A replay of an earlier as_of with everything re-read as first sent.
    await sync(db, sources, snapshotsOf(officers, formations), asOfs[2]!);
    const fourth = await check(db, asOfs[2]!);

    // Not vacuous: both R17 codes, officers retiring within each horizon and not, a level without
    // a row, and the edge dates on both sides.
    for (const c of [first, second, third, fourth]) {
      const codes = new Set(c.appointments.map((a) => a.code));
      expect(codes).toEqual(new Set(['appointed_without_formation', 'appointed_beyond_formation']));
      const o = Object.values(c.outlook);
      for (const h of ['r1', 'r3', 'r5'] as const) {
        expect(o.some((x) => x[h] > 0)).toBe(true);
        expect(o.some((x) => x[h] < x.active)).toBe(true);
      }
      expect(Object.keys(c.outlook).filter((k) => k.startsWith('17|'))).toEqual(['17|ahli_madya']);
    }
    const appointed = new Set(first.appointments.map((a) => a.nip));
    const tmtOf = new Map(officers.map((o) => [o.nip, o.tmtJabatan]));
    expect([...appointed].some((n) => tmtOf.get(n) === `${start}-01-01`)).toBe(true);
    expect(first.officers.some((o) => o.active && o.tmt_jabatan === `${start - 1}-12-31`)).toBe(true);
    expect([...appointed].some((n) => tmtOf.get(n) === `${start - 1}-12-31`)).toBe(false);
    // The counts move with as_of, and the replay differs from the leap-day run.
    expect(second.outlook).not.toEqual(first.outlook);
    expect(fourth.outlook).not.toEqual(first.outlook);
  });
});
