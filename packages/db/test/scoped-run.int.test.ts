import { describe, expect, it } from 'vitest';
import { computeNeeds, type Formation, type NeedParameters, type Officer, type Workload } from '@pksync/core';
import { insertSource, snapshotOf, useTestDatabase } from '@pksync/testing';
import type { Db } from '../src/db.ts';
import { addNeedParameters, getNeedParameters } from '../src/repositories/need-parameters.repository.ts';
import { getNeeds } from '../src/repositories/needs.repository.ts';
import type { ReconcileInput } from '../src/reconcile/index.ts';
import { reconcileFetches } from './support/reconcile-run.ts';

// Issue 16, docs/decisions.md § Scoped runs: a scoped run evaluates the date-dependent rules
// (R11, R12, R16–R18) on its own as_of in its regions only (and those its changes reach); the
// rest of the register and register_state.evaluated_as_of stay those of the last national
// evaluation, until a national run evaluates everything again.

/** The last national run's as_of, and a scoped run's later one (another year: R12's year moves too). */
const A = '2026-11-27';
const B = '2027-02-15';
const PLG = '16.71';
const OKI = '16.02';
const SHIPPED = '2023-placeholder-1';

let seq = 0;
function officer(regionCode: string, birthDate: string, o: Partial<Officer> = {}): Officer {
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

/**
 * A region's four Ahli Pertama (retirement age 58): one turning 58 between A and B (R11), one
 * whose retirement date falls between A + 3 years and B + 3 years (R18: two of four within 3
 * years on B, a wave; one of four on A), two young ones.
 */
function regionOfficers(regionCode: string, day: string) {
  return {
    turns: officer(regionCode, `1969-01-${day}`),
    wave: officer(regionCode, `1971-12-${day}`),
    young: [officer(regionCode, '1990-05-05'), officer(regionCode, '1992-02-02')],
  };
}
const all = (r: ReturnType<typeof regionOfficers>) => [r.turns, r.wave, ...r.young];

const formation = (regionCode: string, approved: number, year = 2026): Formation => ({
  regionCode,
  year,
  level: 'ahli_pertama',
  need: approved,
  approved,
  position: 2,
});
const workload = (regionCode: string, year: number, volume: number): Workload => ({
  regionCode,
  year,
  activity: 'pendaftaran_pencari_kerja',
  volume,
  districts: null,
  complexity: null,
  position: ++seq,
});

type Scope = { kind: 'national' } | { kind: 'region'; value: string };

/** One run of `scope` on `asOf`: a fetch per source given (a staged snapshot, or unchanged), reconciled. */
async function sync(
  db: Db,
  scope: Scope,
  asOf: string,
  fetches: Record<string, ReturnType<typeof snapshotOf> | 'unchanged'>,
  needs?: ReconcileInput['needs'],
) {
  const r = await reconcileFetches(db, { asOf, fetches, scope, ...(needs ? { needs } : {}) });
  if (r.version !== null) {
    // The publication's totals (the previous version's plus the diff) are the register's.
    const counted = await db
      .selectFrom('officer_records')
      .select((eb) => [
        eb.fn.countAll<number>().as('officers'),
        eb.fn.count<number>('id').filterWhere('active', '=', true).as('active'),
      ])
      .where('valid_to', 'is', null)
      .executeTakeFirstOrThrow();
    expect({ officers: r.counts.officers, active: r.counts.active }).toEqual({
      officers: Number(counted.officers),
      active: Number(counted.active),
    });
  }
  return r;
}

const flagged = async (db: Db) =>
  (
    await db
      .selectFrom('officer_records')
      .select('nip')
      .where('valid_to', 'is', null)
      .where('past_retirement', '=', true)
      .orderBy('nip')
      .execute()
  ).map((o) => o.nip);

/** Open findings of `code`: fingerprint → the as_of its details state (or null). */
async function open(db: Db, code: string) {
  const rows = await db
    .selectFrom('findings')
    .select(['fingerprint', 'details'])
    .where('status', '<>', 'resolved')
    .where('code', '=', code)
    .orderBy('fingerprint')
    .execute();
  return Object.fromEntries(rows.map((f) => [f.fingerprint, (f.details as { asOf?: string }).asOf ?? null]));
}

const outlookDates = async (db: Db) =>
  Object.fromEntries(
    (await db.selectFrom('retirement_outlook').select(['region_code', 'as_of']).orderBy('region_code').execute()).map(
      (r) => [r.region_code, r.as_of],
    ),
  );

const evaluatedAsOf = async (db: Db) =>
  (await db.selectFrom('register_state').select('evaluated_as_of').executeTakeFirst())?.evaluated_as_of;

describe('a scoped run evaluates the date-dependent rules in its scope only (issue 16)', () => {
  const t = useTestDatabase();

  it('R11, R12, R17, R18 and R16 on a later as_of: its region only; the next national run evaluates everything', async () => {
    const { db } = t;
    await insertSource(db, { id: 'plg', regionCode: PLG });
    await insertSource(db, { id: 'oki', regionCode: OKI });
    const plg = regionOfficers(PLG, '10');
    const oki = regionOfficers(OKI, '20');
    // A parameter version from 2027 on (fewer effective minutes: other needs), R16's date rule.
    const shipped = (await getNeedParameters(db, SHIPPED))!.parameters;
    const v2027: NeedParameters = {
      ...shipped,
      version: 'uji-2027',
      valid_from: '2027-01-01',
      effective_minutes_per_year: 50_000,
    };
    await addNeedParameters(db, v2027, 'test');
    const work = (region: string) => [workload(region, 2026, 20_000), workload(region, 2027, 20_000)];
    // Ogan Komering Ilir is over its 2026 formation (4 active, 3 approved).
    const snapshots = {
      plg: snapshotOf(all(plg), { formations: [formation(PLG, 4)], workloads: work(PLG) }),
      oki: snapshotOf(all(oki), { formations: [formation(OKI, 3)], workloads: work(OKI) }),
    };

    // The national run on A: nobody past retirement age, no wave; over_formation in OKI.
    await sync(db, { kind: 'national' }, A, snapshots);
    expect(await evaluatedAsOf(db)).toBe(A);
    expect(await flagged(db)).toEqual([]);
    expect(await open(db, 'past_retirement_age')).toEqual({});
    expect(await open(db, 'retirement_wave')).toEqual({});
    expect(await open(db, 'over_formation')).toEqual({ [`over_formation|${OKI}|2026|ahli_pertama`]: null });
    expect(await open(db, 'formation_missing')).toEqual({});
    expect(await outlookDates(db)).toEqual({ [OKI]: A, [PLG]: A });
    const oki1 = await db
      .selectFrom('officer_records')
      .select(['nip', 'valid_from'])
      .where('valid_to', 'is', null)
      .where('region_code', '=', OKI)
      .orderBy('nip')
      .execute();

    // Palembang re-synced on B (its agency unchanged), with R17 from 2019 on: everything
    // date-dependent is evaluated on B in Palembang, nothing in Ogan Komering Ilir.
    const scoped = await sync(
      db,
      { kind: 'region', value: PLG },
      B,
      { plg: 'unchanged' },
      {
        tolerance: 0.2,
        formationStartYear: 2019,
      },
    );
    expect(scoped.version).not.toBeNull(); // R11's flip is a change of the register (R14)
    expect(await evaluatedAsOf(db)).toBe(A);
    // R11: the Palembang officer who turned 58 is flagged; the Ogan Komering Ilir one is not (yet).
    expect(await flagged(db)).toEqual([plg.turns.nip]);
    expect(await open(db, 'past_retirement_age')).toEqual({ [`past_retirement_age|${plg.turns.nip}`]: B });
    const changes = await db
      .selectFrom('publication_changes')
      .select(['nip', 'region_code', 'reason'])
      .where('version', '=', scoped.version!)
      .execute();
    expect(changes).toEqual([{ nip: plg.turns.nip, region_code: PLG, reason: 'retirement_age' }]);
    // Ogan Komering Ilir's rows are those of the national evaluation, untouched.
    expect(
      await db
        .selectFrom('officer_records')
        .select(['nip', 'valid_from'])
        .where('valid_to', 'is', null)
        .where('region_code', '=', OKI)
        .orderBy('nip')
        .execute(),
    ).toEqual(oki1);
    // R12 on B's year in Palembang only: OKI's 2026 finding stands, no 2027 one there.
    expect(await open(db, 'formation_missing')).toEqual({ [`formation_missing|${PLG}|2027`]: null });
    expect(await open(db, 'over_formation')).toEqual({ [`over_formation|${OKI}|2026|ahli_pertama`]: null });
    // R17 with the scoped run's start year, in Palembang only (no formation for 2020 anywhere).
    expect(Object.keys(await open(db, 'appointed_without_formation'))).toEqual(
      all(plg)
        .map((o) => `appointed_without_formation|${o.nip}`)
        .sort(),
    );
    // R18 on B: Palembang's wave (2 of 4 within 3 years); its outlook is as of B, OKI's as of A.
    expect(await open(db, 'retirement_wave')).toEqual({ [`retirement_wave|${PLG}`]: B });
    expect(await outlookDates(db)).toEqual({ [OKI]: A, [PLG]: B });
    // R16 on B's year and parameters, in Palembang only; 2026's needs stay as the national run left them.
    const computed = async (year: number) =>
      (
        await db
          .selectFrom('computed_needs')
          .select(['region_code', 'level', 'need', 'parameter_version', 'as_of'])
          .where('year', '=', year)
          .orderBy('region_code')
          .orderBy('level')
          .execute()
      ).map((c) => `${c.region_code} ${c.level} ${c.need} ${c.parameter_version} ${c.as_of}`);
    const expected = (region: string, p: NeedParameters, year: number, asOf: string) =>
      computeNeeds(p, year, work(region))
        .map((c) => `${region} ${c.level} ${c.need} ${p.version} ${asOf}`)
        .sort();
    expect(await computed(2027)).toEqual(expected(PLG, v2027, 2027, B));
    expect(await computed(2026)).toEqual([...expected(OKI, shipped, 2026, A), ...expected(PLG, shipped, 2026, A)]);
    // GET /needs: the year is still the national evaluation's; each region shows its own as_of.
    expect((await getNeeds(db, { today: B })).year).toBe(2026);
    expect((await getNeeds(db, { region: PLG })).asOf).toBe(B);
    expect((await getNeeds(db, { region: OKI })).asOf).toBe(A);

    // The same region again on B: evaluated already, so a quiet run (nothing published).
    const again = await sync(
      db,
      { kind: 'region', value: PLG },
      B,
      { plg: 'unchanged' },
      {
        tolerance: 0.2,
        formationStartYear: 2019,
      },
    );
    expect(again.version).toBeNull();
    expect(again.findings.resolved).toBe(0);

    // The next national run, on B: everything on B, register_state too.
    await sync(
      db,
      { kind: 'national' },
      B,
      { plg: 'unchanged', oki: 'unchanged' },
      {
        tolerance: 0.2,
        formationStartYear: 2019,
      },
    );
    expect(await evaluatedAsOf(db)).toBe(B);
    expect(await flagged(db)).toEqual([oki.turns.nip, plg.turns.nip].sort());
    expect(await open(db, 'past_retirement_age')).toEqual({
      [`past_retirement_age|${oki.turns.nip}`]: B,
      [`past_retirement_age|${plg.turns.nip}`]: B,
    });
    expect(await open(db, 'formation_missing')).toEqual({
      [`formation_missing|${OKI}|2027`]: null,
      [`formation_missing|${PLG}|2027`]: null,
    });
    expect(await open(db, 'over_formation')).toEqual({});
    expect(Object.keys(await open(db, 'appointed_without_formation'))).toHaveLength(8);
    expect(await open(db, 'retirement_wave')).toEqual({ [`retirement_wave|${OKI}`]: B, [`retirement_wave|${PLG}`]: B });
    expect(await outlookDates(db)).toEqual({ [OKI]: B, [PLG]: B });
    expect(await computed(2027)).toEqual([...expected(OKI, v2027, 2027, B), ...expected(PLG, v2027, 2027, B)]);
  });

  it('a national run on the last national as_of evaluates again the regions scoped runs left on another date', async () => {
    const { db } = t;
    await insertSource(db, { id: 'lahat', regionCode: '16.04' });
    await insertSource(db, { id: 'pali', regionCode: '16.12' });
    const lahat = regionOfficers('16.04', '11');
    const pali = regionOfficers('16.12', '21');
    await sync(db, { kind: 'national' }, A, {
      plg: 'unchanged',
      oki: 'unchanged',
      lahat: snapshotOf(all(lahat), { formations: [formation('16.04', 4)] }),
      pali: snapshotOf(all(pali), { formations: [formation('16.12', 4)] }),
    });
    expect(await evaluatedAsOf(db)).toBe(A);
    const flaggedOnA = await flagged(db);
    expect(flaggedOnA).not.toContain(lahat.turns.nip);

    // Lahat re-synced on B, with a change: its officers evaluated on B, PALI's left on A.
    const moved = { ...lahat.young[0]!, unit: 'UPT Lahat' };
    await sync(db, { kind: 'region', value: '16.04' }, B, {
      lahat: snapshotOf([lahat.turns, lahat.wave, moved, lahat.young[1]!], { formations: [formation('16.04', 4)] }),
    });
    expect(await evaluatedAsOf(db)).toBe(A);
    expect(await flagged(db)).toContain(lahat.turns.nip);
    expect(await flagged(db)).not.toContain(pali.turns.nip);
    expect(await open(db, 'retirement_wave')).toMatchObject({ 'retirement_wave|16.04': B });
    expect(await open(db, 'retirement_wave')).not.toHaveProperty('retirement_wave|16.12');
    expect((await outlookDates(db))['16.04']).toBe(B);
    expect((await outlookDates(db))['16.12']).toBe(A);

    // A national run on A again, nothing re-read: Lahat is brought back to A (flag, findings,
    // outlook), everything else is as it was.
    const back = await sync(db, { kind: 'national' }, A, {
      plg: 'unchanged',
      oki: 'unchanged',
      lahat: 'unchanged',
      pali: 'unchanged',
    });
    expect(back.version).not.toBeNull();
    expect(await evaluatedAsOf(db)).toBe(A);
    expect(await flagged(db)).toEqual(flaggedOnA);
    expect(await open(db, 'past_retirement_age')).not.toHaveProperty(`past_retirement_age|${lahat.turns.nip}`);
    expect(await open(db, 'retirement_wave')).not.toHaveProperty('retirement_wave|16.04');
    expect(await open(db, 'formation_missing')).not.toHaveProperty('formation_missing|16.04|2027');
    expect(new Set(Object.values(await outlookDates(db)))).toEqual(new Set([A]));
  });

  it('also evaluates on its as_of, in full, a region its changes reach (a transfer from another region)', async () => {
    const { db } = t;
    await insertSource(db, { id: 'muba', regionCode: '16.06' });
    await insertSource(db, { id: 'banyuasin', regionCode: '16.07' });
    const muba = regionOfficers('16.06', '12');
    const banyuasin = regionOfficers('16.07', '22');
    const national = {
      plg: 'unchanged',
      oki: 'unchanged',
      lahat: 'unchanged',
      pali: 'unchanged',
    } as const;
    await sync(db, { kind: 'national' }, A, {
      ...national,
      muba: snapshotOf(all(muba)),
      banyuasin: snapshotOf(all(banyuasin)),
    });
    // Banyuasin re-synced on B lists a Musi Banyuasin officer with a later TMT (R10 transfer):
    // Musi Banyuasin is touched, so it is evaluated on B too, in full; no other region is.
    const transferred = { ...muba.young[1]!, regionCode: '16.07', tmtJabatan: '2026-10-01' };
    await sync(db, { kind: 'region', value: '16.07' }, B, {
      banyuasin: snapshotOf([...all(banyuasin), transferred]),
    });
    expect(await evaluatedAsOf(db)).toBe(A);
    expect(await flagged(db)).toEqual([banyuasin.turns.nip, muba.turns.nip].sort());
    const dates = await outlookDates(db);
    expect([dates['16.06'], dates['16.07'], dates['16.04'], dates['16.12']]).toEqual([B, B, A, A]);
    // Musi Banyuasin still lists the officer (R10); re-synced without them, its finding is resolved.
    const stillListed = `transferred_officer_still_listed|muba|${transferred.nip}`;
    expect(Object.keys(await open(db, 'transferred_officer_still_listed'))).toEqual([stillListed]);
    const dropped = await sync(db, { kind: 'region', value: '16.06' }, B, {
      muba: snapshotOf(all(muba).filter((o) => o.nip !== transferred.nip)),
    });
    expect(await open(db, 'transferred_officer_still_listed')).toEqual({});
    const resolved = await db
      .selectFrom('findings')
      .select('resolved_run_id')
      .where('fingerprint', '=', stillListed)
      .executeTakeFirstOrThrow();
    expect(resolved.resolved_run_id).toBe(dropped.runId);
  });
});
