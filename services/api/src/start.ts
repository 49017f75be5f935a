import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { Config } from '@pksync/config';
import { createDb, type Db } from '@pksync/db';
import { createQueueClient, producerConnection, waitReady, type QueueClient } from '@pksync/queue';
import { buildApp } from './app.ts';
import type { ApiContext } from './context.ts';

/** Optional collaborators of {@link start}; whatever is given is not closed by `close()`. */
export interface StartDeps {
  db?: Db;
  redis?: Redis;
  queues?: QueueClient;
  logger?: Logger;
  /** The web console's static files; default `services/web/public` beside this service. */
  webRoot?: string | null;
  rateLimit?: ApiContext['rateLimit'];
}

export interface RunningApi {
  /** `http://host:port` (the real port when PORT=0). */
  url: string;
  /** Stops accepting, lets requests finish, closes what start() opened. Safe to call twice. */
  close(): Promise<void>;
}

const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/public/', import.meta.url));

/**
 * Starts the API service: HTTP on `config.host:config.port`, PostgreSQL, Redis (readiness, rate
 * limits) and the BullMQ producers (triggers, dashboard, queue metrics).
 *
 * @example
 * const api = await start(loadConfig());
 * console.log(`API at ${api.url}`);
 * process.once('SIGTERM', () => void api.close());
 */
export async function start(config: Config, deps: StartDeps = {}): Promise<RunningApi> {
  const logger = deps.logger ?? pino({ level: config.logLevel, name: 'pksync-api' });
  const db = deps.db ?? createDb(config.databaseUrl, { applicationName: 'pksync-api', max: 20 });
  const redis = deps.redis ?? producerConnection(config.redisUrl);
  const queues = deps.queues ?? createQueueClient({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
  // Redis down at start-up does not stop the API (reads need only PostgreSQL); readiness says so.
  await waitReady(redis, 3_000).catch((e: unknown) =>
    logger.warn({ err: e }, 'Redis is not reachable yet: triggers and uploads will fail until it is'),
  );
  const ctx: ApiContext = {
    db,
    redis,
    queues,
    tokenKey: config.tokenKey,
    limits: {
      maxUploadBytes: config.limits.maxUploadBytes,
      maxSnapshotRows: config.limits.maxSnapshotRows,
      maxSnapshotBytes: config.limits.maxSnapshotBytes,
    },
    schedule: { cron: config.syncCron, timezone: config.syncTimezone },
    rateLimit: deps.rateLimit ?? { max: 30, timeWindowMs: 60_000, namespace: `${config.queuePrefix}:ratelimit:` },
  };
  const app = await buildApp(ctx, {
    logger,
    webRoot: deps.webRoot === undefined ? DEFAULT_WEB_ROOT : deps.webRoot,
    trustProxy: config.trustProxy,
  });
  const closeOwned = async () => {
    // Each step guarded: one failing close must not leave the others open.
    if (!deps.queues) await queues.close().catch(() => {});
    if (!deps.redis) redis.disconnect();
    if (!deps.db) await db.destroy().catch(() => {});
  };
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (e) {
    await app.close().catch(() => {});
    await closeOwned();
    throw e;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  logger.info({ url }, 'api listening');
  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= (async () => {
        const timer = setTimeout(() => app.server.closeAllConnections(), config.shutdownTimeoutMs);
        try {
          await app.close().catch(() => {});
        } finally {
          clearTimeout(timer);
        }
        await closeOwned();
      })();
      return closing;
    },
  };
}
