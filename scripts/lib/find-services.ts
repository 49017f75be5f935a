/**
 * Finds PostgreSQL and Redis for scripts/test and scripts/demo and prints shell `export` lines.
 * Order: DATABASE_URL/REDIS_URL (or TEST_*) from the environment; the local defaults; Docker
 * (`docker compose -f infra/compose.yaml up -d postgres redis`) when an engine answers. Exit 1 with a clear
 * message naming what is missing and how to start it.
 */
import { execFileSync } from 'node:child_process';
import {
  LOCAL_DATABASE_URL as LOCAL_PG,
  LOCAL_REDIS_URL as LOCAL_REDIS,
  postgresError as pgError,
  redact as display,
  redisError,
} from '@pksync/testing/services';

function dockerAnswers(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

const env = process.env;
let pgUrl = env.TEST_DATABASE_URL ?? env.DATABASE_URL ?? LOCAL_PG;
let redisUrl = env.TEST_REDIS_URL ?? env.REDIS_URL ?? LOCAL_REDIS;
let origin = env.TEST_DATABASE_URL || env.DATABASE_URL ? 'environment' : 'local defaults';

let [pgErr, redisErr] = await Promise.all([pgError(pgUrl), redisError(redisUrl)]);
if ((pgErr || redisErr) && dockerAnswers()) {
  try {
    execFileSync('docker', ['compose', '-f', 'infra/compose.yaml', 'up', '-d', '--wait', 'postgres', 'redis'], {
      stdio: 'inherit',
      timeout: 180_000,
    });
    pgUrl = 'postgres://postgres:postgres@127.0.0.1:55432/postgres';
    redisUrl = 'redis://127.0.0.1:56379';
    origin = 'docker compose (infra/compose.yaml)';
    [pgErr, redisErr] = await Promise.all([pgError(pgUrl), redisError(redisUrl)]);
  } catch {
    /* fall through to the message below */
  }
}

const missing: string[] = [];
if (pgErr)
  missing.push(
    `PostgreSQL (tried ${display(pgUrl)}): ${pgErr}\n    Start PostgreSQL 15+ locally (trust or password auth, a user that may CREATE DATABASE), or run\n    'docker compose -f infra/compose.yaml up -d', or set DATABASE_URL (and TEST_DATABASE_URL for tests).`,
  );
if (redisErr)
  missing.push(
    `Redis (tried ${display(redisUrl)}): ${redisErr}\n    Start Redis 7 locally ('redis-server --daemonize yes'), or run 'docker compose -f infra/compose.yaml up -d',\n    or set REDIS_URL (and TEST_REDIS_URL for tests).`,
  );
if (missing.length) {
  console.error(`pksync needs PostgreSQL and Redis; missing:\n  - ${missing.join('\n  - ')}`);
  process.exit(1);
}
console.log(`export PKSYNC_ADMIN_DATABASE_URL=${q(pgUrl)}`);
console.log(`export PKSYNC_REDIS_URL=${q(redisUrl)}`);
console.log(`export PKSYNC_PG_DISPLAY=${q(display(pgUrl))}`);
console.log(`export PKSYNC_REDIS_DISPLAY=${q(display(redisUrl))}`);
console.log(`export PKSYNC_SERVICES_ORIGIN=${q(origin)}`);
