import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appointmentFindings,
  computeNeeds,
  retirementOutlook,
  type Complexity,
  type FindingCode,
  type Workload,
} from '@pksync/core';
import { LEVEL_CODES, levelByCode } from '@pksync/reference';
import { addContact, needParametersInForce, type Db } from '@pksync/db';
import { triggerRun } from '@pksync/queue';
import { start as startApi, type RunningApi } from '@pksync/api';
import type { PlanningCaseReport } from '@pksync/simulator';
import { dayDate, simulatorWithSources, usePipeline, waitForRun } from './support/harness.ts';

// Needs and formation planning end to end (issue 15): the simulator's agencies send workload
// over api, csv and xlsx with seeded R16–R18 cases → queues → a real worker → the register, the
// findings, a province's digest, and GET /needs over HTTP, checked against recomputations from
// the staged rows with the core rules.

const AS_OF = dayDate(0);
const YEAR = Number(AS_OF.slice(0, 4));

interface Digest {
  province_code: string;
  groups: { code: string; region_code: string | null; rows: { finding_id: number }[] }[];
}

async function startReceiver(): Promise<{ url: string; bodies: Digest[]; close(): Promise<void> }> {
  const bodies: Digest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Digest);
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The open findings of `code`, as `region → nips` (or `region → [null]` for region findings). */
async function openFindings(db: Db, code: FindingCode) {
  return db
    .selectFrom('findings')
    .select(['region_code', 'nip', 'details', 'province_code'])
    .where('code', '=', code)
    .where('status', '<>', 'resolved')
    .execute();
}

/** The staged rows of the snapshots the sources are listed with (what the register was built from). */
async function listedWorkloads(db: Db): Promise<Workload[]> {
  const rows = await db
    .selectFrom('staged_workloads as w')
    .innerJoin('source_listings as l', (j) =>
      j.onRef('l.run_id', '=', 'w.run_id').onRef('l.source_id', '=', 'w.source_id'),
    )
    .select(['w.region_code', 'w.year', 'w.activity', 'w.volume', 'w.districts', 'w.complexity', 'w.position'])
    .execute();
  return rows.map((r) => ({
    regionCode: r.region_code,
    year: r.year,
    activity: r.activity,
    volume: r.volume,
    districts: r.districts,
    complexity: r.complexity as Complexity | null,
    position: r.position,
  }));
}

interface NeedsLevel {
  level: string;
  formasi: number | null;
  kebutuhan_declared: number | null;
  kebutuhan_computed: number | null;
  terisi: number;
  available_formation: number | null;
  retiring: Record<'1' | '3' | '5', number>;
  projected_shortfall: Record<'1' | '3' | '5', number>;
}
interface NeedsRow {
  kind: string;
  code: string | null;
  parameter_version: string | null;
  parameter_status: string | null;
  levels: NeedsLevel[];
}

describe('needs planning end to end: workload over api, csv and xlsx, R16–R18, GET /needs', () => {
  const env = usePipeline((db, config) => simulatorWithSources(db, config, { regions: '16', defectRate: 0 }));
  let hook: Awaited<ReturnType<typeof startReceiver>>;
  let api: RunningApi;
  let cases: PlanningCaseReport[];

  beforeAll(async () => {
    hook = await startReceiver();
    await addContact(
      env.db,
      { provinceCode: '16', kind: 'webhook', address: hook.url, secret: 'secret-of-province-16' },
      env.config.tokenKey,
    );
    cases = env.sim.planningCases();
    const { run } = await triggerRun(env.db, env.queues, {
      scope: { kind: 'national' },
      trigger: 'manual',
      requestedBy: 'test',
      asOf: AS_OF,
    });
    expect((await waitForRun(env.db, run.id, 120_000)).status).toBe('completed');
    api = await startApi({ ...env.config, port: 0, host: '127.0.0.1' }, { webRoot: null });
  }, 180_000);
  afterAll(async () => {
    await api?.close();
    await hook?.close();
  });

  it('takes workload from every transport and computes each region’s need as core does from the staged rows', async () => {
    const transports = new Set(cases.filter((c) => c.sendsWorkload).map((c) => c.transport));
    expect([...transports].sort()).toEqual(['api', 'csv', 'xlsx']);
    const params = await needParametersInForce(env.db, AS_OF);
    expect(params?.status).toBe('unconfirmed');
    const expected = computeNeeds(params!.parameters, YEAR, await listedWorkloads(env.db));
    const stored = await env.db
      .selectFrom('computed_needs')
      .select(['region_code', 'level', 'need', 'parameter_version'])
      .where('year', '=', YEAR)
      .orderBy('region_code')
      .orderBy('level')
      .execute();
    expect(stored.map((r) => `${r.region_code}|${r.level}|${r.need}|${r.parameter_version}`).sort()).toEqual(
      expected.map((n) => `${n.regionCode}|${n.level}|${n.need}|${n.parameterVersion}`).sort(),
    );
    // Every region that sends workload has a need for every level; the simulator's own figure agrees.
    for (const c of cases.filter((x) => x.sendsWorkload)) {
      for (const level of LEVEL_CODES) {
        const row = stored.find((r) => r.region_code === c.regionCode && r.level === level);
        expect(row?.need, `${c.regionCode} ${level}`).toBe(c.computedNeeds[YEAR]?.[level]);
      }
    }
    // The odd rows were rejected with the v1 codes (R6), the good ones kept.
    const odd = cases.find((c) => c.oddWorkloadRows)!;
    const rejected = await env.db
      .selectFrom('rejected_records')
      .select(['codes', 'fields'])
      .where('source_id', '=', odd.sourceId)
      .execute();
    expect(rejected.flatMap((r) => r.fields).sort()).toEqual(expect.arrayContaining(['kegiatan', 'tahun', 'volume']));
  });

  it('raises R16–R18 findings exactly where the simulator seeded them', async () => {
    const differs = await openFindings(env.db, 'need_differs_from_declared');
    const seededDiffers = cases.flatMap((c) => c.needDiffersLevels.map((l) => `${c.regionCode}|${l}`));
    expect(seededDiffers.length).toBeGreaterThan(0);
    expect(differs.map((f) => `${f.region_code}|${(f.details as { level: string }).level}`).sort()).toEqual(
      seededDiffers.sort(),
    );
    for (const f of differs) {
      const c = cases.find((x) => x.regionCode === f.region_code)!;
      const d = f.details as { level: 'ahli_pertama'; computed: number; declared: number; parameterVersion: string };
      expect(d.computed).toBe(c.computedNeeds[YEAR]![d.level]);
      expect(d.declared).toBe(c.declaredNeeds[YEAR]![d.level]);
      expect(d.parameterVersion).toBe('2023-placeholder-1');
    }

    const missing = (await openFindings(env.db, 'workload_missing')).map((f) => f.region_code).sort();
    // Only regions with officers need workload (South Sumatra's simulated agencies include some without any).
    const staffed = new Set(
      env.sim
        .agencies()
        .filter((a) => a.officers > 0)
        .map((a) => a.id),
    );
    expect(missing.length).toBeGreaterThan(0);
    expect(missing).toEqual(
      cases
        .filter((c) => !c.sendsWorkload && staffed.has(c.sourceId))
        .map((c) => c.regionCode)
        .sort(),
    );

    const wave = (await openFindings(env.db, 'retirement_wave')).map((f) => f.region_code).sort();
    expect(wave).toEqual(
      cases
        .filter((c) => c.retirementWave)
        .map((c) => c.regionCode)
        .sort(),
    );

    for (const code of ['appointed_without_formation', 'appointed_beyond_formation'] as const) {
      const found = await openFindings(env.db, code);
      const seeded = cases.filter(
        (c) => c.appointment === (code === 'appointed_without_formation' ? 'without' : 'beyond'),
      );
      expect(seeded.length).toBeGreaterThan(0);
      for (const c of seeded) {
        const nips = found.filter((f) => f.region_code === c.regionCode).map((f) => f.nip);
        expect(nips.sort()).toEqual([...c.appointmentDetail!.nips].sort());
      }
      // Agencies without a seeded case and with formations have none.
      const clean = cases.filter((c) => c.appointment === null && c.hasFormation).map((c) => c.regionCode);
      expect(found.filter((f) => clean.includes(f.region_code!))).toEqual([]);
    }
  });

  it('R17 in the register equals the core rule over the register and its formations', async () => {
    const officers = await env.db
      .selectFrom('officer_records')
      .select(['nip', 'region_code', 'level', 'tmt_jabatan'])
      .where('valid_to', 'is', null)
      .where('active', '=', true)
      .execute();
    const formations = await env.db
      .selectFrom('formations')
      .select(['region_code', 'level', 'year', 'approved'])
      .where('valid_to', 'is', null)
      .execute();
    const expected: string[] = [];
    const groups = new Map<string, { nip: string; tmtJabatan: string }[]>();
    for (const o of officers) {
      const k = `${o.region_code}|${o.level}`;
      groups.set(k, [...(groups.get(k) ?? []), { nip: o.nip, tmtJabatan: o.tmt_jabatan }]);
    }
    for (const [k, list] of groups) {
      const [region, level] = k.split('|');
      const formasiByYear = new Map(
        formations.filter((f) => f.region_code === region && f.level === level).map((f) => [f.year, f.approved]),
      );
      for (const f of appointmentFindings({
        officers: list,
        formasiByYear,
        startYear: env.config.needs.formationStartYear,
      }))
        expected.push(`${f.code}|${f.nip}`);
    }
    const found = [
      ...(await openFindings(env.db, 'appointed_without_formation')).map((f) => `appointed_without_formation|${f.nip}`),
      ...(await openFindings(env.db, 'appointed_beyond_formation')).map((f) => `appointed_beyond_formation|${f.nip}`),
    ];
    expect(found.sort()).toEqual(expected.sort());
  });

  it('sends the R16–R18 findings in the province’s digest', async () => {
    await expect.poll(() => hook.bodies.length, { timeout: 60_000, interval: 100 }).toBeGreaterThan(0);
    const codes = new Set(hook.bodies.flatMap((b) => b.groups.map((g) => g.code)));
    for (const code of [
      'need_differs_from_declared',
      'workload_missing',
      'appointed_without_formation',
      'appointed_beyond_formation',
      'retirement_wave',
    ])
      expect(codes, code).toContain(code);
    expect(hook.bodies.every((b) => b.province_code === '16')).toBe(true);
  });

  it('GET /needs equals a recomputation from the staged rows and the register', async () => {
    const res = await fetch(`${api.url}/api/v1/needs?province=16`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      year: number;
      parameters: { version: string; status: string } | null;
      total: NeedsRow;
      data: NeedsRow[];
    };
    expect(body.year).toBe(YEAR);
    expect(body.parameters).toMatchObject({ version: '2023-placeholder-1', status: 'unconfirmed' });

    const params = await needParametersInForce(env.db, AS_OF);
    const computed = computeNeeds(params!.parameters, YEAR, await listedWorkloads(env.db));
    const staged = await env.db
      .selectFrom('staged_formations as f')
      .innerJoin('source_listings as l', (j) =>
        j.onRef('l.run_id', '=', 'f.run_id').onRef('l.source_id', '=', 'f.source_id'),
      )
      .select(['f.region_code', 'f.level', 'f.need', 'f.approved'])
      .where('f.year', '=', YEAR)
      .execute();
    const officers = await env.db
      .selectFrom('officer_records')
      .select(['region_code', 'level', 'birth_date'])
      .where('valid_to', 'is', null)
      .where('active', '=', true)
      .execute();

    const regionRows = body.data.filter((r) => r.kind === 'region');
    expect(regionRows.length).toBeGreaterThanOrEqual(cases.length);
    let checked = 0;
    for (const row of regionRows) {
      const outlook = retirementOutlook({
        officers: officers
          .filter((o) => o.region_code === row.code)
          .map((o) => ({ birthDate: o.birth_date, level: o.level })),
        asOf: AS_OF,
        retirementAge: (l) => levelByCode(l)!.retirementAge,
      });
      for (const lv of row.levels) {
        const c = computed.find((n) => n.regionCode === row.code && n.level === lv.level);
        const f = staged.find((s) => s.region_code === row.code && s.level === lv.level);
        const o = outlook[lv.level] ?? { active: 0, retiring: { 1: 0, 3: 0, 5: 0 } };
        const need = c?.need ?? f?.need ?? 0;
        expect(lv, `${row.code} ${lv.level}`).toEqual({
          level: lv.level,
          formasi: f?.approved ?? null,
          kebutuhan_declared: f?.need ?? null,
          kebutuhan_computed: c?.need ?? null,
          terisi: o.active,
          available_formation: f ? Math.max(f.approved - o.active, 0) : null,
          retiring: { 1: o.retiring[1], 3: o.retiring[3], 5: o.retiring[5] },
          projected_shortfall: {
            1: Math.max(need - (o.active - o.retiring[1]), 0),
            3: Math.max(need - (o.active - o.retiring[3]), 0),
            5: Math.max(need - (o.active - o.retiring[5]), 0),
          },
        });
        checked++;
      }
      if (computed.some((n) => n.regionCode === row.code)) expect(row.parameter_version).toBe('2023-placeholder-1');
    }
    expect(checked).toBe(regionRows.length * LEVEL_CODES.length);
    // The province row adds its regions up.
    for (const [i, lv] of body.total.levels.entries()) {
      expect(lv.terisi).toBe(regionRows.reduce((s, r) => s + r.levels[i]!.terisi, 0));
      expect(lv.projected_shortfall['5']).toBe(
        regionRows.reduce((s, r) => s + r.levels[i]!.projected_shortfall['5'], 0),
      );
    }
  });
});
