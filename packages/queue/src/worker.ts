import { DelayedError, Queue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { isConnectionError } from '@pksync/db';
import type { Logger } from 'pino';
import {
  isJobName,
  jobCatalog,
  parsePayload,
  type JobName,
  type JobPayload,
  type JobsOfQueue,
  type QueueName,
} from './catalog.ts';
import { workerConnection } from './connection.ts';
import { PermanentError } from './errors.ts';

/** What a handler gets besides its payload. */
export interface JobContext {
  job: Job;
  /** Aborted when the worker is forced to stop (shutdown time-out); pass it to `fetch`. */
  signal: AbortSignal;
  /** Child logger with `jobId`, `job`, `runId` and `sourceId` on every line. */
  log: Logger;
  /** 1-based attempt number of this execution. */
  attempt: number;
  /** True when a failure now is the job's last (no retry follows). */
  finalAttempt: boolean;
}

export type JobHandler<N extends JobName> = (payload: JobPayload<N>, ctx: JobContext) => Promise<unknown>;
/** One handler per job of the queue: a job without a handler fails the type check. */
export type JobHandlers<Q extends QueueName> = { [N in JobsOfQueue<Q>]: JobHandler<N> };

export interface CreateWorkerOptions<Q extends QueueName> {
  redisUrl: string;
  prefix: string;
  queue: Q;
  handlers: JobHandlers<Q>;
  log: Logger;
  concurrency?: number;
  /** Lock of an active job; a worker that dies loses it after this long and the job is recovered. */
  lockDurationMs?: number;
  /** How often stalled jobs (lost locks) are looked for. */
  stalledIntervalMs?: number;
  /** Stalls tolerated before a job fails (a worker killed twice on the same job). */
  maxStalledCount?: number;
  /** Hard limit of a graceful close; then running jobs are aborted and released. */
  shutdownTimeoutMs?: number;
  /** Jobs of this queue running at once across every worker process (BullMQ global concurrency). */
  globalConcurrency?: number;
  /** Called when a job failed for good (no attempt left), e.g. to mark its run failed. */
  onFinalFailure?: (name: JobName, payload: unknown, error: Error) => Promise<void>;
  /**
   * On close, abort the running jobs at once and put them back in the queue for another worker
   * (for jobs that are safe to start again, like fetches), instead of letting them finish.
   */
  releaseOnClose?: boolean;
  /**
   * A job that fails because PostgreSQL is unreachable is delayed (back-off up to 10 s) without
   * using an attempt, up to this many times (default 60, a few minutes): an outage does not fail it.
   */
  maxOutageDelays?: number;
}

/** The delay before retrying a job after its `n`-th (0-based) database outage: 1, 2, 4, 8, then 10 s. */
export function outageDelayMs(n: number): number {
  return Math.min(10_000, 1_000 * 2 ** Math.min(n, 10));
}

export interface PipelineWorker {
  readonly worker: Worker;
  readonly queue: QueueName;
  /**
   * Stops taking jobs, lets running ones finish (or, after the shutdown time-out, aborts them so
   * another worker picks them up), then closes its connections. Safe to call twice.
   */
  close(): Promise<void>;
}

function idsOf(payload: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (payload && typeof payload === 'object') {
    const p = payload as Record<string, unknown>;
    if (typeof p.runId === 'string') out.runId = p.runId;
    if (typeof p.sourceId === 'string') out.sourceId = p.sourceId;
  }
  return out;
}

/**
 * A BullMQ worker over one pipeline queue, dispatching each job to its catalog handler after
 * validating the payload. A {@link PermanentError} (or a bad payload) becomes BullMQ's
 * `UnrecoverableError`: no further attempts.
 *
 * @example
 * const w = createWorker({ redisUrl, prefix, queue: 'fetch', handlers: { 'source.fetch': fetchSource }, log });
 * process.once('SIGTERM', () => void w.close());
 */
export function createWorker<Q extends QueueName>(options: CreateWorkerOptions<Q>): PipelineWorker {
  const connection = workerConnection(options.redisUrl);
  const active = new Set<AbortController>();
  const handlers = options.handlers as unknown as Record<string, JobHandler<JobName>>;
  const log = options.log.child({ queue: options.queue });

  let releasing = false;
  const worker = new Worker(
    options.queue,
    async (job: Job, token?: string) => {
      const name = job.name;
      if (!isJobName(name) || jobCatalog[name].queue !== options.queue || !handlers[name]) {
        throw new UnrecoverableError(`no handler for job "${name}" on queue "${options.queue}"`);
      }
      let payload: JobPayload<JobName>;
      try {
        payload = parsePayload(name, job.data);
      } catch (e) {
        throw new UnrecoverableError(`bad payload for ${name}: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (releasing && token) {
        // Taken while this worker stops (a slot was already waiting for a job): hand it back untouched.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const attempt = job.attemptsMade + 1;
      const maxAttempts = job.opts.attempts ?? 1;
      const ctl = new AbortController();
      active.add(ctl);
      const jobLog = options.log.child({ jobId: job.id, job: name, ...idsOf(payload), attempt });
      try {
        return await handlers[name]!(payload, {
          job,
          signal: ctl.signal,
          log: jobLog,
          attempt,
          finalAttempt: attempt >= maxAttempts,
        });
      } catch (e) {
        if (e instanceof PermanentError) throw new UnrecoverableError(e.message);
        if (releasing && ctl.signal.aborted && token) {
          // Graceful stop: the job goes back to the queue now, for another worker.
          await job.moveToWait(token);
          jobLog.info('job released at shutdown: back in the queue for another worker');
          throw new WaitingError();
        }
        // An outage of PostgreSQL is not the job's failure: wait for the server, keep the attempt.
        const outages = Math.max(0, (job.attemptsStarted ?? 1) - 1 - job.attemptsMade);
        if (token && isConnectionError(e) && outages < (options.maxOutageDelays ?? 60)) {
          const delayMs = outageDelayMs(outages);
          jobLog.warn({ err: e, delayMs, outages: outages + 1 }, 'database unreachable: job delayed, attempt kept');
          await job.moveToDelayed(Date.now() + delayMs, token);
          throw new DelayedError();
        }
        throw e;
      } finally {
        active.delete(ctl);
      }
    },
    {
      connection,
      prefix: options.prefix,
      concurrency: options.concurrency ?? 1,
      lockDuration: options.lockDurationMs ?? 30_000,
      stalledInterval: options.stalledIntervalMs ?? 30_000,
      maxStalledCount: options.maxStalledCount ?? 2,
      autorun: true,
    },
  );

  if (options.globalConcurrency) {
    const q = new Queue(options.queue, { connection, prefix: options.prefix });
    q.on('error', () => {}); // it re-emits its connection's errors; the worker's own 'error' logs them
    q.setGlobalConcurrency(options.globalConcurrency)
      .catch((err: unknown) => log.error({ err }, 'could not set the global concurrency'))
      .finally(() => void q.close().catch(() => {}));
  }

  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    const l = options.log.child({ jobId: job.id, job: job.name, ...idsOf(job.data) });
    l[final ? 'error' : 'warn'](
      { err, attemptsMade: job.attemptsMade, final },
      final ? 'job failed' : 'job failed, will retry',
    );
    if (final && options.onFinalFailure && isJobName(job.name)) {
      options
        .onFinalFailure(job.name, job.data, err)
        .catch((e: unknown) => l.error({ err: e }, 'onFinalFailure failed'));
    }
  });
  worker.on('error', (err) => log.error({ err }, 'worker error'));
  worker.on('stalled', (jobId) => log.warn({ jobId }, 'job stalled (its worker stopped); re-queued'));

  let closing: Promise<void> | undefined;
  return {
    worker,
    queue: options.queue,
    close() {
      closing ??= (async () => {
        const timeoutMs = options.shutdownTimeoutMs ?? 15_000;
        // Stop taking jobs first, so a released job is not picked up again by this worker.
        const closed = worker.close();
        if (options.releaseOnClose) {
          releasing = true;
          if (active.size > 0)
            log.info({ running: active.size }, 'stopping: releasing the running jobs to other workers');
          for (const ctl of active) ctl.abort(new Error('worker shutting down: job released'));
        }
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          closed.then(() => false),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
        ]).catch(() => true);
        clearTimeout(timer);
        if (timedOut) {
          log.warn(
            { running: active.size, timeoutMs },
            'shutdown time-out: aborting running jobs (another worker takes them over)',
          );
          for (const ctl of active) ctl.abort(new Error('worker shutting down'));
          await worker.close(true).catch(() => {});
        }
        connection.disconnect();
      })();
      return closing;
    },
  };
}
