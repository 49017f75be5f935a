import { FlowProducer, Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { setTimeout as delay } from 'node:timers/promises';
import { jobCatalog, parsePayload, QUEUE_NAMES, type JobName, type JobPayload, type QueueName } from './catalog.ts';
import { producerConnection, waitReady } from './connection.ts';

export interface QueueClientOptions {
  redisUrl: string;
  /** BullMQ key prefix: a Redis Cluster hash tag (`config.queuePrefix`, default `{pksync}`). */
  prefix: string;
}

/** Completed jobs are kept a day (for the dashboard), failed ones a week. */
const RETENTION = {
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
} as const;

/** BullMQ options of one catalog job: attempts, back-off, deterministic id, retention. */
export function jobOptions<N extends JobName>(name: N, payload: JobPayload<N>): JobsOptions {
  const def = jobCatalog[name];
  return {
    jobId: (def.jobId as (p: JobPayload<N>) => string)(payload),
    attempts: def.attempts,
    backoff: def.backoff,
    ...RETENTION,
  };
}

/** Producer side of the queues: add jobs and run flows. Fails fast when Redis is down. */
export interface QueueClient {
  /** Adds one job; returns its (deterministic) id. Adding the same payload twice is a no-op. */
  enqueue<N extends JobName>(name: N, payload: JobPayload<N>, options?: { delayMs?: number }): Promise<string>;
  /**
   * Adds a run's flow: the `run.reconcile` parent waiting for its `run.plan` child (which adds the
   * `source.fetch` children with {@link QueueClient.addFetches}). Job ids are derived from the run
   * id, so adding the same run twice adds nothing.
   */
  enqueueRun(run: { runId: string; gen?: number }): Promise<void>;
  /**
   * Adds `source.fetch` children to a run's waiting `run.reconcile` parent (called by `run.plan`
   * while it runs, so the parent cannot start before they are added). Ids are derived from the
   * run and source ids: adding a source twice adds nothing.
   */
  addFetches(runId: string, sourceIds: readonly string[], gen?: number): Promise<void>;
  /**
   * Adds `run.probe` children (one per part of source ids) to a run's waiting `run.reconcile`
   * parent, like {@link QueueClient.addFetches}. Ids are derived from the run and the part number.
   */
  addProbes(runId: string, parts: readonly (readonly string[])[], gen?: number): Promise<void>;
  /**
   * The BullMQ state of a run's `run.reconcile` parent in generation `gen` (`unknown` when Redis
   * no longer has it, e.g. after Redis lost its data): what the run healer looks at.
   */
  runJobState(runId: string, gen: number): Promise<string>;
  /** The BullMQ queue (dashboards, metrics, tests). */
  queue(name: QueueName): Queue;
  close(): Promise<void>;
}

/**
 * Creates a producer. Queues keep their keys under `prefix` (a hash tag), so each queue's keys
 * share one Redis Cluster slot.
 *
 * @example
 * const queues = createQueueClient({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
 * await queues.enqueueRun({ runId, sourceIds });
 */
export function createQueueClient(options: QueueClientOptions): QueueClient {
  let redis: Redis | undefined;
  const queues = new Map<QueueName, Queue>();
  let flow: FlowProducer | undefined;
  let closing: Promise<void> | undefined;

  const connection = async (): Promise<Redis> => {
    if (closing) throw new Error('queue client is closed');
    redis ??= producerConnection(options.redisUrl);
    await waitReady(redis);
    return redis;
  };
  const queueOf = (name: QueueName): Queue => {
    let q = queues.get(name);
    if (!q) {
      redis ??= producerConnection(options.redisUrl);
      q = new Queue(name, { connection: redis, prefix: options.prefix });
      q.on('error', () => {});
      queues.set(name, q);
    }
    return q;
  };

  /**
   * Adds children to a run's waiting `run.reconcile` parent, in the `fetch` queue. R9: a child that
   * still fails after its attempts (e.g. the database was down) must not block or fail the run:
   * the parent proceeds and fails what that child left pending.
   */
  const addChildren = async <N extends 'source.fetch' | 'run.probe'>(
    runId: string,
    gen: number | undefined,
    name: N,
    payloads: readonly JobPayload<N>[],
  ): Promise<void> => {
    if (payloads.length === 0) return;
    await connection();
    const parent = { id: jobOptions('run.reconcile', { runId, gen }).jobId!, queue: queueOf('run').qualifiedName };
    await queueOf(jobCatalog[name].queue).addBulk(
      payloads.map((payload) => {
        const data = parsePayload(name, payload);
        return { name, data, opts: { ...jobOptions(name, data), parent, ignoreDependencyOnFailure: true } };
      }),
    );
  };

  return {
    async enqueue(name, payload, opts) {
      const data = parsePayload(name, payload);
      await connection();
      const jobOpts = jobOptions(name, data);
      if (opts?.delayMs) jobOpts.delay = opts.delayMs;
      const job = await queueOf(jobCatalog[name].queue).add(name, data, jobOpts);
      return job.id ?? String(jobOpts.jobId);
    },
    async enqueueRun({ runId, gen }) {
      const conn = await connection();
      if (!flow) {
        flow = new FlowProducer({ connection: conn, prefix: options.prefix });
        flow.on('error', () => {});
      }
      const parent = parsePayload('run.reconcile', gen ? { runId, gen } : { runId });
      const plan = parsePayload('run.plan', gen ? { runId, gen } : { runId });
      await flow.add({
        name: 'run.reconcile',
        queueName: jobCatalog['run.reconcile'].queue,
        data: parent,
        opts: jobOptions('run.reconcile', parent),
        children: [
          {
            name: 'run.plan',
            queueName: jobCatalog['run.plan'].queue,
            data: plan,
            // A plan that fails for good leaves its fetches pending: the parent proceeds and
            // fails them (R9), so the run still completes and says which sources failed.
            opts: { ...jobOptions('run.plan', plan), ignoreDependencyOnFailure: true },
          },
        ],
      });
    },
    addProbes: (runId, parts, gen) =>
      addChildren(
        runId,
        gen,
        'run.probe',
        parts.map((sourceIds, part) => ({ runId, part, sourceIds: [...sourceIds], ...(gen ? { gen } : {}) })),
      ),
    addFetches: (runId, sourceIds, gen) =>
      addChildren(
        runId,
        gen,
        'source.fetch',
        sourceIds.map((sourceId) => ({ runId, sourceId, ...(gen ? { gen } : {}) })),
      ),
    async runJobState(runId, gen) {
      await connection();
      return queueOf('run').getJobState(jobOptions('run.reconcile', { runId, gen }).jobId!);
    },
    queue: queueOf,
    close() {
      closing ??= (async () => {
        // A queue made just before (the API's dashboard makes them at start) may still be
        // connecting: closing it then lets BullMQ emit its connection's failure where nothing
        // listens, which ends the process. Let the connection settle first (bounded, fails fast).
        if (redis) await waitReady(redis).catch(() => {});
        await Promise.allSettled(
          [...queues.values()].map(async (q) => {
            await Promise.race([q.waitUntilReady(), delay(5_000, undefined, { ref: false })]).catch(() => {});
            await q.close();
          }),
        );
        if (flow) await flow.close().catch(() => {});
        if (redis) redis.disconnect();
      })();
      return closing;
    },
  };
}

/** Standalone form of {@link QueueClient.enqueue}. */
export function enqueue<N extends JobName>(client: QueueClient, name: N, payload: JobPayload<N>): Promise<string> {
  return client.enqueue(name, payload);
}

export { QUEUE_NAMES };
