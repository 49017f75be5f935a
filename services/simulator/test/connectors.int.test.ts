import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createConnector,
  sourceDefinitionFromImport,
  type FetchedItem,
  type FetchError,
  type SourceDefinition,
} from '@pksync/connectors';
import { start, type Simulator } from '../src/index.ts';

// Each connector against the simulator, one source per fault mode (South Sumatra agencies).
const FAULTS = {
  '16.01-disnaker': ['flaky'],
  '16.72-disnaker': ['flaky'],
  '16.74-disnaker': ['flaky'],
  '16.02-disnaker': ['rate_limited'],
  '16.03-disnaker': ['down'],
  '16.04-disnaker': ['malformed'],
  '16.05-disnaker': ['token_required'],
  '16.71-disnaker': [],
} as const;
/**
 * One flaky agency per transport, asked by no other test: its faults are seeded by the request
 * number, so they are the same whichever tests run. With seed 11 each meets faults early: api a cut
 * page and a 500, csv a 502, a cut file and a reset, xlsx a 500 and a reset.
 */
const FLAKY = { api: '16.01-disnaker', csv: '16.74-disnaker', xlsx: '16.72-disnaker' } as const;
const LIMITS = { backoffBaseMs: 20, backoffMaxMs: 100, attempts: 6, requestTimeoutMs: 5000, fetchTimeoutMs: 30_000 };

let sim: Simulator;
beforeAll(async () => {
  sim = await start({
    port: 0,
    seed: 11,
    regions: '16',
    faults: Object.fromEntries(Object.entries(FAULTS).map(([k, v]) => [k, [...v]])),
    officers: Object.fromEntries(Object.keys(FAULTS).map((k) => [k, 40])),
    massRemoval: null,
    faultTuning: { flakyRate: 0.3, retryAfterS: 1 },
  });
});
afterAll(() => sim.close());

function source(id: string, transport: 'api' | 'csv' | 'xlsx', withToken = true): SourceDefinition {
  const entry = sim.sourcesFile().find((s) => s.id === id)!;
  const base = `${sim.url}/agencies/${id}`;
  const url = transport === 'api' ? `${base}/v1` : transport === 'csv' ? `${base}/pejabat.csv` : `${base}/data.xlsx`;
  const token = withToken ? (sim.agencies().find((a) => a.id === id)!.token ?? undefined) : undefined;
  return sourceDefinitionFromImport({
    id,
    agency: entry.agency,
    region_code: entry.region_code,
    transport,
    url,
    ...(transport === 'csv' ? { formations_url: `${base}/formasi.csv` } : {}),
    ...(transport === 'csv' && sends(id) ? { workloads_url: `${base}/workloads.csv` } : {}),
    ...(token ? { token } : {}),
  });
}

async function fetchAll(src: SourceDefinition, pageSize = 7) {
  const staged: FetchedItem[] = [];
  try {
    for await (const item of createConnector(src.transport).fetch(src, {
      signal: new AbortController().signal,
      asOf: '2026-11-27',
      limits: { ...LIMITS, pageSize },
    })) {
      staged.push(item);
    }
    return { used: staged, error: null };
  } catch (e) {
    return { used: null, error: e as FetchError };
  }
}

const officers = (items: FetchedItem[]) => items.filter((i) => i.kind === 'officer');
const sends = (id: string) => sim.agencies().find((a) => a.id === id)!.planning.sendsWorkload;

describe.each(['api', 'csv', 'xlsx'] as const)('%s connector against the simulator', (transport) => {
  it('reads a healthy agency whole, the same officers as the simulator lists', async () => {
    const r = await fetchAll(source('16.71-disnaker', transport));
    expect(r.error).toBeNull();
    const nipsExpected = [...sim.listOfficers('16.71-disnaker')].length;
    expect(officers(r.used!)).toHaveLength(nipsExpected);
    expect(r.used!.some((i) => i.kind === 'formation')).toBe(
      sim.agencies().find((a) => a.id === '16.71-disnaker')!.hasFormation,
    );
    // Its workload (needs-planning-v1.md) over the same transport: the api page, the file, the sheet.
    expect(r.used!.some((i) => i.kind === 'workload')).toBe(sends('16.71-disnaker'));
  });

  it('rides out a flaky agency with retries', async () => {
    const id = FLAKY[transport];
    const before = sim.stats()[id]!;
    const r = await fetchAll(source(id, transport));
    const after = sim.stats()[id]!;
    expect(after.faults - before.faults).toBeGreaterThan(0); // not vacuous: faults were met …
    expect(r.error).toBeNull(); // … and retried away
    expect(officers(r.used!)).toHaveLength(40);
    expect([...new Set(officers(r.used!).map((o) => o.record.nip))]).toHaveLength(40);
  });

  it('waits for Retry-After on a rate-limited agency', async () => {
    const t0 = Date.now();
    const r = await fetchAll(source('16.02-disnaker', transport), 500);
    expect(r.error).toBeNull();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(990);
  });

  it('gives up cleanly on an agency that is down', async () => {
    const before = sim.stats()['16.03-disnaker']!.requests;
    const r = await fetchAll(source('16.03-disnaker', transport));
    expect(r.used).toBeNull();
    expect(r.error!.code).toBe('network_error');
    expect(sim.stats()['16.03-disnaker']!.requests - before).toBe(LIMITS.attempts);
  });

  it('fails on malformed data without retrying', async () => {
    const before = sim.stats()['16.04-disnaker']!.requests;
    const r = await fetchAll(source('16.04-disnaker', transport));
    expect(r.used).toBeNull();
    expect(r.error!.code).toBe(transport === 'api' ? 'invalid_response' : 'unparseable_file');
    // One request per file (csv: officers, formations and workload are all downloaded before parsing).
    const files = transport === 'csv' ? (sends('16.04-disnaker') ? 3 : 2) : 1;
    expect(sim.stats()['16.04-disnaker']!.requests - before).toBe(files);
  });

  it('sends the token an agency requires, and fails unauthorized without it', async () => {
    const ok = await fetchAll(source('16.05-disnaker', transport));
    expect(ok.error).toBeNull();
    const bad = await fetchAll(source('16.05-disnaker', transport, false));
    expect(bad.error!.code).toBe('unauthorized');
  });
});
