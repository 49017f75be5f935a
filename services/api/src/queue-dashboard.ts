import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import { QUEUE_NAMES, type QueueClient } from '@pksync/queue';

/**
 * Mounts the BullMQ dashboard (Bull Board) at `basePath`. Its routes declare no access, so the auth
 * hook makes them admin-only (a browser is asked for the key as the Basic password).
 */
export async function mountQueueDashboard(app: FastifyInstance, queues: QueueClient, basePath: string): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  createBullBoard({
    queues: QUEUE_NAMES.map((name) => new BullMQAdapter(queues.queue(name))),
    // One @bull-board/api: the direct dependency is the exact version @bull-board/fastify pins
    // (test/workspace/dependencies.test.ts), so the adapter's type is the board's own.
    serverAdapter,
    options: { uiConfig: { boardTitle: 'pksync queues' } },
  });
  serverAdapter.setBasePath(basePath);
  await app.register(serverAdapter.registerPlugin(), { prefix: basePath });
}
