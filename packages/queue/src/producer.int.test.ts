import { describe, expect, it } from 'vitest';
import { useTestRedis } from '@pksync/testing';
import { createQueueClient } from './producer.ts';

describe('createQueueClient close (real Redis)', () => {
  const r = useTestRedis();

  // The API's dashboard makes its queues at start; a demo run with --once closes them at once.
  // BullMQ's connection set-up then failed where nothing listened, and the process ended (exit 1).
  it('closes queues made a moment before, while their connection is still being set up', async () => {
    const crashes: unknown[] = [];
    const onUncaught = (e: unknown) => crashes.push(e);
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    try {
      for (let i = 0; i < 20; i++) {
        const client = createQueueClient({ redisUrl: r.url, prefix: r.prefix });
        client.queue('run');
        client.queue('fetch');
        // Close at different moments of the connection's set-up (connect, ready check, INFO).
        await new Promise((res) => setTimeout(res, i % 5));
        await client.close();
      }
      await new Promise((res) => setTimeout(res, 200));
    } finally {
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onUncaught);
    }
    expect(crashes).toEqual([]);
  });
});
