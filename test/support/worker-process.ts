/**
 * A worker in its own process, for the crash test (which kills it with SIGKILL). Configured by
 * the environment like `pksync serve worker`, with short job locks so a killed worker's jobs are
 * recovered within seconds. Prints `ready` once consuming.
 *
 * Usage: node --import tsx test/support/worker-process.ts <lockMs> <concurrency> [notifyLeaseMs]
 * (`notifyLeaseMs`: the lease of an alert delivery it claims, default 5 min).
 */
import { loadConfig } from '@pksync/config';
import { start } from '@pksync/worker';
import { FAST_FETCH } from './harness.ts';

const lockMs = Number(process.argv[2] ?? 2000);
const concurrency = Number(process.argv[3] ?? 2);
const notifyLeaseMs = process.argv[4] ? Number(process.argv[4]) : undefined;
const worker = await start(loadConfig(process.env), {
  lockDurationMs: lockMs,
  stalledIntervalMs: Math.max(500, Math.round(lockMs / 2)),
  concurrency,
  fetchLimits: FAST_FETCH,
  ...(notifyLeaseMs ? { notifyRetry: { leaseMs: notifyLeaseMs } } : {}),
});
console.log('ready');
const stop = () => void worker.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
