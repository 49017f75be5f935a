import { Redis } from 'ioredis';

/** Redis for producers: fail fast when Redis is down instead of queueing commands in memory. */
export function producerConnection(url: string): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    lazyConnect: false,
  });
  redis.on('error', () => {}); // surfaced by the failing command instead
  return redis;
}

/** Redis for workers: BullMQ's blocking commands need `maxRetriesPerRequest: null`. */
export function workerConnection(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
  redis.on('error', () => {}); // ioredis reconnects; BullMQ logs through the worker's 'error' event
  return redis;
}

/**
 * Waits until a connection is ready; fails at the first connection error (producers fail fast)
 * or after `timeoutMs`, with a clear message.
 */
export async function waitReady(redis: Redis, timeoutMs = 5_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis is not reachable (no connection within ${timeoutMs} ms)`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onEnd = () => {
      cleanup();
      reject(new Error('Redis connection closed'));
    };
    const onError = (e: Error) => {
      cleanup();
      reject(new Error(`Redis is not reachable: ${e.message}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('end', onEnd);
      redis.off('error', onError);
    };
    redis.on('ready', onReady);
    redis.on('end', onEnd);
    redis.on('error', onError);
  });
}
