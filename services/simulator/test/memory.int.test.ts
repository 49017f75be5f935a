import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceDefinitionFromImport } from '@pksync/connectors';
import { start, type Simulator } from '../src/index.ts';
import { measureFetch } from './support/measure.ts';

// A 200,000-row source read over api and csv with peak memory growth under 100 MB (issue 4).
const ID = '16.71-disnaker';
const ROWS = 200_000;

describe('connector memory on a 200,000-row source', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await start({
      port: 0,
      seed: 5,
      regions: '16.71',
      officers: { [ID]: ROWS },
      faults: false,
      massRemoval: null,
      delays: false,
    });
  });
  afterAll(() => sim.close());

  const def = (transport: 'api' | 'csv') => {
    const base = `${sim.url}/agencies/${ID}`;
    return sourceDefinitionFromImport({
      id: ID,
      agency: 'Dinas Tenaga Kerja Kota Palembang',
      region_code: '16.71',
      transport,
      url: transport === 'api' ? `${base}/v1` : `${base}/pejabat.csv`,
      ...(transport === 'csv' ? { formations_url: `${base}/formasi.csv` } : {}),
      max_rows: 250_000,
      max_bytes: 200 * 1024 * 1024,
    });
  };

  it.each(['api', 'csv'] as const)(
    '%s: streams every row with peak growth under 100 MB',
    async (transport) => {
      const m = await measureFetch(def(transport));
      const expected = [...sim.listOfficers(ID)].length;
      expect(m.officers).toBe(expected);
      expect(expected).toBeGreaterThan(ROWS * 0.99);
      expect(m.rssGrowthMb).toBeLessThan(100);
      expect(m.heapGrowthMb).toBeLessThan(100);
      console.log(
        `${transport}: ${m.officers} officers in ${m.seconds.toFixed(1)} s, rss +${m.rssGrowthMb.toFixed(1)} MB, heap +${m.heapGrowthMb.toFixed(1)} MB`,
      );
    },
    300_000,
  );
});

describe('simulator at scale', () => {
  it('streams 1,000,000 officers of one agency without holding them', async () => {
    const sim = await start({
      port: 0,
      seed: 2,
      regions: '16.71',
      officers: { [ID]: 1_000_000 },
      faults: false,
      massRemoval: null,
      delays: false,
    });
    try {
      (globalThis as { gc?: () => void }).gc?.();
      const base = process.memoryUsage().heapUsed;
      let peak = base;
      const res = await fetch(`${sim.url}/agencies/${ID}/pejabat.csv`);
      let lines = 0;
      let chunks = 0;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
        if (++chunks % 50 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
      }
      expect(lines).toBe(1_000_000 + 1);
      // Server and client in this process: both must stream.
      expect((peak - base) / 1048576).toBeLessThan(100);
    } finally {
      await sim.close();
    }
  }, 300_000);
});
