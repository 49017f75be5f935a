import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import {
  ageOn,
  formationFindings,
  isActiveStatus,
  isPastRetirement,
  isStale,
  type Formation,
  type Officer,
  type OfficerStatus,
} from '@pksync/core';
import { LEVEL_CODES, levelByCode, type LevelCode } from '@pksync/reference';
import { insertSource, snapshotOf, useTestDatabase } from '@pksync/testing';
import type { Db } from '../src/db.ts';
import { getRegionSummaries } from '../src/repositories/register.repository.ts';
import { stageSnapshot } from '../src/repositories/staging.repository.ts';
import { LAST_SUCCESS_SQL, STALE_SQL } from '../src/repositories/staleness.sql.ts';
import { reconcileRun } from '../src/reconcile/reconcile.ts';

// Where a rule runs in SQL for speed and @pksync/core keeps its pure function as the oracle, these
// tests pin the SQL to the oracle over random inputs (R10's pin is in register.int.test.ts).

/** A seeded random number generator (each test its own, so a test alone draws the same). */
function seeded(seed: number) {
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return { rand, pick: <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]! };
}

let runSeq = 0;
/** A run row for fetches to point at. */
const insertRun = async (db: Db, asOf: string): Promise<string> =>
  (
    await db
      .insertInto('runs')
      .values({
        scope_kind: 'national',
        scope_key: `oracle:${++runSeq}`,
        trigger: 'manual',
        as_of: asOf,
        status: 'running',
      })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;

describe('R9 STALE_SQL matches isStale', () => {
  const t = useTestDatabase();

  it('flags the same sources stale, and the region summaries count them', async () => {
    const { db } = t;
    const { rand, pick } = seeded(7);
    const base = (await sql<{ now: Date }>`select now() as now`.execute(db)).rows[0]!.now;
    const DAY = 24 * 60;
    // Minutes before `base`: either side of the 3 days, and on them. Whole minutes keep the
    // comparison exact although the SQL reads its clock a moment later.
    const offsets = [0, 60, 3 * DAY - 1, 3 * DAY, 3 * DAY + 1, 7 * DAY];
    const ago = (minutes: number) => new Date(base.getTime() - minutes * 60_000);
    const runs = [
      await insertRun(db, '2026-11-27'),
      await insertRun(db, '2026-11-27'),
      await insertRun(db, '2026-11-27'),
    ];
    const regions = ['16.01', '16.02', '17.01'];
    type Fetch = { status: string; finished: Date | null; started: Date };
    const expected = new Map<string, { region: string; stale: boolean; last: Date | null }>();
    for (let i = 0; i < 60; i++) {
      const id = `src-${i}`;
      const region = regions[i % regions.length]!;
      const createdAt = ago(pick(offsets));
      const stamp = rand() < 0.4 ? null : ago(pick(offsets));
      await insertSource(db, { id, regionCode: region, created_at: createdAt, last_success_at: stamp });
      const fetches: Fetch[] = [];
      for (const runId of runs.slice(0, Math.floor(rand() * 4))) {
        const status = pick(['succeeded', 'unchanged', 'failed', 'pending', 'running'] as const);
        const started = ago(pick(offsets));
        const finished = status === 'pending' || status === 'running' || rand() < 0.2 ? null : ago(pick(offsets));
        fetches.push({ status, finished, started });
        await db
          .insertInto('source_fetches')
          .values({ run_id: runId, source_id: id, status, attempts: 1, started_at: started, finished_at: finished })
          .execute();
      }
      // The oracle: R9 from the latest finished fetch and the last success (stamp or fetch).
      const latestFinished = fetches.filter((f) => ['succeeded', 'unchanged', 'failed'].includes(f.status)).at(-1);
      const latestSuccess = fetches.filter((f) => f.status === 'succeeded' || f.status === 'unchanged').at(-1);
      const fetched = latestSuccess ? (latestSuccess.finished ?? latestSuccess.started) : null;
      const last = stamp && fetched ? (stamp > fetched ? stamp : fetched) : (stamp ?? fetched);
      const stale = latestFinished?.status === 'failed' || isStale(last, createdAt, base);
      expected.set(id, { region, stale, last });
    }

    const got = await sql<{ id: string; stale: boolean; last: Date | null }>`
      select s.id, ${STALE_SQL} as stale, ${LAST_SUCCESS_SQL} as last
      from sources s
      left join lateral (select f.status from source_fetches f
                         where f.source_id = s.id and f.status in ('succeeded', 'unchanged', 'failed')
                         order by f.id desc limit 1) lf on true`.execute(db);
    expect(Object.fromEntries(got.rows.map((r) => [r.id, [r.stale, r.last?.getTime() ?? null]]))).toEqual(
      Object.fromEntries([...expected].map(([id, e]) => [id, [e.stale, e.last?.getTime() ?? null]])),
    );
    // Not vacuous: stale for each reason, and fresh sources too.
    const all = [...expected.values()];
    expect(all.filter((e) => e.stale).length).toBeGreaterThan(5);
    expect(all.filter((e) => !e.stale).length).toBeGreaterThan(5);

    const summaries = new Map((await getRegionSummaries(db, { year: 2026 })).map((s) => [s.code, s]));
    for (const region of regions) {
      const mine = all.filter((e) => e.region === region);
      const lastTimes = mine.flatMap((e) => (e.last ? [e.last.getTime()] : []));
      expect(summaries.get(region)).toMatchObject({
        sources: mine.length,
        staleSources: mine.filter((e) => e.stale).length,
        stale: mine.some((e) => e.stale),
        lastSuccessAt: lastTimes.length ? new Date(Math.max(...lastTimes)) : null,
      });
    }
    // A province's area adds up its regencies/cities.
    expect(summaries.get('16')?.area.staleSources).toBe(
      all.filter((e) => e.region.startsWith('16.') && e.stale).length,
    );
  });
});

describe('R11 and R12 in the reconciliation match isPastRetirement and formationFindings', () => {
  const t = useTestDatabase();

  it('flags and finds the same, over random birth dates (leap days included) and formations, as as_of moves', async () => {
    const { db } = t;
    const { rand, pick } = seeded(11);
    const regions = ['16.01', '16.02', '16.03', '16.71', '17.01', '17.02'];
    for (const r of regions) await insertSource(db, { id: `src-${r}`, regionCode: r });
    const years = [2026, 2027, 2028];

    // Birth dates around every level's retirement boundary on each as_of: 1959–1972, late February
    // and early March (29 February where the year has one).
    const births: string[] = [];
    for (let y = 1959; y <= 1972; y++) {
      for (const md of ['02-27', '02-28', '02-29', '03-01', '07-15']) {
        if (md === '02-29' && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0))) continue;
        births.push(`${y}-${md}`);
      }
    }
    const statuses: OfficerStatus[] = ['aktif', 'aktif', 'aktif', 'cuti', 'pensiun'];
    let seq = 0;
    const officers: Officer[] = births.flatMap((birthDate) =>
      [0, 1].map((): Officer => {
        const by = Number(birthDate.slice(0, 4));
        return {
          nip: `${birthDate.replace(/-/g, '')}${by + 22}011${String(++seq).padStart(3, '0')}`,
          name: `Budi Santoso ${seq}`,
          nameNormalised: `budi santoso ${seq}`,
          gender: 'L',
          birthDate,
          level: pick(LEVEL_CODES),
          grade: 'III/a',
          unit: 'Dinas Tenaga Kerja',
          regionCode: pick(regions),
          tmtJabatan: '2020-01-01',
          status: pick(statuses),
          email: null,
          phone: null,
          updatedAt: null,
          position: seq + 1,
        };
      }),
    );
    // Formations: some regions none for a year (formation_missing), others some levels.
    const formations: Formation[] = [];
    for (const regionCode of regions)
      for (const year of years) {
        if (rand() < 0.3) continue;
        for (const level of LEVEL_CODES)
          if (rand() < 0.6) {
            formations.push({
              regionCode,
              year,
              level,
              approved: Math.floor(rand() * 4),
              need: Math.floor(rand() * 6),
              position: 2,
            });
          }
      }

    /** One run: each source re-read (its snapshot) or unchanged, reconciled on `asOf`. */
    const sync = async (asOf: string, reread: boolean) => {
      const runId = await insertRun(db, asOf);
      for (const region of regions) {
        const sourceId = `src-${region}`;
        const f = await db
          .insertInto('source_fetches')
          .values({
            run_id: runId,
            source_id: sourceId,
            status: reread ? 'succeeded' : 'unchanged',
            attempts: 1,
            started_at: new Date(),
            finished_at: new Date(),
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        if (!reread) continue;
        const mine = officers.filter((o) => o.regionCode === region);
        await stageSnapshot(db, {
          runId,
          sourceId,
          fetchId: f.id,
          result: snapshotOf(mine, { formations: formations.filter((x) => x.regionCode === region) }),
        });
      }
      await reconcileRun(db, { runId, asOf });
      await db.updateTable('runs').set({ status: 'completed' }).where('id', '=', runId).execute();
    };

    const check = async (asOf: string) => {
      const year = Number(asOf.slice(0, 4));
      // R11: the flag of every register row and the open findings (with the age they state).
      const flagged = officers.filter((o) =>
        isPastRetirement({
          birthDate: o.birthDate,
          asOf,
          retirementAge: levelByCode(o.level)!.retirementAge,
          active: isActiveStatus(o.status),
        }),
      );
      const rows = await db
        .selectFrom('officer_records')
        .select(['nip', 'past_retirement'])
        .where('valid_to', 'is', null)
        .execute();
      expect(
        rows
          .filter((r) => r.past_retirement)
          .map((r) => r.nip)
          .sort(),
      ).toEqual(flagged.map((o) => o.nip).sort());
      const open = await db.selectFrom('findings').selectAll().where('status', '<>', 'resolved').execute();
      const retirement = open.filter((f) => f.code === 'past_retirement_age');
      expect(retirement.map((f) => [f.nip, (f.details as { age: number }).age]).sort()).toEqual(
        flagged.map((o) => [o.nip, ageOn(o.birthDate, asOf)]).sort(),
      );
      // R12: formation_missing per region, over_formation per region and level, for the year.
      const expectedMissing: string[] = [];
      const expectedOver: string[] = [];
      for (const region of regions) {
        const activeByLevel: Record<string, number> = {};
        for (const o of officers)
          if (o.regionCode === region && isActiveStatus(o.status))
            activeByLevel[o.level] = (activeByLevel[o.level] ?? 0) + 1;
        const formasiByLevel = Object.fromEntries(
          formations.filter((f) => f.regionCode === region && f.year === year).map((f) => [f.level, f.approved]),
        );
        const d = formationFindings({ activeByLevel, formasiByLevel });
        if (d.formationMissing) expectedMissing.push(region);
        for (const level of d.overFormationLevels) expectedOver.push(`${region}|${level}`);
      }
      const ofYear = (code: string) =>
        open.filter((f) => f.code === code && (f.details as { year: number }).year === year);
      expect(
        ofYear('formation_missing')
          .map((f) => f.region_code)
          .sort(),
      ).toEqual(expectedMissing.sort());
      expect(
        ofYear('over_formation')
          .map((f) => `${f.region_code}|${(f.details as { level: LevelCode }).level}`)
          .sort(),
      ).toEqual(expectedOver.sort());
      return {
        flagged: new Set(flagged.map((o) => o.nip)),
        missing: expectedMissing.length,
        over: expectedOver.length,
      };
    };

    // Snapshots on a 28 February (candidates: the date cut-off), then nothing re-read on a leap day
    // two years on (the register rows: age()), then re-read again on 1 March of a common year.
    await sync('2026-02-28', true);
    const first = await check('2026-02-28');
    await sync('2028-02-29', false);
    const second = await check('2028-02-29');
    await sync('2027-03-01', true);
    const third = await check('2027-03-01');
    // Not vacuous: officers flagged and not, regions without formation and over it.
    for (const c of [first, second, third]) {
      expect(c.flagged.size).toBeGreaterThan(3);
      expect(c.flagged.size).toBeLessThan(officers.length);
    }
    // … and the flags move with as_of, both ways (2028 flags more, the replay of 2027 fewer).
    expect([...second.flagged].filter((n) => !first.flagged.has(n)).length).toBeGreaterThan(0);
    expect([...second.flagged].filter((n) => !third.flagged.has(n)).length).toBeGreaterThan(0);
    expect(first.missing + second.missing + third.missing).toBeGreaterThan(0);
    expect(first.over + second.over + third.over).toBeGreaterThan(0);
  });
});
