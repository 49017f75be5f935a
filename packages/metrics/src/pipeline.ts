import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { SCRAPE_READ_MS, sharedRead, within, type SourceUp } from './registry.ts';

/**
 * The figures a worker records as it works (counters and histograms of this process; Prometheus
 * sums them over workers). Histograms are in seconds.
 */
export interface PipelineMetrics {
  /** Finished job attempts by queue and job name (completed or failed). */
  readonly jobsProcessed: Counter<'queue' | 'job'>;
  /** Failed job attempts by queue and job name (a retried job counts each failure). */
  readonly jobsFailed: Counter<'queue' | 'job'>;
  /** Source fetches by transport and outcome (`succeeded`, `unchanged`, `failed`). */
  readonly fetchDuration: Histogram<'transport' | 'outcome'>;
  /** Records read from agencies, by outcome (`accepted`, `rejected`). */
  readonly records: Counter<'outcome'>;
  /** Rule codes on rejected records (a record rejected for two rules counts once for each). */
  readonly recordRejections: Counter<'code'>;
  /** Phases of a run's reconciliation (`reconcileRun`'s timings), by phase. */
  readonly reconcilePhaseDuration: Histogram<'phase'>;
  /** Runs this worker finished, by status (`completed`, `failed`) and scope kind. */
  readonly runsFinished: Counter<'status' | 'scope'>;
}

/** Scope kinds of a run (`runs.scope_kind`): the `scope` label of finished runs. */
const SCOPES = ['national', 'province', 'region', 'source'] as const;

/**
 * Registers the worker's pipeline metrics on `registry`. Series an alert looks for start at 0
 * (finished runs by status and scope, records by outcome), so that their first increase is seen.
 */
export function registerPipelineMetrics(registry: Registry): PipelineMetrics {
  const registers = [registry];
  const metrics: PipelineMetrics = {
    jobsProcessed: new Counter({
      name: 'pksync_jobs_processed_total',
      help: 'Job attempts finished by this process (completed or failed), by queue and job name',
      labelNames: ['queue', 'job'],
      registers,
    }),
    jobsFailed: new Counter({
      name: 'pksync_jobs_failed_total',
      help: 'Job attempts that failed in this process, by queue and job name',
      labelNames: ['queue', 'job'],
      registers,
    }),
    fetchDuration: new Histogram({
      name: 'pksync_fetch_duration_seconds',
      help: 'Source fetches (download, normalise, stage) by transport and outcome',
      labelNames: ['transport', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    records: new Counter({
      name: 'pksync_records_total',
      help: 'Records read from agencies, by outcome (accepted, rejected)',
      labelNames: ['outcome'],
      registers,
    }),
    recordRejections: new Counter({
      name: 'pksync_record_rejections_total',
      help: 'Rule codes on rejected records (R1–R7), by code',
      labelNames: ['code'],
      registers,
    }),
    reconcilePhaseDuration: new Histogram({
      name: 'pksync_reconcile_phase_duration_seconds',
      help: 'Phases of a run reconciliation, by phase',
      labelNames: ['phase'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    runsFinished: new Counter({
      name: 'pksync_runs_finished_total',
      help: 'Runs finished by this process, by status (completed, failed) and scope kind',
      labelNames: ['status', 'scope'],
      registers,
    }),
  };
  for (const status of ['completed', 'failed'])
    for (const scope of SCOPES) metrics.runsFinished.inc({ status, scope }, 0);
  for (const outcome of ['accepted', 'rejected']) metrics.records.inc({ outcome }, 0);
  return metrics;
}

/** The state a worker reads from PostgreSQL at scrape time (current rows, not history). */
export interface OperationalState {
  /** Alert outbox messages: `pending` (not tried or not failed yet), `retrying` (after a failed attempt), `dead` (given up). */
  outbox: { pending: number; retrying: number; dead: number };
  /** When the last national run completed (unix seconds), or null before any. */
  lastNationalRunCompletedAt: number | null;
  /** Enabled sources and when each last fetched successfully (since its creation when never). */
  sources: { id: string; region: string; lastSuccessAt: number }[];
}

/**
 * Gauges over the pipeline's current state, read by `read()` at each scrape: the outbox,
 * the last completed national run and each source's last success. A failed read drops them from
 * that scrape and `pksync_metrics_source_up{source="postgres"}` says 0.
 */
export function registerStateMetrics(registry: Registry, read: () => Promise<OperationalState>, up: SourceUp): void {
  const registers = [registry];
  // One read of PostgreSQL per scrape, shared by the three gauges; null when it failed.
  const state = sharedRead(async () => {
    try {
      return await within(SCRAPE_READ_MS, read());
    } catch {
      return null;
    }
  });
  up.add('postgres', async () => (await state()) !== null);
  new Gauge({
    name: 'pksync_outbox_messages',
    help: 'Alert outbox messages by status (pending: to deliver; retrying: after a failed attempt; dead: given up)',
    labelNames: ['status'],
    registers,
    async collect() {
      const s = await state();
      this.reset();
      if (s) for (const status of ['pending', 'retrying', 'dead'] as const) this.set({ status }, s.outbox[status]);
    },
  });
  new Gauge({
    name: 'pksync_national_run_last_success_timestamp_seconds',
    help: 'When the last national run completed (unix seconds; absent before any)',
    registers,
    async collect() {
      const s = await state();
      this.reset();
      if (s?.lastNationalRunCompletedAt != null) this.set(s.lastNationalRunCompletedAt);
    },
  });
  new Gauge({
    name: 'pksync_source_last_success_timestamp_seconds',
    help: 'When each enabled source last fetched successfully (unix seconds; its creation when never)',
    labelNames: ['source', 'region'],
    registers,
    async collect() {
      const s = await state();
      this.reset();
      for (const src of s?.sources ?? []) this.set({ source: src.id, region: src.region }, src.lastSuccessAt);
    },
  });
}
