import { describe, expect, it } from 'vitest';
import {
  computeNeeds,
  needDiffers,
  retirementOutlook,
  type Formation,
  type NeedParameters,
  type Officer,
  type SnapshotResult,
  type Workload,
} from '@pksync/core';
import { LEVEL_CODES, levelByCode, type LevelCode } from '@pksync/reference';
import { insertSource, snapshotOf, useTestDatabase } from '@pksync/testing';
import type { Db } from '../src/db.ts';
import { addNeedParameters, getNeedParameters } from '../src/repositories/need-parameters.repository.ts';
import { selectDigestFindings } from '../src/repositories/outbox.repository.ts';
import type { ReconcileInput } from '../src/reconcile/index.ts';
import { reconcileFetches } from './support/reconcile-run.ts';

// R16–R18 through the real reconciliation: the workloads a snapshot sends, the computed needs and
// their replay by as_of, and the findings of the three rules (R17/R18's SQL is pinned to its
// oracles in needs.oracles.int.test.ts).

const SHIPPED = '2023-placeholder-1';
let seq = 0;

function officer(regionCode: string, o: Partial<Officer> = {}): Officer {
  const birthDate = o.birthDate ?? '1985-03-12';
  const n = ++seq;
  return {
    nip: `${birthDate.replace(/-/g, '')}${Number(birthDate.slice(0, 4)) + 22}011${String(n).padStart(3, '0')}`,
    name: `Pejabat ${n}`,
    nameNormalised: `pejabat ${n}`,
    gender: 'L',
    birthDate,
    level: 'ahli_pertama',
    grade: 'III/a',
    unit: 'Dinas Tenaga Kerja',
    regionCode,
    tmtJabatan: '2020-01-01',
    status: 'aktif',
    email: null,
    phone: null,
    updatedAt: null,
    position: n + 1,
    ...o,
  };
}

const formation = (regionCode: string, level: LevelCode, need: number, approved = 5, year = 2026): Formation => ({
  regionCode,
  year,
  level,
  need,
  approved,
  position: 2,
});

const workload = (regionCode: string, activity: string, volume: number, o: Partial<Workload> = {}): Workload => ({
  regionCode,
  year: 2026,
  activity,
  volume,
  districts: null,
  complexity: null,
  position: ++seq,
  ...o,
});

const snapshot = (officers: Officer[], extra: Partial<SnapshotResult> = {}) => snapshotOf(officers, extra);

/** One run: a fetch per source (staged snapshot, or unchanged), reconciled on `asOf`. */
const sync = (
  db: Db,
  fetches: Record<string, SnapshotResult | 'unchanged'>,
  asOf: string,
  needs?: ReconcileInput['needs'],
) => reconcileFetches(db, { asOf, fetches, ...(needs ? { needs } : {}) });

async function open(db: Db, code: string) {
  return db
    .selectFrom('findings')
    .selectAll()
    .where('status', '<>', 'resolved')
    .where('code', '=', code)
    .orderBy('fingerprint')
    .execute();
}

/** The year's computed needs, by region and level (in code order, as computeNeeds gives them). */
async function computedRows(db: Db, year = 2026) {
  const rows = await db.selectFrom('computed_needs').selectAll().where('year', '=', year).execute();
  const at = (r: { region_code: string; level: string }) =>
    `${r.region_code}|${LEVEL_CODES.indexOf(r.level as LevelCode)}`;
  return rows.sort((a, b) => (at(a) < at(b) ? -1 : 1));
}

async function parametersOf(db: Db, version: string): Promise<NeedParameters> {
  return (await getNeedParameters(db, version))!.parameters;
}

/** The stored rows, in `computeNeeds`' terms (numeric columns read as numbers). */
const asComputed = (rows: Awaited<ReturnType<typeof computedRows>>) =>
  rows.map((r) => ({
    regionCode: r.region_code,
    year: r.year,
    level: r.level,
    need: r.need,
    exact: Number(r.exact),
    areaFactor: Number(r.area_factor),
    complexityFactor: Number(r.complexity_factor),
    parameterVersion: r.parameter_version,
  }));
const sorted = <T extends { regionCode: string; level: string; exact: string | number }>(xs: T[]) =>
  xs
    .map((x) => ({ ...x, exact: Number(x.exact) }))
    .sort((a, b) => (a.regionCode + a.level < b.regionCode + b.level ? -1 : 1));

describe('R16 computed need, through the reconciliation', () => {
  const t = useTestDatabase();

  it('computes from the staged workloads, flags a declared need that differs, and resolves it once fixed', async () => {
    const { db } = t;
    await insertSource(db, { id: 'plg', regionCode: '16.71' });
    await insertSource(db, { id: 'mura', regionCode: '16.05' });
    const asOf = '2026-11-30';
    const plgOfficers = Array.from({ length: 6 }, () => officer('16.71'));
    const muraOfficers = [officer('16.05'), officer('16.05', { level: 'ahli_muda', grade: 'III/c' })];
    // 30,000 registrations × 15 min, 1,000 AKAD placements × 120 min, 20 districts (× 1.1), "sedang" (× 1.1).
    const plgWork = [
      workload('16.71', 'pendaftaran_pencari_kerja', 30_000, { districts: 20, complexity: 'sedang' }),
      workload('16.71', 'penempatan_akad', 1_000),
      workload('16.71', 'pendaftaran_pencari_kerja', 99_999, { year: 2025 }),
    ];
    const declared = [
      formation('16.71', 'ahli_pertama', 3),
      formation('16.71', 'ahli_muda', 1),
      formation('16.71', 'ahli_utama', 2),
    ];
    const r1 = await sync(
      db,
      {
        plg: snapshot(plgOfficers, { formations: declared, workloads: plgWork }),
        mura: snapshot(muraOfficers),
      },
      asOf,
    );

    // The register's workloads, and R16 over them with the shipped version in force.
    const stored = await db.selectFrom('workloads').selectAll().execute();
    expect(
      stored
        .map((w) => [w.region_code, w.year, w.activity, w.volume, w.districts, w.complexity, w.source_id])
        .sort((a, b) => (`${a[1]}${a[2]}` < `${b[1]}${b[2]}` ? -1 : 1)),
    ).toEqual([
      ['16.71', 2025, 'pendaftaran_pencari_kerja', 99_999, null, null, 'plg'],
      ['16.71', 2026, 'pendaftaran_pencari_kerja', 30_000, 20, 'sedang', 'plg'],
      ['16.71', 2026, 'penempatan_akad', 1_000, null, null, 'plg'],
    ]);
    const want = computeNeeds(await parametersOf(db, SHIPPED), 2026, plgWork);
    const rows = await computedRows(db);
    expect(sorted(asComputed(rows))).toEqual(sorted(want));
    // 450,000 min × 1.21 / 75,000 = 7.26 → 7 Ahli Pertama; 84,000 × 1.21 / 75,000 = 1.3552 → 1 Ahli Muda.
    const byLevel = Object.fromEntries(rows.map((r) => [r.level, r]));
    expect(byLevel.ahli_pertama).toMatchObject({ need: 7, exact: 7.26, province_code: '16', as_of: asOf });
    expect(byLevel.ahli_muda?.need).toBe(1);
    expect(byLevel.ahli_utama?.need).toBe(0);
    expect(rows.every((r) => r.parameter_version === SHIPPED && r.run_id === r1.runId)).toBe(true);
    expect(await computedRows(db, 2025)).toEqual([]); // only as_of's year

    // Declared 3 against 7 (|4| > max(1, 0.6)) and 2 against 0 are flagged; 1 against 1 is not.
    const differs = await open(db, 'need_differs_from_declared');
    expect(differs.map((f) => [f.region_code, (f.details as { level: string }).level])).toEqual([
      ['16.71', 'ahli_pertama'],
      ['16.71', 'ahli_utama'],
    ]);
    expect(differs[0]).toMatchObject({
      severity: 'warning',
      province_code: '16',
      source_id: 'plg',
      fingerprint: 'need_differs_from_declared|16.71|2026|ahli_pertama',
      details: {
        year: 2026,
        level: 'ahli_pertama',
        computed: 7,
        declared: 3,
        parameterVersion: SHIPPED,
        parameterStatus: 'unconfirmed',
        tolerance: 0.2,
      },
    });
    expect(differs[0]!.message).toMatch(/^Kebutuhan yang dilaporkan berbeda jauh/);
    expect(differs[0]!.message).toContain('kebutuhan hasil hitung 7, kebutuhan yang dilaporkan 3');
    expect(differs[0]!.message).toContain(`parameter ${SHIPPED} (belum terkonfirmasi)`);
    for (const c of want) {
      const d = declared.find((f) => f.level === c.level);
      expect(differs.some((f) => (f.details as { level: string }).level === c.level)).toBe(
        d !== undefined && needDiffers(c.need, d.need),
      );
    }

    // workload_missing: Muara Enim has active officers and sent no workload.
    const missing = await open(db, 'workload_missing');
    expect(missing.map((f) => [f.fingerprint, f.province_code, f.region_code, f.details])).toEqual([
      ['workload_missing|16.05|2026', '16', '16.05', { year: 2026, active: 2 }],
    ]);

    // Routed like every finding: the province's digest reports them.
    const digest = await selectDigestFindings(db, {
      runId: r1.runId,
      openedFindingIds: r1.findings.openedIds,
      resolvedFindingIds: [],
      provinces: ['16'],
      now: new Date(),
    });
    expect(digest.fresh.map((f) => f.code)).toEqual(
      expect.arrayContaining(['need_differs_from_declared', 'workload_missing']),
    );

    // The tolerance is the run's (config.needs): at 200 % nothing differs, even on a quiet run.
    const quiet = await sync(db, { plg: 'unchanged', mura: 'unchanged' }, asOf, {
      tolerance: 2,
      formationStartYear: 2024,
    });
    expect(quiet.version).toBeNull();
    expect(await open(db, 'need_differs_from_declared')).toEqual([]);
    await sync(db, { plg: 'unchanged', mura: 'unchanged' }, asOf);
    expect(await open(db, 'need_differs_from_declared')).toHaveLength(2);

    // The agency fixes its declared needs (a snapshot without workload rows leaves Palembang's as
    // they are); Muara Enim's planning office, listing no officers, sends its workload.
    await insertSource(db, { id: 'mura-bappeda', regionCode: '16.05' });
    const fixed = [
      formation('16.71', 'ahli_pertama', 7),
      formation('16.71', 'ahli_muda', 1),
      formation('16.71', 'ahli_utama', 0),
    ];
    const muraWork = [workload('16.05', 'verifikasi_lowongan', 2_500, { complexity: 'tinggi' })];
    const r2 = await sync(
      db,
      {
        plg: snapshot(plgOfficers, { formations: fixed }),
        mura: 'unchanged',
        'mura-bappeda': snapshot([], { workloads: muraWork }),
      },
      asOf,
    );
    expect(await open(db, 'need_differs_from_declared')).toEqual([]);
    expect(await open(db, 'workload_missing')).toEqual([]);
    expect(r2.findings.resolved).toBeGreaterThanOrEqual(3);
    expect(
      await db.selectFrom('workloads').select('activity').where('region_code', '=', '16.71').execute(),
    ).toHaveLength(3);
    expect(sorted(asComputed(await computedRows(db)))).toEqual(
      sorted(computeNeeds(await parametersOf(db, SHIPPED), 2026, [...plgWork, ...muraWork])),
    );

    // Another agency's workload for Palembang 2026 replaces that region and year whole (whoever
    // sent it); the 2025 rows stay.
    await insertSource(db, { id: 'plg-kota', regionCode: '16.71' });
    const other = [workload('16.71', 'bursa_kerja', 10)];
    await sync(db, { 'plg-kota': snapshot([], { workloads: other }) }, asOf);
    expect(
      (await db.selectFrom('workloads').selectAll().where('region_code', '=', '16.71').orderBy('year').execute()).map(
        (w) => [w.year, w.activity, w.source_id],
      ),
    ).toEqual([
      [2025, 'pendaftaran_pencari_kerja', 'plg'],
      [2026, 'bursa_kerja', 'plg-kota'],
    ]);
    expect(sorted(asComputed(await computedRows(db)))).toEqual(
      sorted(computeNeeds(await parametersOf(db, SHIPPED), 2026, [...other, ...muraWork])),
    );
  });
});

describe('R16 replay by as_of across parameter versions', () => {
  const t = useTestDatabase();

  it('computes with the version in force on each as_of, stores it, and takes up a version added since on a quiet run', async () => {
    const { db } = t;
    await insertSource(db, { id: 'plg', regionCode: '16.71' });
    const shipped = await parametersOf(db, SHIPPED);
    const v2: NeedParameters = {
      ...shipped,
      version: 'uji-2026',
      status: 'confirmed',
      valid_from: '2026-06-01',
      effective_minutes_per_year: 60_000,
    };
    await addNeedParameters(db, v2, 'test');
    const work = [
      workload('16.71', 'pendaftaran_pencari_kerja', 40_000),
      workload('16.71', 'penempatan_akl', 3_000, { districts: 35 }),
      workload('16.71', 'pendaftaran_pencari_kerja', 40_000, { year: 2022 }),
    ];
    const snap = snapshot([officer('16.71')], { workloads: work });
    const stored = async () =>
      (await computedRows(db)).map((r) => [r.level, r.need, r.parameter_version, r.as_of] as const);
    const expectFrom = (p: NeedParameters, asOf: string) =>
      computeNeeds(p, 2026, work).map((c) => [c.level, c.need, p.version, asOf] as const);

    await sync(db, { plg: snap }, '2026-05-31');
    expect(await stored()).toEqual(expectFrom(shipped, '2026-05-31'));
    await sync(db, { plg: 'unchanged' }, '2026-06-01');
    expect(await stored()).toEqual(expectFrom(v2, '2026-06-01'));
    // The two versions give different needs (the test would not see a wrong version otherwise).
    expect(expectFrom(v2, 'x').map((c) => c[1])).not.toEqual(expectFrom(shipped, 'x').map((c) => c[1]));
    // Replayed: the earlier as_of computes with the first version again.
    await sync(db, { plg: 'unchanged' }, '2026-05-31');
    expect(await stored()).toEqual(expectFrom(shipped, '2026-05-31'));

    // A version added with the same valid_from later is in force: a quiet run (same as_of,
    // nothing re-read) recomputes with it.
    await sync(db, { plg: 'unchanged' }, '2026-06-01');
    const v3: NeedParameters = { ...v2, version: 'uji-2026-b', rounding: 'down' };
    await addNeedParameters(db, v3, 'test');
    const quiet = await sync(db, { plg: 'unchanged' }, '2026-06-01');
    expect(quiet.version).toBeNull();
    expect(await stored()).toEqual(expectFrom(v3, '2026-06-01'));
    expect(expectFrom(v3, 'x')).not.toEqual(expectFrom(v2, 'x'));

    // No version in force (before the shipped one's valid_from): no computed need for that year.
    await sync(db, { plg: 'unchanged' }, '2022-12-31');
    expect(await computedRows(db, 2022)).toEqual([]);
    expect(await db.selectFrom('workloads').select('year').where('year', '=', 2022).execute()).toHaveLength(1);
    // Other years' rows stay.
    expect(await stored()).toEqual(expectFrom(v3, '2026-06-01'));
  });
});

describe('R18 retirement outlook and wave, through the reconciliation', () => {
  const t = useTestDatabase();

  /** retirement_outlook against core retirementOutlook over the current register. */
  async function expectOutlookExact(db: Db, asOf: string) {
    const officers = await db
      .selectFrom('officer_records')
      .select(['region_code', 'level', 'birth_date'])
      .where('valid_to', 'is', null)
      .where('active', '=', true)
      .execute();
    const want: Record<string, unknown> = {};
    for (const region of new Set(officers.map((o) => o.region_code))) {
      const lo = retirementOutlook({
        officers: officers
          .filter((o) => o.region_code === region)
          .map((o) => ({ birthDate: o.birth_date, level: o.level })),
        asOf,
        retirementAge: (l) => levelByCode(l)!.retirementAge,
      });
      for (const [level, x] of Object.entries(lo))
        want[`${region}|${level}`] = [x.active, ...Object.values(x.retiring)];
    }
    const rows = await db.selectFrom('retirement_outlook').selectAll().execute();
    expect(
      Object.fromEntries(
        rows.map((r) => [`${r.region_code}|${r.level}`, [r.active, r.retiring_1, r.retiring_3, r.retiring_5]]),
      ),
    ).toEqual(want);
    return rows;
  }

  it('raises a wave for half the officers retiring within 3 years or a whole level, and resolves it', async () => {
    const { db } = t;
    const asOf = '2026-11-30';
    await insertSource(db, { id: 'plg', regionCode: '16.71' });
    await insertSource(db, { id: 'oki', regionCode: '16.02' });
    // Ahli Pertama retire at 58: born 1969-01-10 → 2027-01-10 (within 1 year).
    const old = officer('16.71', { birthDate: '1969-01-10' });
    const young = officer('16.71', { birthDate: '1990-05-05' });
    const okiYoung = Array.from({ length: 4 }, () => officer('16.02', { birthDate: '1992-02-02' }));
    // Ahli Madya retire at 60: born 1969-11-30 → on as_of + 3 years exactly, which counts.
    const okiMadya = officer('16.02', { birthDate: '1969-11-30', level: 'ahli_madya', grade: 'IV/a' });
    await sync(db, { plg: snapshot([old, young]), oki: snapshot([...okiYoung, okiMadya]) }, asOf);
    await expectOutlookExact(db, asOf);
    const waves = await open(db, 'retirement_wave');
    expect(waves.map((f) => [f.fingerprint, f.province_code, f.region_code])).toEqual([
      ['retirement_wave|16.02', '16', '16.02'],
      ['retirement_wave|16.71', '16', '16.71'],
    ]);
    expect(waves[1]!.details).toMatchObject({
      active: 2,
      retiring3: 1,
      levels: { ahli_pertama: { active: 2, retiring3: 1 } },
    });
    expect(waves[0]!.details).toMatchObject({
      active: 5,
      retiring3: 1,
      levels: { ahli_madya: { active: 1, retiring3: 1 } },
    });
    expect(waves[0]!.message).toMatch(/^Banyak pejabat di wilayah ini/);
    expect(waves[0]!.message).toContain('seluruh pejabat jenjang Pengantar Kerja Ahli Madya');

    // A third officer in Palembang (1 of 3 retiring), Ogan Komering Ilir's madya leaves: both resolved.
    await sync(db, { plg: snapshot([old, young, officer('16.71')]), oki: snapshot(okiYoung) }, asOf);
    await expectOutlookExact(db, asOf);
    expect(await open(db, 'retirement_wave')).toEqual([]);
    // A level without active officers has no row.
    expect(
      await db.selectFrom('retirement_outlook').select('level').where('region_code', '=', '16.02').execute(),
    ).toEqual([{ level: 'ahli_pertama' }]);
  });

  it('keeps the outlook exact incrementally when an officer moves to another region', async () => {
    const { db } = t;
    const asOf = '2026-11-30';
    await insertSource(db, { id: 'lahat', regionCode: '16.04' });
    await insertSource(db, { id: 'pali', regionCode: '16.12' });
    const mover = officer('16.04', { birthDate: '1970-08-08', level: 'ahli_muda', grade: 'III/c' });
    const stay = [officer('16.12'), officer('16.12', { birthDate: '1967-01-01' })];
    await sync(db, { lahat: snapshot([mover]), pali: snapshot(stay) }, asOf);
    await expectOutlookExact(db, asOf);
    expect(
      await db.selectFrom('retirement_outlook').select('level').where('region_code', '=', '16.04').execute(),
    ).toEqual([{ level: 'ahli_muda' }]);
    const evaluated = await db.selectFrom('register_state').select('evaluated_as_of').executeTakeFirstOrThrow();
    expect(evaluated.evaluated_as_of).toBe(asOf); // the next run on this as_of is incremental

    // Lahat now lists nobody; PALI lists the officer (a transfer). Lahat's region is touched only
    // as the officer's previous region.
    const r = await sync(
      db,
      { lahat: snapshot([]), pali: snapshot([...stay, { ...mover, regionCode: '16.12', tmtJabatan: '2026-07-01' }]) },
      asOf,
    );
    expect(r.version).not.toBeNull();
    const rows = await expectOutlookExact(db, asOf);
    expect(rows.filter((x) => x.region_code === '16.04')).toEqual([]);
    expect(rows.find((x) => x.region_code === '16.12' && x.level === 'ahli_muda')).toMatchObject({
      active: 1,
      retiring_1: 0,
      retiring_3: 1,
      province_code: '16',
    });

    // A register whose outlook was never computed (migration 0011 on a register evaluated on
    // this as_of): the next run, quiet as it is, counts every region.
    await db.deleteFrom('retirement_outlook').execute();
    const quiet = await sync(db, { lahat: 'unchanged', pali: 'unchanged' }, asOf);
    expect(quiet.version).toBeNull();
    expect((await expectOutlookExact(db, asOf)).length).toBeGreaterThan(2);
  });
});
