import { existsSync } from 'node:fs';
import pg from 'pg';
import { Redis } from 'ioredis';

export interface TestServices {
  /** A URL of a database on the server where the test may CREATE DATABASE (the admin connection). */
  databaseUrl: string;
  redisUrl: string;
  /** How they were found, for the one line the test run prints. */
  origin: 'environment' | 'testcontainers' | 'local defaults';
  stop(): Promise<void>;
}

export const LOCAL_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const LOCAL_REDIS_URL = 'redis://127.0.0.1:6379';

/** Why PostgreSQL at `url` cannot be used (connect + `select 1`, 3 s), or null when it can. */
export async function postgresError(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => {}); // a dropped connection: its query rejects (no listener would end the process)
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Why Redis at `url` cannot be used (connect + PING, 3 s), or null when it can. */
export async function redisError(url: string): Promise<string | null> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    redis.disconnect();
  }
}

function dockerMayAnswer(): boolean {
  return Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}

async function tryTestcontainers(): Promise<TestServices | null> {
  if (!dockerMayAnswer()) return null;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
  } catch {
    return null; // a socket with no engine behind it
  }
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const { RedisContainer } = await import('@testcontainers/redis');
  const [pgC, redisC] = await Promise.all([
    new PostgreSqlContainer('postgres:16.10-alpine').withUsername('postgres').withPassword('postgres').start(),
    new RedisContainer('redis:7.4-alpine').start(),
  ]);
  const dbUrl = new URL(pgC.getConnectionUri());
  dbUrl.pathname = '/postgres';
  return {
    databaseUrl: dbUrl.toString(),
    redisUrl: redisC.getConnectionUrl(),
    origin: 'testcontainers',
    stop: async () => {
      await Promise.allSettled([pgC.stop(), redisC.stop()]);
    },
  };
}

/**
 * Finds PostgreSQL and Redis for tests, in this order: `TEST_DATABASE_URL`/`TEST_REDIS_URL`;
 * testcontainers when a Docker engine answers; else the local defaults. Throws one clear message
 * naming what is missing and how to start it.
 */
export async function resolveTestServices(env = process.env): Promise<TestServices> {
  let found: TestServices | null = null;
  if (env.TEST_DATABASE_URL || env.TEST_REDIS_URL) {
    found = {
      databaseUrl: env.TEST_DATABASE_URL ?? LOCAL_DATABASE_URL,
      redisUrl: env.TEST_REDIS_URL ?? LOCAL_REDIS_URL,
      origin: 'environment',
      stop: async () => {},
    };
  } else {
    found = (await tryTestcontainers()) ?? {
      databaseUrl: LOCAL_DATABASE_URL,
      redisUrl: LOCAL_REDIS_URL,
      origin: 'local defaults',
      stop: async () => {},
    };
  }
  const [pgError, redisErr] = await Promise.all([postgresError(found.databaseUrl), redisError(found.redisUrl)]);
  const missing: string[] = [];
  if (pgError) {
    missing.push(
      `PostgreSQL at ${redact(found.databaseUrl)} (${found.origin}) did not answer: ${pgError}.\n` +
        "    Start one (e.g. `docker compose -f infra/compose.yaml up -d postgres`, or your distribution's postgresql service)\n" +
        '    or point TEST_DATABASE_URL at a server where this user may CREATE DATABASE.',
    );
  }
  if (redisErr) {
    missing.push(
      `Redis at ${redact(found.redisUrl)} (${found.origin}) did not answer: ${redisErr}.\n` +
        '    Start one (e.g. `docker compose -f infra/compose.yaml up -d redis`, or `redis-server --daemonize yes`)\n' +
        '    or point TEST_REDIS_URL at it.',
    );
  }
  if (missing.length > 0) {
    await found.stop();
    throw new Error(`pksync tests need PostgreSQL and Redis.\n  - ${missing.join('\n  - ')}`);
  }
  return found;
}

export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
