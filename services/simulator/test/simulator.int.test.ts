import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { levels, regenciesOf } from '@pksync/reference';
import { start, type Simulator } from '../src/index.ts';

describe('simulator: national default', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await start({ port: 0, seed: 42, regions: 'all' });
  });
  afterAll(() => sim.close());

  it('has one source per region (552) with a mix of transports and ≈5 % flaky sources', () => {
    const file = sim.sourcesFile();
    expect(file).toHaveLength(552);
    expect(new Set(file.map((s) => s.id)).size).toBe(552);
    const by = (t: string) => file.filter((s) => s.transport === t).length;
    expect(by('csv') + by('xlsx')).toBeGreaterThan(552 / 2);
    expect(by('api')).toBeGreaterThan(30);
    const flaky = sim.agencies().filter((a) => a.faults.has('flaky')).length;
    expect(flaky).toBeGreaterThan(552 * 0.02);
    expect(flaky).toBeLessThan(552 * 0.09);
  });

  it('has ≈15,000 officers', () => {
    const total = sim.agencies().reduce((s, a) => s + a.officers, 0);
    expect(total).toBeGreaterThan(13_000);
    expect(total).toBeLessThan(17_000);
  });

  it('gives South Sumatra officers in exactly 9 kabupaten and 3 kota', () => {
    const covered = regenciesOf('16').filter((r) => sim.agencies().find((a) => a.region.code === r.code)!.officers > 0);
    expect(covered.filter((r) => r.kind === 'kabupaten')).toHaveLength(9);
    expect(covered.filter((r) => r.kind === 'kota')).toHaveLength(3);
  });

  it('writes a sources file in the register-api format pointing at itself', () => {
    for (const s of sim.sourcesFile()) {
      expect(
        Object.keys(s).every((k) =>
          ['id', 'agency', 'region_code', 'transport', 'url', 'formations_url', 'workloads_url', 'token'].includes(k),
        ),
      ).toBe(true);
      if (s.transport === 'upload') expect(s.url).toBeUndefined();
      else expect(s.url!.startsWith(sim.url)).toBe(true);
      if (s.transport === 'api') expect(s.token).toMatch(/^sim_/);
      // A csv agency that sends workload names its file (needs-planning-v1.md); no other does.
      const sends = sim.agencies().find((a) => a.id === s.id)!.planning.sendsWorkload;
      expect(s.workloads_url !== undefined).toBe(s.transport === 'csv' && sends);
    }
  });
});

describe('simulator: data', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await start({ port: 0, seed: 7, regions: '16', faults: false });
  });
  afterAll(() => sim.close());

  it('is deterministic for a seed', async () => {
    const other = await start({ port: 0, seed: 7, regions: '16', faults: false });
    const a = [...sim.listOfficers('16.71-disnaker')];
    const b = [...other.listOfficers('16.71-disnaker')];
    await other.close();
    expect(a).toEqual(b);
    const third = await start({ port: 0, seed: 8, regions: '16', faults: false });
    const c = [...third.listOfficers('16.71-disnaker')];
    await third.close();
    expect(c).not.toEqual(a);
  });

  it('makes clean records with valid NIPs consistent with birth date and gender, and grades in range', () => {
    let n = 0;
    for (const a of sim.agencies()) {
      for (const o of sim.listOfficers(a.id)) {
        if (o.defect) continue;
        n++;
        expect(o.nip).toMatch(/^\d{18}$/);
        expect(o.nip.slice(0, 8)).toBe(o.birthDate.replaceAll('-', ''));
        expect(o.nip[14]).toBe(o.gender === 'L' ? '1' : '2');
        const cpnsYear = Number(o.nip.slice(8, 12));
        expect(cpnsYear).toBeGreaterThanOrEqual(Number(o.birthDate.slice(0, 4)) + 18);
        expect(Number(o.nip.slice(12, 14))).toBeGreaterThanOrEqual(1);
        expect(Number(o.nip.slice(12, 14))).toBeLessThanOrEqual(12);
        expect(levels.find((l) => l.code === o.level)!.grades).toContain(o.grade);
        expect(o.name).toMatch(/[A-Za-z]+ [A-Za-z]+/);
      }
    }
    expect(n).toBeGreaterThan(200);
  });

  it('seeds a share of defects', async () => {
    const big = await start({ port: 0, seed: 7, regions: 'all', faults: false });
    const defects = new Set<string>();
    let total = 0;
    let with_ = 0;
    for (const a of big.agencies().slice(0, 200)) {
      for (const o of big.listOfficers(a.id)) {
        total++;
        if (o.defect) {
          with_++;
          defects.add(o.defect);
        }
      }
    }
    await big.close();
    expect(with_ / total).toBeGreaterThan(0.015);
    expect(with_ / total).toBeLessThan(0.05);
    expect(defects.size).toBeGreaterThan(10);
  });
});

describe('simulator: time', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await start({ port: 0, seed: 3, regions: '16', faults: false });
  });
  afterAll(() => sim.close());

  it('moves officers between agencies, retires some, and holds a mass removal on day 3', async () => {
    const count = (id: string) => [...sim.listOfficers(id)].length;
    const day0 = Object.fromEntries(sim.agencies().map((a) => [a.id, count(a.id)]));
    sim.setDay(2);
    expect(sim.events().transfers).toBeGreaterThan(0);
    const day2Nips = new Set(sim.agencies().flatMap((a) => [...sim.listOfficers(a.id)].map((o) => `${a.id}:${o.nip}`)));
    const day0Nips = new Set<string>();
    sim.setDay(0);
    for (const a of sim.agencies()) for (const o of sim.listOfficers(a.id)) day0Nips.add(`${a.id}:${o.nip}`);
    // Someone appears at a new agency after a transfer.
    expect([...day2Nips].some((k) => !day0Nips.has(k))).toBe(true);

    const res = await fetch(`${sim.url}/_admin/day`, { method: 'POST', body: JSON.stringify({ day: 3 }) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { day: number }).day).toBe(3);
    expect(sim.day()).toBe(3);
    expect(count('16.71-disnaker')).toBeLessThan(day0['16.71-disnaker']! / 2 + 3);
    // Other agencies keep (nearly) all their officers.
    const other = sim.agencies().filter((a) => a.id !== '16.71-disnaker' && a.officers > 10);
    expect(other.length).toBeGreaterThan(5);
    for (const a of other) expect(count(a.id)).toBeGreaterThan(day0[a.id]! * 0.7);
  });

  it('rejects a bad day on the admin endpoint', async () => {
    const res = await fetch(`${sim.url}/_admin/day`, { method: 'POST', body: JSON.stringify({ day: -1 }) });
    expect(res.status).toBe(400);
  });
});
