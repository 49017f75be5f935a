import type { Redis } from 'ioredis';
import type { Db } from '@pksync/db';
import type { QueueClient } from '@pksync/queue';

/** What every route reads: the database, Redis, the queues, the pipeline's levers and the limits. */
export interface ApiContext {
  db: Db;
  /** For readiness and the per-key rate limit; null disables both checks of Redis. */
  redis: Redis | null;
  /** For the queue dashboard and queue-depth metrics; null when there are no queues (tests of reads). */
  queues: QueueClient | null;
  tokenKey: Buffer | undefined;
  limits: {
    maxUploadBytes: number;
    maxSnapshotRows: number;
    maxSnapshotBytes: number;
    /** An upload whose body sends nothing for this long is given up (400); default 30 s. */
    uploadIdleMs?: number;
  };
  schedule: { cron: string; timezone: string };
  /** Per-key limit on triggers and uploads. */
  rateLimit: {
    max: number;
    timeWindowMs: number;
    /** Redis key prefix of the counters (shared by all replicas). */ namespace: string;
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    ctx: ApiContext;
  }
}
