import { describe, expect, it } from 'vitest';
import { useTestRedis } from '@pksync/testing';
import { createLogger } from '../src/logger.ts';
import { createQueueClient } from '../src/producer.ts';
import { createWorker } from '../src/worker.ts';
import { PermanentError } from '../src/errors.ts';

const runId = '5a644a13-1241-401e-a64d-fb09e50f68f0';
const quiet = createLogger({ level: 'silent', pretty: false });

describe('createWorker / enqueue (real Redis)', () => {
  const r = useTestRedis();

  /** A prefix of this test's own, derived from the file's (its keys are deleted after the file). */
  const derived = (suffix: string) => `${r.prefix.slice(0, -1)}-${suffix}}`;
  /** Every key whose name holds `part`, by SCAN MATCH (not KEYS: Redis is shared with other files). */
  const keysHolding = async (part: string) => {
    const keys: string[] = [];
    for await (const batch of r.redis.scanStream({ match: `*${part}*`, count: 1000 }))
      keys.push(...(batch as string[]));
    return keys;
  };

  /** A worker whose `run.reconcile` handler throws `error`, and the job's state once its attempt failed. */
  const failOnce = async (prefix: string, error: () => Error) => {
    const queues = createQueueClient({ redisUrl: r.url, prefix });
    const seen: string[] = [];
    const w = createWorker({
      redisUrl: r.url,
      prefix,
      queue: 'run',
      log: quiet,
      handlers: {
        'run.reconcile': async (p, ctx) => {
          seen.push(`${p.runId}:${ctx.attempt}`);
          throw error();
        },
      },
    });
    // Listen before enqueueing: the job can fail while the second enqueue is on the wire.
    const failed = new Promise<void>((res) => w.worker.on('failed', () => res()));
    try {
      const id1 = await queues.enqueue('run.reconcile', { runId });
      const id2 = await queues.enqueue('run.reconcile', { runId });
      await failed;
      // BullMQ emits 'failed' once the job has moved on: to `failed` for good, or `delayed` for a retry.
      const job = await queues.queue('run').getJob(id1);
      return { ids: [id1, id2], seen, state: await job!.getState(), attemptsMade: job!.attemptsMade };
    } finally {
      await w.close();
      await w.close(); // safe twice
      await queues.close();
    }
  };

  it('keeps keys under the hash-tag prefix, dedupes by job id, and does not retry a PermanentError', async () => {
    const prefix = derived('permanent');
    const r1 = await failOnce(prefix, () => new PermanentError('bad run'));
    expect(r1.ids[0]).toBe(r1.ids[1]);
    // 5 attempts in the catalog, but permanent: failed for good after one, no retry waiting.
    expect(r1).toMatchObject({ state: 'failed', attemptsMade: 1, seen: [`${runId}:1`] });
    const ours = await keysHolding(prefix.slice(1, -1));
    expect(ours.length).toBeGreaterThan(0);
    expect(ours.filter((k) => !k.startsWith(`${prefix}:run:`))).toEqual([]);
  });

  it('retries an ordinary error: after its first attempt the job waits for its back-off', async () => {
    const r1 = await failOnce(derived('retried'), () => new Error('database hiccup'));
    expect(r1).toMatchObject({ state: 'delayed', attemptsMade: 1, seen: [`${runId}:1`] });
  });

  it('fails fast when Redis cannot be reached', async () => {
    const queues = createQueueClient({ redisUrl: 'redis://127.0.0.1:1', prefix: r.prefix });
    // At the first connection error, not after retries or a time-out (the test's own time-out bounds it).
    await expect(queues.enqueue('run.reconcile', { runId })).rejects.toThrow(/Redis is not reachable: .*ECONNREFUSED/);
    await queues.close();
  });

  it('close() waits for the running job, then stops taking jobs', async () => {
    const queues = createQueueClient({ redisUrl: r.url, prefix: derived('close') });
    let finished = 0;
    let started!: () => void;
    const startedP = new Promise<void>((res) => (started = res));
    const w = createWorker({
      redisUrl: r.url,
      prefix: derived('close'),
      queue: 'run',
      log: quiet,
      handlers: {
        'run.reconcile': async () => {
          started();
          await new Promise((res) => setTimeout(res, 500));
          finished++;
        },
      },
    });
    await queues.enqueue('run.reconcile', { runId });
    await startedP;
    await w.close();
    expect(finished).toBe(1);
    await queues.close();
  });
});
