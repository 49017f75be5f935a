/**
 * `pnpm bench:connectors`: records/s reading one 200,000-row source from the simulator on
 * loopback, over each transport (api, csv, xlsx). The simulator runs with `delays: false` and no
 * faults, and the connector runs in a child process, so the figures are the client's (download,
 * parse, yield), not the simulator's deliberate waits. Peak memory growth of the reading process
 * is printed alongside.
 *
 * Options (env): BENCH_ROWS (default 200000), BENCH_TRANSPORTS (default api,csv,xlsx).
 */
import { sourceDefinitionFromImport } from '../../packages/connectors/src/index.ts';
import { start } from '../../services/simulator/src/index.ts';
import { measureFetch } from '../../services/simulator/test/support/measure.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const TRANSPORTS = (process.env.BENCH_TRANSPORTS ?? 'api,csv,xlsx').split(',') as ('api' | 'csv' | 'xlsx')[];
const ID = '16.71-disnaker';

const sim = await start({
  port: 0,
  seed: 1,
  regions: '16.71',
  officers: { [ID]: ROWS },
  faults: false,
  massRemoval: null,
  delays: false,
});
try {
  console.log(`connectors benchmark: one source of ${ROWS} officers, simulator on ${sim.url}, node ${process.version}`);
  for (const transport of TRANSPORTS) {
    const base = `${sim.url}/agencies/${ID}`;
    const url = transport === 'api' ? `${base}/v1` : transport === 'csv' ? `${base}/pejabat.csv` : `${base}/data.xlsx`;
    const source = sourceDefinitionFromImport({
      id: ID,
      agency: 'Dinas Tenaga Kerja Kota Palembang',
      region_code: '16.71',
      transport,
      url,
      ...(transport === 'csv' ? { formations_url: `${base}/formasi.csv` } : {}),
      max_rows: ROWS + 10_000,
      max_bytes: 500 * 1024 * 1024,
    });
    try {
      const m = await measureFetch(source);
      console.log(
        `${transport.padEnd(5)} ${String(m.officers).padStart(7)} officers  ${m.seconds.toFixed(2).padStart(6)} s  ${String(m.recordsPerSecond).padStart(7)} records/s  peak rss +${m.rssGrowthMb.toFixed(0)} MB, heap +${m.heapGrowthMb.toFixed(0)} MB`,
      );
    } catch (e) {
      console.log(`${transport.padEnd(5)} failed: ${(e as Error).message}`);
    }
  }
} finally {
  await sim.close();
}
