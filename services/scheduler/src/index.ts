import cron, { type ScheduledTask } from 'node-cron';
import type { Config } from '@pksync/config';
import { Counter, Gauge } from 'prom-client';
import {
  calendarDateIn,
  createDb,
  listScheduledRuns,
  pingDatabase,
  RunScopeError,
  type CreateRunResult,
} from '@pksync/db';
import {
  createServiceRegistry,
  probe,
  registerQueueMetrics,
  startMetricsServer,
  type MetricsServer,
} from '@pksync/metrics';
import { createLogger, createQueueClient, triggerRun, type Logger } from '@pksync/queue';

export interface SchedulerStartOptions {
  log?: Logger;
  /** After a tick that could not trigger the run (database or Redis down): retry this often … */
  retryDelayMs?: number;
  /** … this many times (default 30 × 60 s: the night's run is not lost to a short outage). */
  retries?: number;
  /**
   * The clock (tests): what a tick without a date, a cron firing and the failed-night watcher
   * take as now. Default: the machine's clock (a cron firing takes its scheduled time).
   */
  now?: () => Date;
  /**
   * Serve `/healthz`, `/readyz` and `/metrics` there (`pksync serve scheduler` passes
   * `config.metrics`; port 0: any free port). Default: no server.
   */
  metrics?: { host: string; port: number };
}

/** The `n`-th (1-based) scheduled run of a night: `national:<as_of>`, then `national:<as_of>#2`, … */
export function scheduleSlot(asOf: string, n = 1): string {
  return n <= 1 ? `national:${asOf}` : `national:${asOf}#${n}`;
}

export interface RunningScheduler {
  /** One tick now, as the cron would at `at`: returns the night's run (created or existing). */
  tick(at?: Date): Promise<CreateRunResult | null>;
  /** The next scheduled tick. */
  nextRun(): Date | null;
  /** The health and metrics server's base URL, when `options.metrics` asked for one. */
  readonly metricsUrl: string | undefined;
  close(): Promise<void>;
}

/**
 * The scheduler service: node-cron with `SYNC_CRON` (default `0 1 * * *`) in `SYNC_TIMEZONE`
 * (default Asia/Jakarta). Each tick triggers the national run with `as_of` = the date in that
 * time zone and `schedule_slot = national:<as_of>` (unique in PostgreSQL), so any number of
 * schedulers make one run per night.
 */
export async function start(config: Config, options: SchedulerStartOptions = {}): Promise<RunningScheduler> {
  const log = options.log ?? createLogger({ level: config.logLevel, base: { service: 'scheduler' } });
  if (!cron.validate(config.syncCron))
    throw new Error(`SYNC_CRON: "${config.syncCron}" is not a valid cron expression`);
  const db = createDb(config.databaseUrl, {
    max: 2,
    applicationName: 'pksync-scheduler',
    onConnectionError: (err) => log.warn({ err }, 'PostgreSQL connection lost (reconnecting on the next query)'),
  });
  const queues = createQueueClient({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
  const registry = createServiceRegistry('scheduler');
  registerQueueMetrics(registry, queues);
  const triggers = new Counter({
    name: 'pksync_scheduler_triggers_total',
    help: 'Nightly triggers by outcome (created, existing, skipped: no enabled source, failed: to be retried)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  new Gauge({
    name: 'pksync_scheduler_next_tick_timestamp_seconds',
    help: 'When the cron fires next (unix seconds)',
    registers: [registry],
    collect() {
      const next = task.getNextRun();
      if (next) this.set(next.getTime() / 1000);
    },
  });

  /**
   * One trigger; `retry` says whether a failure may pass (database or Redis down). The night's
   * slot is its first scheduled run's; after that run failed, the next slot (`#2`, …) while
   * `SYNC_SLOT_ATTEMPTS` allows, so a failed night is run again (never a cancelled one).
   */
  const attempt = async (at: Date): Promise<{ result: CreateRunResult | null; retry: boolean }> => {
    const asOf = calendarDateIn(config.syncTimezone, at);
    try {
      const night = (await listScheduledRuns(db, asOf)).filter((r) => r.schedule_slot !== null);
      const latest = night.at(-1);
      const again = latest?.status === 'failed' && night.length < config.syncSlotAttempts;
      const slot = again ? scheduleSlot(asOf, night.length + 1) : (latest?.schedule_slot ?? scheduleSlot(asOf));
      if (again)
        log.warn({ asOf, failedRun: latest.id, attempt: night.length + 1 }, 'the night failed: running it again');
      const result = await triggerRun(db, queues, {
        scope: { kind: 'national' },
        trigger: 'schedule',
        requestedBy: 'scheduler',
        reason: 'nightly national sync',
        asOf,
        scheduleSlot: slot,
      });
      const l = log.child({ runId: result.run.id });
      if (result.created) l.info({ asOf, sources: result.sourceIds.length }, 'nightly run queued');
      else
        l.info({ asOf, status: result.run.status }, 'nightly run already exists (another scheduler or a manual run)');
      triggers.inc({ outcome: result.created ? 'created' : 'existing' });
      return { result, retry: false };
    } catch (e) {
      if (e instanceof RunScopeError) {
        triggers.inc({ outcome: 'skipped' });
        log.warn({ asOf, reason: e.message }, 'nightly run not started');
        return { result: null, retry: false }; // nothing to retry: no enabled source
      }
      triggers.inc({ outcome: 'failed' });
      log.error({ err: e, asOf }, 'nightly run could not be triggered');
      return { result: null, retry: true };
    }
  };
  const tick = async (at: Date = options.now?.() ?? new Date()) => (await attempt(at)).result;

  let retryTimer: NodeJS.Timeout | undefined;
  let closed = false;
  // A failed tick (not a scope without sources) is retried for the same night until it works.
  const tickWithRetry = async (at: Date, n = 0): Promise<void> => {
    const { retry } = await attempt(at);
    if (!retry || closed || n >= (options.retries ?? 30)) return;
    log.warn(
      { retryInMs: options.retryDelayMs ?? config.syncRetryDelayMs, attempt: n + 1 },
      'retrying the nightly trigger',
    );
    retryTimer = setTimeout(() => void tickWithRetry(at, n + 1), options.retryDelayMs ?? config.syncRetryDelayMs);
  };
  // A night whose scheduled run failed is run again after the back-off (the cron fires once a night).
  const watcher = setInterval(() => {
    if (closed) return;
    const now = options.now?.() ?? new Date();
    const asOf = calendarDateIn(config.syncTimezone, now);
    void listScheduledRuns(db, asOf)
      .then((runs) => {
        const night = runs.filter((r) => r.schedule_slot !== null);
        if (night.at(-1)?.status === 'failed' && night.length < config.syncSlotAttempts && !closed) return attempt(now);
      })
      .catch((err: unknown) => log.warn({ err }, 'could not check tonight’s run (database down?)'));
  }, options.retryDelayMs ?? config.syncRetryDelayMs);
  watcher.unref();
  const task: ScheduledTask = cron.schedule(config.syncCron, (ctx) => tickWithRetry(options.now?.() ?? ctx.date), {
    timezone: config.syncTimezone,
    name: 'pksync-nightly-sync',
    noOverlap: true,
  });
  let metricsServer: MetricsServer | undefined;
  if (options.metrics) {
    try {
      metricsServer = await startMetricsServer({
        ...options.metrics,
        registry,
        ready: async () => {
          const [postgres, redis] = await Promise.all([
            probe(() => pingDatabase(db)),
            probe(() => queues.queue('run').getJobCounts('waiting')),
          ]);
          return { postgres, redis };
        },
      });
    } catch (e) {
      clearInterval(watcher);
      await Promise.resolve(task.destroy()).catch(() => {});
      await queues.close().catch(() => {});
      await db.destroy().catch(() => {});
      throw e;
    }
  }
  log.info(
    { cron: config.syncCron, timezone: config.syncTimezone, next: task.getNextRun(), metrics: metricsServer?.url },
    'scheduler started',
  );

  let closing: Promise<void> | undefined;
  return {
    tick,
    nextRun: () => task.getNextRun(),
    metricsUrl: metricsServer?.url,
    close() {
      closing ??= (async () => {
        closed = true;
        metricsServer?.draining();
        clearTimeout(retryTimer);
        clearInterval(watcher);
        await Promise.resolve(task.destroy()).catch(() => {});
        await queues.close();
        await db.destroy().catch(() => {});
        await metricsServer?.close().catch(() => {});
        log.info('scheduler stopped');
      })();
      return closing;
    },
  };
}
