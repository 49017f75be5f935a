import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  activityCodes,
  appointmentFindings,
  computeNeeds,
  isActiveStatus,
  isRetirementWave,
  needDiffers,
  retirementOutlook,
  SnapshotNormaliser,
  WorkloadPageSchema,
  type SnapshotResult,
} from '@pksync/core';
import { createConnector, sourceDefinitionFromImport, type SourceDefinition } from '@pksync/connectors';
import { levelByCode, type LevelCode } from '@pksync/reference';
import { shippedParametersOn } from '../src/planning.ts';
import { start, type PlanningCaseReport, type SimAgency, type Simulator } from '../src/index.ts';

// Needs planning (needs-planning-v1.md): the workload each agency serves on its own transport, read
// by the connectors and the core as the pipeline reads it, gives the R16–R18 cases the simulator
// says it seeded — and no other.
const AS_OF = '2026-06-01';
const params = shippedParametersOn(AS_OF);

/** What the pipeline would stage for an agency: its snapshot over its transport (an upload agency's workbook). */
async function snapshotOf(sim: Simulator, agency: SimAgency): Promise<SnapshotResult> {
  const entry = sim.sourcesFile().find((s) => s.id === agency.id)!;
  const base = `${sim.url}/agencies/${encodeURIComponent(agency.id)}`;
  const def: SourceDefinition =
    entry.transport === 'upload'
      ? sourceDefinitionFromImport({ ...entry, transport: 'xlsx', url: `${base}/data.xlsx` })
      : sourceDefinitionFromImport(entry);
  const normaliser = new SnapshotNormaliser({
    sourceRegion: agency.region.code,
    asOf: AS_OF,
    activityCodes: activityCodes(params),
  });
  for await (const item of createConnector(def.transport).fetch(def, {
    signal: new AbortController().signal,
    asOf: AS_OF,
    formationFromYear: 2024,
  })) {
    if (item.kind === 'officer') normaliser.addOfficer(item.record, item.position);
    else if (item.kind === 'formation') normaliser.addFormation(item.record, item.position);
    else normaliser.addWorkload(item.record, item.position);
  }
  return normaliser.finish();
}

/** R17 findings of a snapshot, per the core oracle. */
function r17(result: SnapshotResult) {
  const active = result.accepted.filter((o) => isActiveStatus(o.status));
  const out = [];
  for (const level of new Set(active.map((o) => o.level))) {
    const formasiByYear = new Map(
      result.formations.filter((f) => f.level === level).map((f) => [f.year, f.approved] as const),
    );
    out.push(
      ...appointmentFindings({ officers: active.filter((o) => o.level === level), formasiByYear, startYear: 2024 }),
    );
  }
  return out;
}

describe('simulator: needs planning, South Sumatra through the connectors and the core', () => {
  let sim: Simulator;
  let cases: Map<string, PlanningCaseReport>;
  const results = new Map<string, SnapshotResult>();
  beforeAll(async () => {
    sim = await start({ port: 0, seed: 7, regions: '16', faults: false, defectRate: 0, massRemoval: null });
    cases = new Map(sim.planningCases().map((c) => [c.sourceId, c]));
    for (const a of sim.agencies()) results.set(a.id, await snapshotOf(sim, a));
  });
  afterAll(() => sim.close());

  it('seeds every case at least once, each at its own agency', () => {
    const all = [...cases.values()];
    const staffed = sim.agencies().filter((a) => a.officers > 0);
    expect(all.filter((c) => !c.sendsWorkload && staffed.some((a) => a.id === c.sourceId))).toHaveLength(1);
    for (const key of ['oddWorkloadRows', 'needDiffers', 'retirementWave'] as const) {
      expect(all.filter((c) => c[key]).length, key).toBeGreaterThanOrEqual(1);
    }
    expect(all.filter((c) => c.appointment === 'without' && c.appointmentDetail)).toHaveLength(1);
    expect(all.filter((c) => c.appointment === 'beyond' && c.appointmentDetail)).toHaveLength(1);
    const seeded = all.filter(
      (c) => !c.sendsWorkload || c.oddWorkloadRows || c.needDiffers || c.retirementWave || c.appointment,
    );
    // Agencies without officers send nothing; each staffed one has at most one case.
    for (const c of seeded) {
      const n = [!c.sendsWorkload, c.oddWorkloadRows, c.needDiffers, c.retirementWave, c.appointment !== null];
      expect(n.filter(Boolean).length, c.sourceId).toBe(1);
    }
  });

  it('R16: every agency that sends workload has a need of the order of its officers, computed as served', () => {
    let checked = 0;
    for (const a of sim.agencies()) {
      const c = cases.get(a.id)!;
      const result = results.get(a.id)!;
      expect(result.workloads.length > 0, a.id).toBe(c.sendsWorkload);
      if (!c.sendsWorkload) {
        expect(c.computedNeeds).toEqual({});
        continue;
      }
      checked++;
      // One row per activity of the parameter set, for each year from 2024 (an api: the year asked).
      expect(result.workloads.filter((w) => w.year === 2026)).toHaveLength(Object.keys(params.activities).length);
      const years = a.transport === 'api' ? [2026] : [2024, 2025, 2026];
      expect(new Set(result.workloads.map((w) => w.year))).toEqual(new Set(years));
      const computed = Object.fromEntries(computeNeeds(params, 2026, result.workloads).map((n) => [n.level, n.need]));
      expect(computed, a.id).toEqual(c.computedNeeds[2026]);
      const total = Object.values(computed).reduce((s, n) => s + n, 0);
      expect(total, a.id).toBeGreaterThanOrEqual(a.officers);
      expect(total, a.id).toBeLessThanOrEqual(a.officers * 1.6 + 4);
    }
    expect(checked).toBeGreaterThan(5);
  });

  it('R16: the odd rows are rejected with the v1 codes, and only where seeded', () => {
    for (const a of sim.agencies()) {
      const rejected = results
        .get(a.id)!
        .rejected.filter((r) => r.fields.some((f) => ['kegiatan', 'volume', 'tahun'].includes(f)));
      if (!cases.get(a.id)!.oddWorkloadRows) {
        expect(rejected, a.id).toEqual([]);
        continue;
      }
      // Three per year (an api: the year asked): an unknown activity, a two-digit year, a volume of 12.5.
      const years = a.transport === 'api' ? 1 : 3;
      expect(rejected.map((r) => `${r.codes.join()}:${r.fields.join()}`).sort()).toEqual(
        ['date_invalid:tahun', 'field_missing:kegiatan', 'field_missing:volume']
          .flatMap((x) => Array<string>(years).fill(x))
          .sort(),
      );
      expect(rejected.find((r) => r.fields[0] === 'kegiatan')!.issues[0]!.detail).toContain('senam_pagi');
    }
  });

  it('R16: the declared need differs from the computed one exactly where seeded', () => {
    for (const a of sim.agencies()) {
      const c = cases.get(a.id)!;
      const result = results.get(a.id)!;
      if (!c.sendsWorkload || !a.hasFormation) continue;
      const computed = c.computedNeeds[2026]!;
      const differing = result.formations
        .filter((f) => f.year === 2026 && needDiffers(computed[f.level as LevelCode], f.need))
        .map((f) => f.level)
        .sort();
      expect(differing, a.id).toEqual([...c.needDiffersLevels].sort());
      expect(differing.length > 0).toBe(c.needDiffers);
    }
  });

  it('R17: appointments without or beyond their formation exactly where seeded, formations from 2024', () => {
    for (const a of sim.agencies()) {
      const c = cases.get(a.id)!;
      const result = results.get(a.id)!;
      if (a.hasFormation) expect(new Set(result.formations.map((f) => f.year))).toEqual(new Set([2024, 2025, 2026]));
      if (!a.hasFormation) continue; // every appointment since 2024 is without formation (R12 formation_missing)
      const findings = r17(result);
      const detail = c.appointmentDetail;
      if (!detail) {
        expect(findings, a.id).toEqual([]);
        continue;
      }
      const code = c.appointment === 'without' ? 'appointed_without_formation' : 'appointed_beyond_formation';
      expect(findings.map((f) => [f.code, f.year, f.nip]).sort(), a.id).toEqual(
        detail.nips.map((nip) => [code, detail.year, nip]).sort(),
      );
      expect(result.accepted.filter((o) => detail.nips.includes(o.nip)).every((o) => o.level === detail.level)).toBe(
        true,
      );
    }
  });

  it('R18: a retirement wave exactly where seeded, no officer past retirement on day 0', () => {
    for (const a of sim.agencies()) {
      const active = results.get(a.id)!.accepted.filter((o) => isActiveStatus(o.status));
      const outlook = retirementOutlook({
        officers: active,
        asOf: AS_OF,
        retirementAge: (l) => levelByCode(l)!.retirementAge,
      });
      expect(isRetirementWave(outlook), a.id).toBe(cases.get(a.id)!.retirementWave);
      for (const o of active) {
        const age = levelByCode(o.level)!.retirementAge;
        expect(`${Number(o.birthDate.slice(0, 4)) + age}${o.birthDate.slice(4)}` > AS_OF, o.nip).toBe(true);
      }
    }
  });

  it('api: the workload page of a year, 404 for another year or an agency that sends none', async () => {
    const apis = sim.agencies().filter((a) => a.transport === 'api' && a.token);
    const get = (a: SimAgency, year: number) =>
      fetch(`${sim.url}/agencies/${a.id}/v1/workloads?year=${year}`, {
        headers: { authorization: `Bearer ${a.token}` },
      });
    let sending = 0;
    for (const a of apis) {
      const res = await get(a, 2026);
      if (!cases.get(a.id)!.sendsWorkload) {
        expect(res.status, a.id).toBe(404);
        await res.arrayBuffer();
        continue;
      }
      sending++;
      expect(res.status).toBe(200);
      expect(WorkloadPageSchema.safeParse(await res.json()).success).toBe(true);
      const other = await get(a, 2019);
      expect(other.status).toBe(404);
      await other.arrayBuffer();
    }
    expect(sending).toBeGreaterThan(0);
  });

  it('workload files do not change with the days: the same ETag, 304', async () => {
    const csv = sim.sourcesFile().filter((s) => s.workloads_url);
    expect(csv.length).toBeGreaterThan(0);
    const tags = new Map<string, string>();
    for (const s of csv) {
      const res = await fetch(s.workloads_url!);
      await res.arrayBuffer();
      tags.set(s.id, res.headers.get('etag')!);
    }
    sim.setDay(2);
    try {
      for (const s of csv) {
        const res = await fetch(s.workloads_url!, { headers: { 'if-none-match': tags.get(s.id)! } });
        expect(res.status, s.id).toBe(304);
      }
    } finally {
      sim.setDay(0);
    }
  });
});

describe('simulator: needs planning nationally', () => {
  it('≈10 % of staffed agencies send no workload; each case is seeded a few times', async () => {
    const sim = await start({ port: 0, seed: 42, regions: 'all', faults: false });
    try {
      const cases = sim.planningCases();
      const staffed = new Set(
        sim
          .agencies()
          .filter((a) => a.officers > 0)
          .map((a) => a.id),
      );
      const silent = cases.filter((c) => staffed.has(c.sourceId) && !c.sendsWorkload).length;
      expect(silent / staffed.size).toBeGreaterThan(0.08);
      expect(silent / staffed.size).toBeLessThan(0.12);
      expect(cases.filter((c) => !staffed.has(c.sourceId)).every((c) => !c.sendsWorkload)).toBe(true);
      for (const key of ['oddWorkloadRows', 'needDiffers', 'retirementWave'] as const) {
        expect(cases.filter((c) => c[key]).length, key).toBeGreaterThan(10);
      }
      expect(cases.filter((c) => c.appointmentDetail).length).toBeGreaterThan(20);
    } finally {
      await sim.close();
    }
  });
});
