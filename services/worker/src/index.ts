import type { Config } from '@pksync/config';
import type { ConnectorDeps, FetchLimits } from '@pksync/connectors';
import { createDb, createFetchLedger, markRunFailed, uploadReader, type Db } from '@pksync/db';
import { createLogger, createQueueClient, createWorker, type Logger, type PipelineWorker } from '@pksync/queue';
import { deliverDue, startNotifyPoller, writeDigestOutboxIsolated, type NotifyPoller } from '@pksync/notify';
import { fetchSourceHandler } from './fetch-source.job.ts';
import { planRunHandler, probeRunHandler } from './plan-run.job.ts';
import { reconcileRunHandler, type AfterFindingsHook } from './reconcile-run.job.ts';

export { fetchSourceHandler, type FetchSourceSummary } from './fetch-source.job.ts';
export { planRunHandler, probeRunHandler, type PlanRunSummary, type ProbeRunSummary } from './plan-run.job.ts';
export { reconcileRunHandler, type AfterFindingsHook, type ReconcileRunSummary } from './reconcile-run.job.ts';

export interface WorkerStartOptions {
  log?: Logger;
  /** Parallel fetches in this process (default `config.workerConcurrency`). */
  concurrency?: number;
  /** Job lock; a killed worker's jobs are recovered after this (default 30 s). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Connector overrides (tests: faster back-off). */
  fetchLimits?: Partial<FetchLimits>;
  /** Sources per `run.probe` part (default 32; tests use fewer). */
  probePart?: number;
  connectorDeps?: Partial<ConnectorDeps>;
  /**
   * Alerts: called inside the reconciliation transaction with the run's new/resolved findings.
   * Default: `writeDigestOutboxIsolated` (R15, `@pksync/notify`): a failing alert step is rolled
   * back to a savepoint and logged; the run still commits and the next run reports what was missed.
   */
  afterFindings?: AfterFindingsHook;
  /** R15: how often the outbox poller delivers due alert digests (default 15 s; 0: no poller). */
  notifyPollMs?: number;
}

export interface RunningWorker {
  /** Graceful stop (running jobs finish or are released after the shutdown time-out). Safe to call twice. */
  close(): Promise<void>;
  readonly db: Db;
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
  const db = createDb(config.databaseUrl, { max: concurrency + 3, applicationName: 'pksync-worker' });
  const common = {
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    log,
    lockDurationMs: options.lockDurationMs,
    stalledIntervalMs: options.stalledIntervalMs,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
  };
  const workers: PipelineWorker[] = [];
  // R15: digests are written in the reconcile transaction and delivered from the outbox.
  const notifyDeps = { db, config, logger: log };
  const afterFindings: AfterFindingsHook =
    options.afterFindings ??
    (async (trx, info) => {
      await writeDigestOutboxIsolated(trx, info, (err) =>
        log.error({ err, runId: info.runId }, 'alert digests not written; the next run reports them'),
      );
    });
  let poller: NotifyPoller | undefined;
  const ledger = createFetchLedger(db);
  // run.plan and run.probe add each run's fetch (and probe) jobs.
  const queues = createQueueClient({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
  const connectorDeps: ConnectorDeps = { uploads: uploadReader(db), ...options.connectorDeps };
  const limits: Partial<FetchLimits> = {
    maxBytes: config.limits.maxSnapshotBytes,
    maxRows: config.limits.maxSnapshotRows,
    fetchTimeoutMs: config.limits.fetchTimeoutMs,
    ...options.fetchLimits,
  };
  const planDeps = {
    db,
    tokenKey: config.tokenKey,
    connectorDeps,
    limits,
    queues,
    ...(options.probePart ? { probePart: options.probePart } : {}),
  };
  try {
    workers.push(
      createWorker({
        ...common,
        queue: 'fetch',
        concurrency,
        handlers: {
          'run.plan': planRunHandler(planDeps),
          'run.probe': probeRunHandler(planDeps),
          'source.fetch': fetchSourceHandler({ db, ledger, tokenKey: config.tokenKey, connectorDeps, limits }),
        },
      }),
      createWorker({
        ...common,
        queue: 'run',
        concurrency: 1,
        // R14: runs reconcile one at a time across every worker process (versions are a sequence).
        globalConcurrency: 1,
        handlers: { 'run.reconcile': reconcileRunHandler({ db, afterFindings }) },
        onFinalFailure: async (name, payload, error) => {
          const runId = (payload as { runId?: string }).runId;
          if (name === 'run.reconcile' && runId && (await markRunFailed(db, runId, error.message)))
            log.error({ runId, err: error }, 'run failed: it could not be reconciled');
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
    await Promise.all(workers.map((w) => w.worker.waitUntilReady()));
  } catch (e) {
    await poller?.stop();
    await Promise.allSettled(workers.map((w) => w.close()));
    await queues.close();
    await db.destroy();
    throw e;
  }
  log.info({ concurrency, prefix: config.queuePrefix }, 'worker started');

  let closing: Promise<void> | undefined;
  return {
    db,
    close() {
      closing ??= (async () => {
        log.info('worker stopping');
        await Promise.allSettled(workers.map((w) => w.close()));
        await poller?.stop().catch(() => {});
        await queues.close().catch(() => {});
        await db.destroy().catch(() => {});
        log.info({ fetchLedger: ledger.stats() }, 'worker stopped');
      })();
      return closing;
    },
  };
}
