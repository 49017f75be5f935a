/**
 * Shared pieces of the end-to-end tests: a config pointing at the test's own database and Redis
 * prefix, the simulator with its sources imported, and waiting for a run to finish.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig, type Config } from '@pksync/config';
import { getRun, importSources, type Db, type Run } from '@pksync/db';
import { createQueueClient, triggerRun, type QueueClient } from '@pksync/queue';
import { start as startSimulator, type Simulator, type SimulatorConfig } from '@pksync/simulator';
import { createTestDatabase, useTestDatabase, useTestRedis } from '@pksync/testing';
import { start as startWorker, type RunningWorker, type WorkerStartOptions } from '@pksync/worker';

/** One token key per test process (tokens of simulated `api` sources are encrypted with it). */
export const TEST_TOKEN_KEY = randomBytes(32).toString('hex');

/** A frozen config for the test's database URL and Redis prefix (quiet logs unless DEBUG_LOGS). */
export function testConfig(
  db: { url: string },
  redis: { url: string; prefix: string },
  env: Record<string, string> = {},
): Config {
  return loadConfig({
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    TOKEN_ENCRYPTION_KEY: TEST_TOKEN_KEY,
    LOG_LEVEL: process.env.DEBUG_LOGS ? 'debug' : 'error',
    SHUTDOWN_TIMEOUT_MS: '5000',
    WORKER_CONCURRENCY: '8',
    ...env,
  });
}

/**
 * The environment of a pksync process (`pksync …`, `pksync serve …`) for a test's config: its
 * database, Redis prefix and token key, quiet logs, health and metrics on a free port.
 */
export function serviceEnv(config: Config): Record<string, string> {
  return {
    DATABASE_URL: config.databaseUrl,
    REDIS_URL: config.redisUrl,
    QUEUE_PREFIX: config.queuePrefix,
    TOKEN_ENCRYPTION_KEY: config.tokenKey!.toString('hex'),
    LOG_LEVEL: 'error',
    // A served worker's or scheduler's health and metrics on a free port (tests run side by side).
    METRICS_PORT: '0',
  };
}

/** Connector limits for tests: quick back-off so faults do not slow the suite down. */
export const FAST_FETCH = {
  attempts: 2,
  backoffBaseMs: 20,
  backoffMaxMs: 100,
  maxRetryAfterMs: 2_000,
  requestTimeoutMs: 10_000,
};

export const BASE_DATE = '2026-06-01';

/** The `as_of` of simulated day `n` (day 0 = {@link BASE_DATE}). */
export function dayDate(n: number): string {
  const d = new Date(`${BASE_DATE}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** Starts the simulator (no deliberate delays, no seeded faults unless given) and imports its sources. */
export async function simulatorWithSources(
  db: Db,
  config: Config,
  options: Partial<SimulatorConfig> = {},
): Promise<Simulator> {
  const sim = await startSimulator({
    port: 0,
    seed: 7,
    regions: '16',
    delays: false,
    faults: false,
    baseDate: BASE_DATE,
    ...options,
  });
  await importSources(db, sim.sourcesFile(), config.tokenKey);
  return sim;
}

/** What {@link usePipeline} sets up: filled in by its `beforeAll`. */
export interface PipelineEnv {
  db: Db;
  config: Config;
  sim: Simulator;
  worker: RunningWorker;
  queues: QueueClient;
}

/**
 * The end-to-end set-up of a describe block: its own database and Redis prefix, the simulator
 * that `simulator` starts (with its sources imported), one worker with {@link FAST_FETCH} limits
 * and a queue client; all closed after the block.
 *
 * @example
 * const env = usePipeline((db, config) => simulatorWithSources(db, config, { defectRate: 0 }));
 */
export function usePipeline(
  simulator: (db: Db, config: Config) => Promise<Simulator>,
  worker: Pick<WorkerStartOptions, 'probePart'> = {},
): PipelineEnv {
  const t = useTestDatabase();
  const r = useTestRedis();
  const env = {} as Partial<PipelineEnv>;
  beforeAll(async () => {
    env.db = t.db;
    env.config = testConfig(t, r);
    env.sim = await simulator(env.db, env.config);
    env.worker = await startWorker(env.config, { fetchLimits: FAST_FETCH, ...worker });
    env.queues = createQueueClient({ redisUrl: env.config.redisUrl, prefix: env.config.queuePrefix });
  });
  afterAll(async () => {
    await env.queues?.close();
    await env.worker?.close();
    await env.sim?.close();
  });
  return env as PipelineEnv;
}

/** Polls until the run is completed or failed. */
export async function waitForRun(db: Db, runId: string, timeoutMs = 60_000): Promise<Run> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await getRun(db, runId);
    if (!run) throw new Error(`run ${runId} not found`);
    if (run.status === 'completed' || run.status === 'failed') return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${run.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The current register as `nip → source|region|status|active` (compares registers exactly). */
export async function registerSnapshot(db: Db): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom('officer_records')
    .select(['nip', 'source_id', 'region_code', 'status', 'active', 'level', 'grade', 'tmt_jabatan', 'past_retirement'])
    .where('valid_to', 'is', null)
    .execute();
  return new Map(
    rows.map((r) => [
      r.nip,
      [r.source_id, r.region_code, r.status, r.active, r.level, r.grade, r.tmt_jabatan, r.past_retirement].join('|'),
    ]),
  );
}

/** What two runs of the same scenario must agree on: the register, the run's counts, the tables' sizes. */
export interface RunOutcome {
  register: Map<string, string>;
  counts: Record<string, number>;
  /** Rows of findings, rejected records, officer records, formations, publications and alert outbox. */
  rows: Record<string, number>;
}

const OUTCOME_COUNTS = ['added', 'officers', 'active', 'fetched', 'accepted', 'rejected'] as const;
const OUTCOME_TABLES = [
  'findings',
  'rejected_records',
  'officer_records',
  'formations',
  'publications',
  'alert_outbox',
] as const;

/** The outcome of `run` in `db`, to compare with {@link undisturbedOutcome}. */
export async function runOutcome(db: Db, run: Run): Promise<RunOutcome> {
  const c = run.counts as unknown as Record<string, number>;
  const rows: Record<string, number> = {};
  for (const table of OUTCOME_TABLES)
    rows[table] = Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    register: await registerSnapshot(db),
    counts: Object.fromEntries(OUTCOME_COUNTS.map((k) => [k, c[k] ?? 0])),
    rows,
  };
}

/** A pipeline beside a test's own: see {@link ownPipeline}. */
export interface OwnPipeline {
  db: Db;
  config: Config;
  queues: QueueClient;
  /** Stops its worker and queue client and drops its database. */
  close(): Promise<void>;
}

/**
 * A pipeline of its own next to a test's: a fresh database with the simulator's sources, the Redis
 * prefix `<the test's prefix>-<name>`, one worker with {@link FAST_FETCH} limits and a queue client.
 */
export async function ownPipeline(sim: Simulator, config: Config, name: string): Promise<OwnPipeline> {
  const own = await createTestDatabase();
  const prefix = `${config.queuePrefix.slice(0, -1)}-${name}}`;
  const ownConfig = testConfig(own, { url: config.redisUrl, prefix });
  const queues = createQueueClient({ redisUrl: config.redisUrl, prefix });
  const worker = await startWorker(ownConfig, { fetchLimits: FAST_FETCH });
  const close = async () => {
    await worker.close();
    await queues.close();
    await own.drop();
  };
  try {
    await importSources(own.db, sim.sourcesFile(), ownConfig.tokenKey);
  } catch (e) {
    await close();
    throw e;
  }
  return { db: own.db, config: ownConfig, queues, close };
}

/**
 * The same national run read by an undisturbed worker into a fresh database (its own Redis
 * prefix): the reference a disturbed run must equal — nothing lost, nothing doubled.
 */
export async function undisturbedOutcome(
  sim: Simulator,
  config: Config,
  asOf: string,
): Promise<RunOutcome & { ms: number }> {
  const ref = await ownPipeline(sim, config, 'ref');
  try {
    const started = Date.now();
    const { run } = await triggerRun(ref.db, ref.queues, {
      scope: { kind: 'national' },
      trigger: 'manual',
      requestedBy: 'reference',
      asOf,
    });
    const done = await waitForRun(ref.db, run.id, 120_000);
    const ms = Date.now() - started;
    if (done.status !== 'completed') throw new Error(`the reference run ${done.status}: ${done.error}`);
    return { ...(await runOutcome(ref.db, done)), ms };
  } finally {
    await ref.close();
  }
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `pksync …` (services/cli) as a user would, with the given environment; output is stdout and stderr together. */
export function pksync(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli/src/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((res) => child.on('close', (code) => res({ code, out })));
}
