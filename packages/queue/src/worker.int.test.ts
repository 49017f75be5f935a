import { describe, expect, it } from 'vitest';
import { useTestRedis } from '@pksync/testing';
import { createLogger } from './logger.ts';
import { createQueueClient } from './producer.ts';
import { createWorker } from './worker.ts';
import { PermanentError } from './errors.ts';

const runId = '5a644a13-1241-401e-a64d-fb09e50f68f0';
const quiet = createLogger({ level: 'silent', pretty: false });

describe('createWorker / enqueue (real Redis)', () => {
  const r = useTestRedis();

  it('keeps keys under the hash-tag prefix, dedupes by job id, and does not retry a PermanentError', async () => {
    const queues = createQueueClient({ redisUrl: r.url, prefix: r.prefix });
    const seen: string[] = [];
    let attempts = 0;
    const w = createWorker({
      redisUrl: r.url,
      prefix: r.prefix,
      queue: 'run',
      log: quiet,
      handlers: {
        'run.reconcile': async (p, ctx) => {
          attempts++;
          seen.push(`${p.runId}:${ctx.attempt}`);
          throw new PermanentError('bad run');
        },
      },
    });
    // Listen before enqueueing: the job can fail while the second enqueue is on the wire.
    const failed = new Promise<void>((res) => w.worker.on('failed', () => res()));
    try {
      const id1 = await queues.enqueue('run.reconcile', { runId });
      const id2 = await queues.enqueue('run.reconcile', { runId });
      expect(id1).toBe(id2);
      await failed;
      await new Promise((res) => setTimeout(res, 300));
      expect(attempts).toBe(1); // 5 attempts in the catalog, but permanent
      expect(seen).toEqual([`${runId}:1`]);
      const keys = await r.redis.keys('*');
      const ours = keys.filter((k) => k.includes(r.prefix.slice(1, -1)));
      expect(ours.length).toBeGreaterThan(0);
      expect(ours.every((k) => k.startsWith(`${r.prefix}:run:`))).toBe(true);
    } finally {
      await w.close();
      await w.close(); // safe twice
      await queues.close();
    }
  });

  it('fails fast when Redis cannot be reached', async () => {
    const queues = createQueueClient({ redisUrl: 'redis://127.0.0.1:1', prefix: r.prefix });
    const t0 = Date.now();
    await expect(queues.enqueue('run.reconcile', { runId })).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(2_000);
    await queues.close();
  });

  it('close() waits for the running job, then stops taking jobs', async () => {
    const queues = createQueueClient({ redisUrl: r.url, prefix: `${r.prefix.slice(0, -1)}-b}` });
    let finished = 0;
    let started!: () => void;
    const startedP = new Promise<void>((res) => (started = res));
    const w = createWorker({
      redisUrl: r.url,
      prefix: `${r.prefix.slice(0, -1)}-b}`,
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
