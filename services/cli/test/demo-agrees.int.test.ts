import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type RunningApi } from '@pksync/api';
import { loadConfig } from '@pksync/config';
import { getRegionSummaries } from '@pksync/db';
import { LEVEL_CODES } from '@pksync/reference';
import { insertSource, useTestDatabase, useTestRedis } from '@pksync/testing';
import { provinceLines } from '../src/commands/demo.command.ts';

interface ApiRegion {
  code: string;
  officers: Record<string, number>;
  active_officers: number;
  formation: Record<string, { approved: number; need: number; filled: number; shortfall: number } | null>;
  shortfall: number;
  coverage: { covered: number; total: number };
}

// The demo's national summary and `GET /regions` read the same figures (getRegionSummaries): R12
// formation and shortfall, R13 coverage, for each province with its regencies/cities.
describe('the demo summary and GET /regions show the same province figures', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let api: RunningApi;

  beforeAll(async () => {
    const { db } = t;
    for (const region of ['16.71', '16.02', '16.03', '31.71'])
      await insertSource(db, { id: `src-${region}`, regionCode: region });
    const run = await db
      .insertInto('runs')
      .values({
        scope_kind: 'national',
        scope_key: 'national',
        trigger: 'manual',
        as_of: '2026-11-27',
        status: 'completed',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('publications')
      .values({ version: 1, run_id: run.id, as_of: '2026-11-27', counts: '{}' })
      .execute();
    // Palembang is short of 3 Ahli Pertama, OKI over its formation by 2 (which fills none of
    // Palembang's gap), Ogan Komering Ulu has officers and no formation.
    const officers: [string, string, boolean][] = [
      ['16.71', 'ahli_pertama', true],
      ['16.71', 'ahli_muda', true],
      ['16.02', 'ahli_pertama', true],
      ['16.02', 'ahli_pertama', true],
      ['16.02', 'ahli_pertama', true],
      ['16.02', 'ahli_pertama', false],
      ['16.03', 'ahli_madya', true],
      ['31.71', 'ahli_pertama', true],
    ];
    await db
      .insertInto('officer_records')
      .values(
        officers.map(([region, level, active], i) => ({
          nip: `19850312201001100${i}`,
          source_id: `src-${region}`,
          region_code: region,
          province_code: region.slice(0, 2),
          name: `Budi ${i}`,
          name_normalised: `budi ${i}`,
          gender: 'L' as const,
          birth_date: '1985-03-12',
          level,
          grade: 'III/a',
          unit: 'Disnaker',
          tmt_jabatan: '2020-01-01',
          status: active ? 'aktif' : 'pensiun',
          active,
          valid_from: 1,
        })),
      )
      .execute();
    const formations: [string, string, number, number][] = [
      ['16.71', 'ahli_pertama', 2, 4],
      ['16.71', 'ahli_muda', 1, 1],
      ['16.02', 'ahli_pertama', 1, 1],
      ['31.71', 'ahli_pertama', 3, 3],
    ];
    await db
      .insertInto('formations')
      .values(
        formations.map(([region, level, approved, need]) => ({
          source_id: `src-${region}`,
          region_code: region,
          year: 2026,
          level,
          approved,
          need,
          valid_from: 1,
        })),
      )
      .execute();
    // The API as the demo starts it.
    const env = { DATABASE_URL: t.url, REDIS_URL: r.url, QUEUE_PREFIX: r.prefix, PORT: '0', LOG_LEVEL: 'silent' };
    api = await start(loadConfig(env), { db, webRoot: null });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('for every province: officers by level, formasi, kebutuhan, kekurangan, coverage', async () => {
    const res = await fetch(`${api.url}/api/v1/regions?level=province`);
    expect(res.status).toBe(200);
    const byCode = new Map(((await res.json()) as { data: ApiRegion[] }).data.map((x) => [x.code, x]));
    const lines = provinceLines(await getRegionSummaries(t.db, { year: 2026 }));
    expect(lines.length).toBeGreaterThan(30);
    expect([...byCode.keys()]).toEqual(lines.map((l) => l.code));
    const cells = (p: ApiRegion) => LEVEL_CODES.flatMap((l) => (p.formation[l] ? [p.formation[l]] : []));
    for (const line of lines) {
      const p = byCode.get(line.code)!;
      expect({
        byLevel: p.officers,
        active: p.active_officers,
        formasi: cells(p).reduce((a, c) => a + c.approved, 0),
        kebutuhan: cells(p).reduce((a, c) => a + c.need, 0),
        kekurangan: p.shortfall,
        covered: p.coverage.covered,
        total: p.coverage.total,
      }).toEqual({
        byLevel: line.byLevel,
        active: line.active,
        formasi: line.formasi,
        kebutuhan: line.kebutuhan,
        kekurangan: line.kekurangan,
        covered: line.covered,
        total: line.total,
      });
    }
    // R12 per region: Palembang's 3 missing Ahli Pertama stay missing whatever OKI has over; so
    // does its one free position (R17), though the province as a whole has more officers than positions.
    expect(byCode.get('16')?.formation.ahli_pertama).toEqual({
      approved: 3,
      need: 5,
      filled: 4,
      shortfall: 3,
      available_formation: 1,
    });
    expect(byCode.get('16')).toMatchObject({ shortfall: 3, active_officers: 6, coverage: { covered: 3, total: 17 } });
    expect(lines.find((l) => l.code === '16')).toMatchObject({ kekurangan: 3, formasi: 4, kebutuhan: 6 });
  });
});
