import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { QUEUE_NAMES, type QueueClient } from '@pksync/queue';

/** The pksync services that serve metrics: the value of every series' `service` label. */
export type ServiceName = 'api' | 'worker' | 'scheduler';

const NON_COUNTER_TOTALS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * A registry for one service: the stock Node.js process metrics, unprefixed
 * (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`, …) so stock dashboards find them
(less three gauges misnamed `_total`, see below),
 * and a `service` label on every series so one Prometheus tells the services apart.
 *
 * @example
 * const registry = createServiceRegistry('worker');
 * const text = await registry.metrics();
 */
export function createServiceRegistry(service: ServiceName): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  // prom-client's totals of active handles, requests and resources are gauges named `_total`,
  // which Prometheus reserves for counters (`promtool check metrics` rejects them); the same
  // figures by type stay (`nodejs_active_handles` …: `sum()` gives the total).
  for (const name of NON_COUNTER_TOTALS) registry.removeSingleMetric(name);
  return registry;
}

/** Job states reported per queue: what waits, runs, waits for its time, and gave up. */
export const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed'] as const;

/**
 * `pksync_metrics_source_up`: whether each source of scrape-time figures could be read, 1 or 0
 * by `source` (`redis`, `postgres`). A source that cannot be read is reported as down instead of
 * failing the scrape; its figures are left out of that scrape.
 */
export interface SourceUp {
  /** `read` answers whether the source could be read in this scrape (shared with its gauges). */
  add(source: string, read: () => Promise<boolean>): void;
}

export function sourceUpGauge(registry: Registry): SourceUp {
  const reads = new Map<string, () => Promise<boolean>>();
  new Gauge({
    name: 'pksync_metrics_source_up',
    help: 'Whether a source of scrape-time figures could be read (1) or not (0)',
    labelNames: ['source'],
    registers: [registry],
    async collect() {
      const states = await Promise.all([...reads].map(async ([source, read]) => [source, await read()] as const));
      this.reset();
      for (const [source, ok] of states) this.set({ source }, ok ? 1 : 0);
    },
  });
  return { add: (source, read) => void reads.set(source, read) };
}

/**
 * Queue depth read from BullMQ at scrape time (current state, not history): `pksync_queue_jobs`
 * by queue and state, and `pksync_queue_workers`, the worker connections BullMQ sees per queue
 * (0 with jobs waiting: nobody consumes that queue). Every service with a queue client reports
 * them, so a queue without workers is seen from the api or the scheduler.
 */
export function registerQueueMetrics(
  registry: Registry,
  queues: Pick<QueueClient, 'queue'>,
  up: SourceUp = sourceUpGauge(registry),
): void {
  // One read of Redis per scrape, shared by the gauges (a scrape collects them concurrently).
  const read = sharedRead(async () => {
    try {
      // BullMQ waits for a lost Redis connection: a scrape must not (the API's readiness waits 2 s too).
      const rows = await within(
        SCRAPE_READ_MS,
        Promise.all(
          QUEUE_NAMES.map(async (queue) => {
            const q = queues.queue(queue);
            const [counts, workers] = await Promise.all([q.getJobCounts(...QUEUE_STATES), q.getWorkersCount()]);
            return { queue, counts, workers };
          }),
        ),
      );
      return rows;
    } catch {
      return null;
    }
  });
  up.add('redis', async () => (await read()) !== null);
  new Gauge({
    name: 'pksync_queue_jobs',
    help: 'Jobs in each queue by state (waiting, prioritized, active, delayed, failed)',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      const rows = await read();
      this.reset();
      for (const { queue, counts } of rows ?? [])
        for (const state of QUEUE_STATES) this.set({ queue, state }, counts[state] ?? 0);
    },
  });
  new Gauge({
    name: 'pksync_queue_workers',
    help: 'Worker connections consuming each queue, as BullMQ sees them',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      const rows = await read();
      this.reset();
      for (const { queue, workers } of rows ?? []) this.set({ queue }, workers);
    },
  });
}

/** How long a scrape waits for one source of scrape-time figures before reporting it down. */
export const SCRAPE_READ_MS = 2_000;

/** `p`, or a rejection after `ms`. */
export async function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `fn` shared by the calls made while one call is under way: the gauges of one scrape, collected
 * concurrently, read their source once; the next scrape reads it afresh.
 */
export function sharedRead<T>(fn: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  return () =>
    (inFlight ??= fn().finally(() => {
      inFlight = undefined;
    }));
}
