import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { useTestRedis } from '@pksync/testing';
import { createQueueClient } from '../src/producer.ts';

describe('createQueueClient close (real Redis)', () => {
  const r = useTestRedis();

  // The API's dashboard makes its queues at start; a demo run with --once closes them at once.
  // BullMQ's connection set-up then failed where nothing listened, and the process ended (exit 1).
  it('closes queues made a moment before, while their connection is still being set up', async () => {
    const crashes: unknown[] = [];
    const onUncaught = (e: unknown) => crashes.push(e);
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    const connections: Redis[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const client = createQueueClient({ redisUrl: r.url, prefix: r.prefix });
        client.queue('run');
        connections.push(client.queue('fetch').opts.connection as Redis);
        // Close at different moments of the connection's set-up (connect, ready check, INFO).
        await new Promise((res) => setTimeout(res, i % 5));
        await client.close();
      }
      // A late failure of a set-up comes from its connection's last events: wait until every
      // connection has ended, then for the events already queued to be handled.
      await expect
        .poll(() => connections.map((c) => c.status).filter((s) => s !== 'end'), { timeout: 10_000 })
        .toEqual([]);
      await new Promise((res) => setImmediate(res));
    } finally {
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onUncaught);
    }
    expect(crashes).toEqual([]);
  });
});
