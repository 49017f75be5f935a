import type { Config } from '@pksync/config';
import type { ConnectorDeps, FetchLimits } from '@pksync/connectors';
import {
  createDb,
  createFetchLedger,
  getRun,
  isConnectionError,
  markRunFailed,
  pingDatabase,
  readOperationalState,
  uploadReader,
  type Db,
} from '@pksync/db';
import {
  createServiceRegistry,
  probe,
  registerPipelineMetrics,
  registerQueueMetrics,
  registerStateMetrics,
  sourceUpGauge,
  startMetricsServer,
  type MetricsServer,
} from '@pksync/metrics';
import {
  createLogger,
  createQueueClient,
  createWorker,
  startRunHealer,
  type Logger,
  type PipelineWorker,
  type RunHealer,
} from '@pksync/queue';
import {
  deliverDue,
  keepConfiguredWebhook,
  startNotifyPoller,
  writeDigestOutboxIsolated,
  type ConfiguredWebhookKeeper,
  type NotifyPoller,
  type RetryPolicy,
} from '@pksync/notify';
import { fetchSourceHandler } from './fetch-source.job.ts';
import { planRunHandler, probeRunHandler } from './plan-run.job.ts';
import { reconcileRunHandler, type WriteAlerts } from './reconcile-run.job.ts';

export { fetchSourceHandler, type FetchSourceSummary } from './fetch-source.job.ts';
export { planRunHandler, probeRunHandler, type PlanRunSummary, type ProbeRunSummary } from './plan-run.job.ts';
export { reconcileRunHandler, type WriteAlerts, type ReconcileRunSummary } from './reconcile-run.job.ts';

export interface WorkerStartOptions {
  log?: Logger;
  /** Parallel fetches in this process (default `config.workerConcurrency`). */
  concurrency?: number;
  /** Job lock; a killed worker's jobs are recovered within about 1.5× this (default `JOB_LOCK_MS`, 10 s). */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for (default: half the lock). */
  stalledIntervalMs?: number;
  /** The run healer's interval (default `RUN_HEAL_INTERVAL_MS`; 0: no healer in this process). */
  healIntervalMs?: number;
  /** Connector overrides (tests: faster back-off). */
  fetchLimits?: Partial<FetchLimits>;
  /** Sources per `run.probe` part (default 32; tests use fewer). */
  probePart?: number;
  connectorDeps?: Partial<ConnectorDeps>;
  /**
   * R15 alerts: written inside the reconciliation transaction, after the run is completed, with its new and resolved findings.
   * Default: `writeDigestOutboxIsolated` (R15, `@pksync/notify`): a failing alert step is rolled
   * back to a savepoint and logged; the run still commits and the next run reports what was missed.
   */
  writeAlerts?: WriteAlerts;
  /** R15: how often the outbox poller delivers due alert digests (default 15 s; 0: no poller). */
  notifyPollMs?: number;
  /** R15: delivery retry policy overrides (tests: a short lease and back-off). */
  notifyRetry?: Partial<RetryPolicy>;
  /**
   * Serve `/healthz`, `/readyz` and `/metrics` there (`pksync serve worker` passes
   * `config.metrics`; port 0: any free port). Default: no server (several workers may share a
   * process, as in the demo and the tests); the registry is kept all the same.
   */
  metrics?: { host: string; port: number };
}

export interface RunningWorker {
  /**
   * Graceful stop: fetches, plans and probes running are handed back to the queue at once, a
   * reconciliation finishes (or is aborted and released after the shutdown time-out). Safe to call twice.
   */
  close(): Promise<void>;
  readonly db: Db;
  /** One pass of this process's run healer now (undefined without a healer, or when another process healed). */
  heal(): Promise<unknown>;
  /** The health and metrics server's base URL, when `options.metrics` asked for one. */
  readonly metricsUrl: string | undefined;
  /** This worker's metrics, Prometheus text format (what `/metrics` serves). */
  metrics(): Promise<string>;
}

/**
 * The worker service: consumes the pipeline queues (`fetch`: fetch → normalise → stage, many at a
 * time; `run`: reconcile → publish → findings, one at a time). Start any number of processes on
 * any number of machines; PostgreSQL holds every outcome, Redis only carries the jobs.
 *
 * @example
 * const worker = await start(loadConfig());
 * process.once('SIGTERM', () => void worker.close());
 */
export async function start(config: Config, options: WorkerStartOptions = {}): Promise<RunningWorker> {
  const log = options.log ?? createLogger({ level: config.logLevel, base: { service: 'worker' } });
  const concurrency = options.concurrency ?? config.workerConcurrency;
  const db = createDb(config.databaseUrl, {
    max: concurrency + 3,
    applicationName: 'pksync-worker',
    onConnectionError: (err) => log.warn({ err }, 'PostgreSQL connection lost (reconnecting on the next query)'),
  });
  // A killed worker's jobs are taken over once their lock expires (at most one lock after its last
  // renewal) and the next stalled check sees it: within 1.5 locks, 15 s by default.
  const lockDurationMs = options.lockDurationMs ?? config.jobLockMs;
  const common = {
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    log,
    lockDurationMs,
    stalledIntervalMs: options.stalledIntervalMs ?? Math.max(500, Math.round(lockDurationMs / 2)),
    shutdownTimeoutMs: config.shutdownTimeoutMs,
  };
  const workers: PipelineWorker[] = [];
  // Metrics of the work this process does; queue depth and pipeline state read at scrape time.
  const registry = createServiceRegistry('worker');
  const pipeline = registerPipelineMetrics(registry);
  const up = sourceUpGauge(registry);
  // R15: digests are written in the reconcile transaction and delivered from the outbox.
  const notifyDeps = { db, config, logger: log, ...(options.notifyRetry ? { retry: options.notifyRetry } : {}) };
  const writeAlerts: WriteAlerts =
    options.writeAlerts ??
    (async (trx, info) => {
      await writeDigestOutboxIsolated(trx, info, (err) =>
        log.error({ err, runId: info.runId }, 'alert digests not written; the next run reports them'),
      );
    });
  let poller: NotifyPoller | undefined;
  let healer: RunHealer | undefined;
  let ministryWebhook: ConfiguredWebhookKeeper | undefined;
  const ledger = createFetchLedger(db);
  // run.plan and run.probe add each run's fetch (and probe) jobs.
  const queues = createQueueClient({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
  registerQueueMetrics(registry, queues, up);
  registerStateMetrics(registry, () => readOperationalState(db), up);
  let metricsServer: MetricsServer | undefined;
  const connectorDeps: ConnectorDeps = { uploads: uploadReader(db), ...options.connectorDeps };
  const limits: Partial<FetchLimits> = {
    maxBytes: config.limits.maxSnapshotBytes,
    maxRows: config.limits.maxSnapshotRows,
    fetchTimeoutMs: config.limits.fetchTimeoutMs,
    ...options.fetchLimits,
  };
  // R17: api sources are asked past years' formations too, from the configured start year.
  const formationFromYear = config.needs.formationStartYear;
  const planDeps = {
    db,
    tokenKey: config.tokenKey,
    connectorDeps,
    limits,
    formationFromYear,
    queues,
    ...(options.probePart ? { probePart: options.probePart } : {}),
  };
  try {
    // ALERT_WEBHOOK_URL: the ministry webhook contact follows this worker's configuration, before
    // any digest is written.
    ministryWebhook = await keepConfiguredWebhook(db, config, log);
    workers.push(
      createWorker({
        ...common,
        queue: 'fetch',
        concurrency,
        // Plans, probes and fetches may start again anywhere: a stopping worker hands them back.
        releaseOnClose: true,
        handlers: {
          'run.plan': planRunHandler(planDeps),
          'run.probe': probeRunHandler(planDeps),
          'source.fetch': fetchSourceHandler({
            db,
            ledger,
            tokenKey: config.tokenKey,
            connectorDeps,
            limits,
            formationFromYear,
            metrics: pipeline,
          }),
        },
      }),
      createWorker({
        ...common,
        queue: 'run',
        concurrency: 1,
        // R14: runs reconcile one at a time across every worker process (versions are a sequence).
        globalConcurrency: 1,
        handlers: {
          'run.reconcile': reconcileRunHandler({ db, queues, writeAlerts, needs: config.needs, metrics: pipeline }),
        },
        onFinalFailure: async (name, payload, error) => {
          const runId = (payload as { runId?: string }).runId;
          // An outage is not the run's failure: the healer resumes the run once the database is back.
          if (isConnectionError(error)) return;
          if (name === 'run.reconcile' && runId && (await markRunFailed(db, runId, error.message))) {
            log.error({ runId, err: error }, 'run failed: it could not be reconciled');
            const run = await getRun(db, runId).catch(() => undefined);
            pipeline.runsFinished.inc({ status: 'failed', scope: run?.scope_kind ?? 'unknown' });
          }
        },
      }),
      createWorker({
        ...common,
        queue: 'notify',
        concurrency: 1,
        handlers: {
          'notify.deliver': ({ runId }, ctx) =>
            deliverDue({ ...notifyDeps, logger: ctx.log }, { runId, signal: ctx.signal }),
        },
      }),
    );
    if (options.notifyPollMs !== 0) {
      poller = startNotifyPoller(notifyDeps, { intervalMs: options.notifyPollMs });
      // A run's digests go out as soon as its reconciliation committed.
      workers[1]?.worker.on('completed', () => void poller?.tick());
    }
    for (const w of workers) {
      const labels = (job: { name: string }) => ({ queue: w.queue, job: job.name });
      w.worker.on('completed', (job) => pipeline.jobsProcessed.inc(labels(job)));
      w.worker.on('failed', (job) => {
        if (!job) return;
        pipeline.jobsProcessed.inc(labels(job));
        pipeline.jobsFailed.inc(labels(job));
      });
    }
    await Promise.all(workers.map((w) => w.worker.waitUntilReady()));
    const healIntervalMs = options.healIntervalMs ?? config.heal.intervalMs;
    if (healIntervalMs > 0) {
      const runQueue = queues.queue('run');
      healer = startRunHealer(db, queues, {
        intervalMs: healIntervalMs,
        graceMs: config.heal.graceMs,
        maxResumes: config.heal.maxResumes,
        log,
        // R14's one-at-a-time reconcile lives in Redis: set it again should Redis have lost it.
        beforePass: async () => void (await runQueue.setGlobalConcurrency(1)),
        // A run the healer failed (resumed too often) counts as a failed run too.
        afterPass: async (report) => {
          for (const runId of report.failed) {
            const run = await getRun(db, runId).catch(() => undefined);
            pipeline.runsFinished.inc({ status: 'failed', scope: run?.scope_kind ?? 'unknown' });
          }
        },
      });
    }
    if (options.metrics) {
      metricsServer = await startMetricsServer({
        ...options.metrics,
        registry,
        ready: async () => {
          const [postgres, redis] = await Promise.all([
            probe(() => pingDatabase(db)),
            probe(() => queues.queue('fetch').getJobCounts('waiting')),
          ]);
          return { postgres, redis };
        },
      });
    }
  } catch (e) {
    await metricsServer?.close();
    ministryWebhook?.stop();
    await healer?.stop();
    await poller?.stop();
    await Promise.allSettled(workers.map((w) => w.close()));
    await queues.close();
    await db.destroy();
    throw e;
  }
  log.info({ concurrency, prefix: config.queuePrefix, metrics: metricsServer?.url }, 'worker started');

  let closing: Promise<void> | undefined;
  return {
    db,
    heal: async () => healer?.tick(),
    metricsUrl: metricsServer?.url,
    metrics: () => registry.metrics(),
    close() {
      closing ??= (async () => {
        log.info('worker stopping');
        // Not ready from now on; health and metrics answer until the connections are closed.
        metricsServer?.draining();
        ministryWebhook?.stop();
        await healer?.stop().catch(() => {});
        await Promise.allSettled(workers.map((w) => w.close()));
        await poller?.stop().catch(() => {});
        await queues.close().catch(() => {});
        await db.destroy().catch(() => {});
        await metricsServer?.close().catch(() => {});
        log.info({ fetchLedger: ledger.stats() }, 'worker stopped');
      })();
      return closing;
    },
  };
}
