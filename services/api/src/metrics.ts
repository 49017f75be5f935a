import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { getPipelineMetrics } from '@pksync/db';
import { QUEUE_NAMES } from '@pksync/queue';
import type { ApiContext } from './context.ts';

/** Figures read from PostgreSQL are refreshed at most this often, whatever the scrape rate. */
const DB_REFRESH_MS = 5_000;

/**
 * Prometheus metrics. Pipeline figures (runs, fetches by outcome, records accepted/rejected by code,
 * durations) are read from PostgreSQL at scrape time, so every API replica reports the same
 * totals however many workers produced them; queue depths come from BullMQ; request durations
 * are this process's own.
 */
export function createMetrics(ctx: ApiContext): {
  install(app: FastifyInstance): void;
  render(): Promise<string>;
  contentType: string;
} {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'pksync_api_' });
  const http = new Histogram({
    name: 'pksync_api_request_duration_seconds',
    help: 'API request durations by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const g = (name: string, help: string, labelNames: string[] = []) =>
    new Gauge({ name, help, labelNames, registers: [registry] });
  const runs = g('pksync_runs', 'Sync runs by status and trigger', ['status', 'trigger']);
  const fetches = g('pksync_source_fetches', 'Source fetches by outcome', ['status']);
  const fetchErrors = g('pksync_source_fetch_errors', 'Failed source fetches by error code', ['code']);
  const records = g('pksync_records', 'Records fetched, by outcome (accepted/rejected)', ['outcome']);
  const rejected = g('pksync_records_rejected_by_code', 'Rejected records by rule code (R1–R6)', ['code']);
  const runDurationSum = g('pksync_run_duration_seconds_sum', 'Total duration of finished runs', ['status']);
  const runDurationCount = g('pksync_run_duration_seconds_count', 'Finished runs', ['status']);
  const lastRunDuration = g('pksync_last_run_duration_seconds', 'Duration of the last finished run');
  const fetchDurationSum = g('pksync_fetch_duration_seconds_sum', 'Total duration of finished fetches', ['status']);
  const fetchDurationCount = g('pksync_fetch_duration_seconds_count', 'Finished fetches', ['status']);
  const version = g('pksync_register_version', 'Latest published register version');
  const queueJobs = g('pksync_queue_jobs', 'Jobs in the queues by state', ['queue', 'state']);
  const metricsErrors = g('pksync_metrics_source_up', 'Whether a metrics source could be read (1) or not (0)', [
    'source',
  ]);

  let refreshedAt = 0;
  let refreshing: Promise<void> | null = null;

  async function refreshDb(): Promise<void> {
    const m = await getPipelineMetrics(ctx.db);
    runs.reset();
    for (const r of m.runs) runs.set({ status: r.status, trigger: r.trigger }, r.n);
    fetches.reset();
    for (const r of m.fetches) fetches.set({ status: r.status }, r.n);
    fetchErrors.reset();
    for (const r of m.fetchErrors) fetchErrors.set({ code: r.code }, r.n);
    records.set({ outcome: 'accepted' }, m.records.accepted);
    records.set({ outcome: 'rejected' }, m.records.rejected);
    rejected.reset();
    for (const r of m.rejectedByCode) rejected.set({ code: r.code }, r.n);
    runDurationSum.reset();
    runDurationCount.reset();
    for (const r of m.runDurations) {
      runDurationSum.set({ status: r.status }, r.seconds);
      runDurationCount.set({ status: r.status }, r.n);
    }
    fetchDurationSum.reset();
    fetchDurationCount.reset();
    for (const r of m.fetchDurations) {
      fetchDurationSum.set({ status: r.status }, r.seconds);
      fetchDurationCount.set({ status: r.status }, r.n);
    }
    lastRunDuration.set(m.lastRunSeconds ?? 0);
    version.set(m.version);
  }

  async function refreshQueues(): Promise<void> {
    const client = ctx.queues;
    if (!client) return;
    queueJobs.reset();
    for (const name of QUEUE_NAMES) {
      const counts = await client
        .queue(name)
        .getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children');
      for (const [state, n] of Object.entries(counts)) queueJobs.set({ queue: name, state }, n);
    }
  }

  async function refresh(): Promise<void> {
    if (Date.now() - refreshedAt < DB_REFRESH_MS) return;
    refreshing ??= (async () => {
      // A source that cannot be read is reported as down instead of failing the whole scrape.
      const [dbRes, qRes] = await Promise.allSettled([refreshDb(), refreshQueues()]);
      metricsErrors.set({ source: 'postgres' }, dbRes.status === 'fulfilled' ? 1 : 0);
      if (ctx.queues) metricsErrors.set({ source: 'redis' }, qRes.status === 'fulfilled' ? 1 : 0);
      refreshedAt = Date.now();
    })().finally(() => {
      refreshing = null;
    });
    await refreshing;
  }

  return {
    install(app) {
      app.addHook('onResponse', async (req, reply) => {
        const route = req.routeOptions.url ?? 'unmatched';
        http.observe({ method: req.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
      });
    },
    async render() {
      await refresh();
      return registry.metrics();
    },
    contentType: registry.contentType,
  };
}
