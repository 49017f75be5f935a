/**
 * Child process for the memory test and the benchmark: fetches one source with a connector,
 * counting records without keeping them, and prints JSON with the time taken and the peak memory
 * growth over the baseline (RSS and V8 heap), sampled every 10 ms.
 *
 * Usage: node --expose-gc --import tsx measure-fetch.ts '<SourceDefinition JSON>'
 */
import { createConnector, hashSnapshot, type SourceDefinition } from '@pksync/connectors';

const source = JSON.parse(process.argv[2] ?? '') as SourceDefinition;
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const base = process.memoryUsage();
let peakRss = base.rss;
let peakHeap = base.heapUsed;
const sample = () => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
};
const timer = setInterval(sample, 10);
const t0 = performance.now();
let officers = 0;
let formations = 0;
let sha256 = '';
try {
  const items = createConnector(source.transport).fetch(source, {
    signal: new AbortController().signal,
    asOf: '2026-11-27',
    limits: { maxRows: 250_000, maxBytes: 200 * 1024 * 1024, fetchTimeoutMs: 600_000 },
  });
  for await (const item of hashSnapshot(items, (h) => (sha256 = h.sha256))) {
    if (item.kind === 'officer') officers++;
    else formations++;
    if ((officers & 1023) === 0) sample();
  }
} catch (e) {
  clearInterval(timer);
  console.log(JSON.stringify({ error: String((e as Error).message) }));
  process.exit(1);
}
const seconds = (performance.now() - t0) / 1000;
clearInterval(timer);
sample();
console.log(
  JSON.stringify({
    officers,
    formations,
    seconds,
    recordsPerSecond: Math.round(officers / seconds),
    rssGrowthMb: (peakRss - base.rss) / 1048576,
    heapGrowthMb: (peakHeap - base.heapUsed) / 1048576,
    sha256,
  }),
);
