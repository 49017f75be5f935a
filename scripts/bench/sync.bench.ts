/**
 * `pnpm bench:sync` — figures for the queue-driven pipeline (issue 5), printed, not asserted.
 *
 *  1. realistic night: every simulated source (~552, ~15,000 officers, seeded faults: ≈5% flaky,
 *     a few slow/down/malformed/rate-limited), the simulator's deliberate delays on;
 *  2. the same night without the simulator's delays and faults: the pipeline's own time;
 *  3. a repeat run with nothing changed (ratio to 2);
 *  4. one region re-synced by hand after the simulator moved a day: trigger → published version;
 *     4b (issue 16): the same on a ≈100,000- and a ≈1,000,000-officer register, with `as_of` equal
 *     to the national run's and without it (today): each kind's range over a few regions;
 *  5. scale: ≈1,000,000 officers end to end — first with no agency sending workload, then with
 *     workload for every region (needs planning, issue 15: the ratio of the two) — peak memory per
 *     worker process, a plain COPY of the same rows into PostgreSQL for comparison, and
 *     `GET /api/v1/needs` over HTTP on the register the run left (nation, province, region).
 *
 * Workers run as real processes (`pksync serve worker`, 2 of them, as on a 2-core machine); the
 * simulator runs in this process. Before each timed run it renders the agencies' files and API
 * pages once (`Simulator.prerender`), as an agency's export is ready before the night: its CPU
 * during the run is then only serving bytes, and is printed apart from the pipeline's
 * (`--no-prerender`: render on every request, as before). Each scenario gets its own database (created and dropped here)
 * and its own Redis prefix. Options: `--only night|pipeline|scoped|scale`, `--skip-scale` (also skips 4b),
 * `--scoped-officers 100000,1000000` and `--scoped-repeats N` (4b: register sizes, regions per kind),
 * `--scale-officers N` (default 1,000,000), `--scale-pairs N` (runs without/with workload, default 1), `--repeats N` (repeat runs in a row, the last is the
 * figure), `--keep` (keep the databases), `--node-defaults` (workers without the image's V8 flags). Environment: BENCH_CONCURRENCY (fetch jobs per worker
 * process, default 8 as WORKER_CONCURRENCY), BENCH_WORKER_LOGS=dir (keep the workers' logs),
 * BENCH_WORKER_NODE_ARGS (e.g. `--cpu-prof`). PostgreSQL/Redis: DATABASE_URL / REDIS_URL (an admin URL), else
 * the local defaults.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../packages/config/src/index.ts';
import {
  createDb,
  getRun,
  importSources,
  listSourceFetches,
  migrateToLatest,
  type Db,
  type Run,
} from '../../packages/db/src/index.ts';
import { createQueueClient, triggerRun, type QueueClient } from '../../packages/queue/src/index.ts';
import { start as startSimulator, type Simulator, type SimulatorConfig } from '../../services/simulator/src/index.ts';
import { uploadSimulatedFiles } from '../../services/cli/src/commands/demo.command.ts';
import { start as startApi } from '../../services/api/src/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);
const { from: copyFrom, to: copyTo } = require('pg-copy-streams') as {
  from: (sql: string) => Writable & pg.Submittable;
  to: (sql: string) => Readable & pg.Submittable;
};

const args = new Set(process.argv.slice(2));
const argValue = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TOKEN_KEY = randomBytes(32).toString('hex');
const WORKERS = 2;
const SEED = 1;

const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
/** The `as_of` of every national run here (and of a re-sync that gives the national run's). */
const NATIONAL_AS_OF = '2026-11-27';
const log = (s: string) => console.log(s);

interface Env {
  name: string;
  url: string;
  prefix: string;
  config: Config;
  db: Db;
  queues: QueueClient;
  workers: ChildProcess[];
}

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  c.on('error', () => {}); // a dropped connection: its query rejects (no listener would end the process)
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** The workers' V8 flags in production (`NODE_OPTIONS` in infra/Dockerfile); `--node-defaults`: none. */
const WORKER_NODE_ARGS = args.has('--node-defaults') ? [] : ['--max-semi-space-size=24'];

function spawnWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    // As the image runs them (infra/Dockerfile NODE_OPTIONS), then BENCH_WORKER_NODE_ARGS: e.g.
    // "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the workers.
    [
      ...WORKER_NODE_ARGS,
      ...(process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      '--import',
      'tsx',
      'services/cli/src/main.ts',
      'serve',
      'worker',
    ],
    {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      if (buf !== null) {
        buf += d;
        if (buf.includes('worker started')) {
          buf = '';
          resolve(child);
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it started`)));
  });
}

/** Peak resident set of a process (kB → MB), from /proc (Linux). */
function peakRssMb(pid: number | undefined): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

async function setUp(label: string, extraEnv: Record<string, string> = {}): Promise<Env> {
  const name = `pksync_syncbench_${label}_${randomBytes(3).toString('hex')}`;
  await adminQuery(`create database "${name}"`);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  const prefix = `{pksync-bench-${randomBytes(4).toString('hex')}}`;
  const envVars = {
    DATABASE_URL: url,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    TOKEN_ENCRYPTION_KEY: TOKEN_KEY,
    LOG_LEVEL: 'info',
    WORKER_CONCURRENCY: process.env.BENCH_CONCURRENCY ?? '8',
    // Each worker process's health/metrics server on a free port (two workers on one machine).
    METRICS_PORT: '0',
    ...extraEnv,
  };
  const config = loadConfig(envVars);
  const db = createDb(url, { max: 4, applicationName: 'pksync-bench' });
  await migrateToLatest(db);
  const workers = await Promise.all(Array.from({ length: WORKERS }, () => spawnWorker(envVars)));
  // The workers' JSON logs are not part of the figures (BENCH_WORKER_LOGS=dir keeps them).
  const logDir = process.env.BENCH_WORKER_LOGS;
  for (const w of workers) {
    if (logDir) w.stdout!.pipe(createWriteStream(`${logDir}/${label}-worker-${w.pid}.log`));
    else w.stdout!.resume();
  }
  const queues = createQueueClient({ redisUrl: REDIS_URL, prefix });
  return { name, url, prefix, config, db, queues, workers };
}

async function tearDown(env: Env): Promise<(number | null)[]> {
  const peaks = env.workers.map((w) => peakRssMb(w.pid));
  await Promise.all(
    env.workers.map(async (w) => {
      if (w.exitCode !== null) return;
      const exited = new Promise((r) => w.once('exit', r));
      w.kill('SIGTERM');
      await exited;
    }),
  );
  await env.queues.close();
  await env.db.destroy();
  const redis = new Redis(REDIS_URL);
  redis.on('error', () => {}); // ioredis reconnects; a command in flight rejects
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(
      cursor,
      'MATCH',
      `${env.prefix.replace(/[{}]/g, (c) => `\\${c}`)}*`,
      'COUNT',
      1000,
    );
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
  if (!args.has('--keep')) await adminQuery(`drop database if exists "${env.name}" with (force)`);
  return peaks;
}

/** Imports the simulator's sources; the `upload` ones get their operator upload (as in the demo). */
async function importAll(env: Env, s: Simulator): Promise<void> {
  await importSources(env.db, s.sourcesFile(), env.config.tokenKey);
  const ids = s
    .sourcesFile()
    .filter((x) => x.transport === 'upload')
    .map((x) => x.id);
  await uploadSimulatedFiles(env.db, s.url, ids, 200 * 1024 * 1024);
}

async function sim(options: Partial<SimulatorConfig>): Promise<Simulator> {
  return startSimulator({ port: 0, seed: SEED, regions: 'all', ...options });
}

/** The agencies' exports, ready before the night (see the header); not part of any figure. */
async function prerender(s: Simulator): Promise<void> {
  if (args.has('--no-prerender')) return;
  const t0 = performance.now();
  const { entries, bytes } = await s.prerender();
  log(
    `  simulator: ${entries} files and API pages rendered ahead (${(bytes / 1048576).toFixed(1)} MB, ${sec(performance.now() - t0)})`,
  );
}

interface Timed {
  run: Run;
  wallMs: number;
  /** triggerRun (create the run + enqueue its flow) alone. */
  triggerMs: number;
  /** CPU (user + system) spent by the worker processes during the run. */
  workerCpuMs: number;
  /** CPU (ms) during the run of: the workers, PostgreSQL, Redis, and this process (simulator). */
  cpu: ReturnType<typeof cpuSplit>;
}

/** user + system CPU of a process in ms, from /proc (Linux; 0 elsewhere). */
function cpuMs(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // fields 14/15, in clock ticks (100 Hz)
  } catch {
    return 0;
  }
}
const workersCpu = (env: Env) => env.workers.reduce((s, w) => s + cpuMs(w.pid), 0);

/** CPU (user + system, ms) of every process whose command name is `comm` (PostgreSQL backends, Redis). */
function cpuOfCommand(comm: string): number {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === comm) total += cpuMs(Number(pid));
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

/** Where the machine's CPU went: workers, PostgreSQL, Redis, this process (simulator + bench). */
function cpuSplit(env: Env) {
  const self = process.cpuUsage();
  return {
    workers: workersCpu(env),
    postgres: cpuOfCommand('postgres'),
    redis: cpuOfCommand('redis-server'),
    bench: (self.user + self.system) / 1000,
  };
}

async function timedRun(
  env: Env,
  scope: Parameters<typeof triggerRun>[2]['scope'] = { kind: 'national' },
  asOf = NATIONAL_AS_OF,
): Promise<Timed> {
  const cpu0 = workersCpu(env);
  const split0 = cpuSplit(env);
  const t0 = performance.now();
  const t0Epoch = Date.now();
  const { run } = await triggerRun(env.db, env.queues, {
    scope,
    trigger: 'manual',
    requestedBy: 'bench',
    asOf,
  });
  const triggerMs = performance.now() - t0;
  for (;;) {
    const r = await getRun(env.db, run.id);
    if (r && (r.status === 'completed' || r.status === 'failed')) {
      // Up to the finish the run records (runs.finished_at, taken in the reconciliation
      // transaction as it completes the run), not to when this 25 ms poll noticed it.
      const finished = r.finished_at ? new Date(r.finished_at as unknown as string).getTime() : NaN;
      const wallMs = Number.isFinite(finished) ? finished - t0Epoch : performance.now() - t0;
      const workerCpuMs = workersCpu(env) - cpu0;
      const split1 = cpuSplit(env);
      const cpu = {
        workers: split1.workers - split0.workers,
        postgres: split1.postgres - split0.postgres,
        redis: split1.redis - split0.redis,
        bench: split1.bench - split0.bench,
      };
      await new Promise((res) => setTimeout(res, 200)); // the reconcile timing is added just after
      return { run: (await getRun(env.db, run.id)) ?? r, wallMs, triggerMs, workerCpuMs, cpu };
    }
    await new Promise((res) => setTimeout(res, 25));
  }
}

function describeRun(t: Timed): string {
  const c = t.run.counts as unknown as Record<string, number>;
  return (
    `${t.run.status} in ${sec(t.wallMs)}: sources ${c.succeeded ?? 0} fetched / ${c.unchanged ?? 0} unchanged / ${c.failed ?? 0} failed; ` +
    `records ${c.fetched ?? 0} (${c.rejected ?? 0} rejected); version ${t.run.version_published ?? '-'} ` +
    `(+${c.added ?? 0} -${c.removed ?? 0} ~${c.changed ?? 0}); trigger ${sec(t.triggerMs)}; ` +
    `CPU: workers ${sec(t.cpu.workers)}, PostgreSQL ${sec(t.cpu.postgres)}, Redis ${sec(t.cpu.redis)}, simulator+bench ${sec(t.cpu.bench)}`
  );
}

async function stageTimes(db: Db, runId: string): Promise<string> {
  const f = await listSourceFetches(db, runId);
  const sum = (k: string) => f.reduce((s, x) => s + Number((x.counts as unknown as Record<string, number>)[k] ?? 0), 0);
  const run = await getRun(db, runId);
  const ms = (v: unknown) => (v ? new Date(v as string).getTime() : 0);
  const lastFetch = Math.max(...f.map((x) => ms(x.finished_at)));
  const fetchPhase = lastFetch - ms(run?.started_at ?? run?.created_at);
  const reconcilePhase = ms(run?.finished_at) - lastFetch;
  return (
    `phases: fetch → stage ${sec(fetchPhase)}, reconcile → publish ${sec(reconcilePhase)}; ` +
    `fetch+normalise ${sec(sum('fetchMs'))}, staging ${sec(sum('stageMs'))} (summed over sources, run in parallel)`
  );
}

/**
 * `GET /api/v1/needs` over HTTP on loopback against the register a run left (the API in this
 * process, after the run): the nation, one province, one region; sequential requests, the first
 * (cold) one apart. Prints p50 / p95 / max of the warm ones.
 */
async function needsLatency(env: Env, label: string): Promise<void> {
  const config = loadConfig({
    DATABASE_URL: env.url,
    REDIS_URL,
    QUEUE_PREFIX: env.prefix,
    TOKEN_ENCRYPTION_KEY: TOKEN_KEY,
    LOG_LEVEL: 'error',
    PORT: '0',
    HOST: '127.0.0.1',
  });
  const api = await startApi(config, { webRoot: null });
  try {
    const base = api.url;
    for (const [what, query] of [
      ['nation', ''],
      ['province 16', '?province=16'],
      ['region 16.71', '?region=16.71'],
    ] as const) {
      const times: number[] = [];
      let bytes = 0;
      for (let i = 0; i < 31; i++) {
        const t0 = performance.now();
        const res = await fetch(`${base}/api/v1/needs${query}`);
        const body = await res.arrayBuffer();
        times.push(performance.now() - t0);
        bytes = body.byteLength;
        if (res.status !== 200) throw new Error(`GET /needs${query}: HTTP ${res.status}`);
      }
      const cold = times.shift()!;
      times.sort((a, b) => a - b);
      const pct = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!;
      figure(
        `${label}: GET /needs (${what}, ${(bytes / 1024).toFixed(0)} kB): p50 ${pct(50).toFixed(1)} ms, p95 ${pct(95).toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms, first ${cold.toFixed(1)} ms (target < 200 ms)`,
      );
    }
  } finally {
    await api.close();
  }
}

const figures: string[] = [];
const figure = (s: string) => {
  figures.push(s);
  log(`  → ${s}`);
};

async function night(): Promise<void> {
  log('\n[1] realistic night: ~552 sources, seeded faults (≈5% flaky …), simulator delays on');
  const s = await sim({});
  const env = await setUp('night');
  try {
    await importAll(env, s);
    await prerender(s);
    const t = await timedRun(env);
    log(`  ${describeRun(t)}`);
    log(`  ${await stageTimes(env.db, t.run.id)}`);
    figure(`realistic night (delays and faults on): ${sec(t.wallMs)} (target < 30 s)`);
  } finally {
    await tearDown(env);
    await s.close();
  }
}

async function pipelineOnly(): Promise<void> {
  log('\n[2] the same night without the simulator’s delays and faults (pipeline time)');
  const s = await sim({ delays: false, faults: false });
  const env = await setUp('pipe');
  try {
    await importAll(env, s);
    await prerender(s);
    const full = await timedRun(env);
    log(`  ${describeRun(full)}`);
    log(`  ${await stageTimes(env.db, full.run.id)}`);
    figure(`pipeline time, no simulator delays: ${sec(full.wallMs)} (target < 5 s)`);

    log('\n[3] repeat run, nothing changed');
    for (let i = 1; i < Number(argValue('--repeats') ?? 1); i++) {
      const extra = await timedRun(env);
      log(`  (extra repeat ${i}) ${describeRun(extra)}`);
    }
    const again = await timedRun(env);
    log(`  ${describeRun(again)}`);
    log(`  ${await stageTimes(env.db, again.run.id)}`);
    figure(
      `repeat run, nothing changed: ${sec(again.wallMs)} = ${((100 * again.wallMs) / full.wallMs).toFixed(1)}% of the full run (target < 10%)`,
    );

    log('\n[4] one region re-synced by hand after a day of changes');
    const before = new Map(s.agencies().map((a) => [a.id, JSON.stringify([...s.listOfficers(a.id)])]));
    s.setDay(1);
    await prerender(s);
    const changed = s
      .agencies()
      .filter((a) => a.region.level === 'regency' && before.get(a.id) !== JSON.stringify([...s.listOfficers(a.id)]));
    const region = changed[0]?.region.code ?? '16.71';
    const one = await timedRun(env, { kind: 'region', value: region });
    log(`  region ${region}: ${describeRun(one)}`);
    log(`  ${await stageTimes(env.db, one.run.id)}`);
    figure(
      `one region (${region}) re-synced: trigger → ${one.run.version_published ? `version ${one.run.version_published} published` : 'completed (no change)'} in ${sec(one.wallMs)} (target < 2 s)`,
    );
  } finally {
    await tearDown(env);
    await s.close();
  }
}

/** The national run at scale on a fresh database; `workload`: whether the agencies send workload. */
async function scaleRun(
  factor: number,
  workload: boolean,
  after?: (env: Env, t: Timed) => Promise<void>,
): Promise<{ t: Timed; officers: number; peaks: (number | null)[] }> {
  // Room for every agency's files (≈1,800 officers each) in the simulator's cache.
  const s = await sim({ delays: false, faults: false, scale: factor, defectRate: 0.01, cacheBytes: 2 ** 31, workload });
  const officers = s.agencies().reduce((n, a) => n + a.officers, 0);
  const env = await setUp(workload ? 'scale' : 'scalenw', { MAX_SNAPSHOT_ROWS: '250000', FETCH_TIMEOUT_S: '600' });
  let t: Timed | undefined;
  let peaks: (number | null)[] = [];
  try {
    await importAll(env, s);
    await prerender(s);
    t = await timedRun(env);
    log(`  ${workload ? 'with' : 'without'} workload: ${describeRun(t)}`);
    log(`  ${await stageTimes(env.db, t.run.id)}`);
    const c = t.run.counts as unknown as Record<string, unknown>;
    if (c.reconcileMs !== undefined) log(`  reconcile ${sec(Number(c.reconcileMs))}`);
    if (after) await after(env, t);
  } finally {
    peaks = await tearDown(env);
    await s.close();
  }
  return { t, officers, peaks };
}

async function scale(): Promise<void> {
  const target = Number(argValue('--scale-officers') ?? 1_000_000);
  const probe = await sim({ delays: false, faults: false });
  const base = probe.agencies();
  await probe.close();
  const baseOfficers = base.reduce((s, a) => s + a.officers, 0);
  const factor = Math.ceil((target / baseOfficers) * 100) / 100;
  log(`\n[5] scale: ≈${target.toLocaleString('en')} officers (simulator scale ${factor}), no delays, no faults`);

  // Issue 15: the same night without any workload, then with workload for every region, in
  // alternating pairs (`--scale-pairs N`, default 1) on fresh databases: a shared machine's noise
  // shows as the spread of the ratios.
  const pairs = Math.max(1, Number(argValue('--scale-pairs') ?? 1));
  const ratios: number[] = [];
  const bareMs: number[] = [];
  const fullMs: number[] = [];
  for (let i = 1; i < pairs; i++) {
    const b = await scaleRun(factor, false);
    const f = await scaleRun(factor, true);
    bareMs.push(b.t.wallMs);
    fullMs.push(f.t.wallMs);
    ratios.push(f.t.wallMs / b.t.wallMs);
  }
  const bare = await scaleRun(factor, false);
  const full = await scaleRun(factor, true, async (env, t) => {
    // A plain COPY of the same rows (the published register) into a fresh table.
    const pool = new pg.Pool({ connectionString: env.url, max: 2 });
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {})); // as createDb does
    const a = await pool.connect();
    const b = await pool.connect();
    try {
      await b.query('create unlogged table copy_bench (like officer_records including defaults)');
      const cols =
        'nip, source_id, region_code, province_code, name, name_normalised, gender, birth_date, level, grade, unit, tmt_jabatan, status, active, email, phone, source_updated_at, past_retirement, valid_from, valid_to';
      const chunks: Buffer[] = [];
      const out = a.query(copyTo(`copy (select ${cols} from officer_records where valid_to is null) to stdout`));
      for await (const c of out as AsyncIterable<Buffer>) chunks.push(c);
      const mb = chunks.reduce((n, c) => n + c.length, 0) / 1048576;
      const c0 = performance.now();
      await pipeline(Readable.from(chunks), b.query(copyFrom(`copy copy_bench (${cols}) from stdin`)));
      const copyMs = performance.now() - c0;
      const rows = (await b.query<{ n: string }>('select count(*) as n from copy_bench')).rows[0]!.n;
      figure(
        `plain COPY of the same ${Number(rows).toLocaleString('en')} rows (${mb.toFixed(0)} MB): ${sec(copyMs)}; pipeline / COPY = ${(t.wallMs / copyMs).toFixed(1)}×`,
      );
    } finally {
      a.release();
      b.release();
      await pool.end();
    }
    const needs = await env.db
      .selectFrom('computed_needs')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirst();
    log(`  computed needs stored: ${String(needs?.n)} (region × level)`);
    await needsLatency(env, `${registerLabel(t)}`);
  });
  bareMs.push(bare.t.wallMs);
  fullMs.push(full.t.wallMs);
  ratios.push(full.t.wallMs / bare.t.wallMs);
  const range = (xs: number[], f: (x: number) => string) =>
    xs.length === 1 ? f(xs[0]!) : `${f(Math.min(...xs))}–${f(Math.max(...xs))} (${xs.map(f).join(', ')})`;
  figure(`scale without workload: ${bare.officers.toLocaleString('en')} officers end to end in ${range(bareMs, sec)}`);
  figure(
    `scale with workload for every region: ${full.officers.toLocaleString('en')} officers end to end in ${range(fullMs, sec)} ` +
      `(target < 60 s); with / without workload, pair by pair = ${range(ratios, (r) => r.toFixed(3))} (target ≤ 1.10)`,
  );
  figure(
    `peak memory per worker process: ${full.peaks.map((p) => (p === null ? 'n/a' : `${p.toFixed(0)} MB`)).join(', ')} (target < 500 MB)`,
  );
}

/**
 * [4b] Issue 16: one region re-synced by hand on a large register (the simulator at scale, every
 * agency sending workload, as in [5]), trigger → published version, for each register size: a
 * national run on {@link NATIONAL_AS_OF}, the simulator moves a day, then regencies re-synced one
 * at a time, alternately with `as_of` equal to the national run's and without `as_of` (today, as
 * `POST /sync` defaults it). Each size's figure: the range and median of each kind.
 */
async function scoped(): Promise<void> {
  const targets = (argValue('--scoped-officers') ?? '100000,1000000').split(',').map(Number);
  const repeats = Number(argValue('--scoped-repeats') ?? 3);
  const probe = await sim({ delays: false, faults: false });
  const baseOfficers = probe.agencies().reduce((n, a) => n + a.officers, 0);
  await probe.close();
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Jakarta' }).format(new Date());
  for (const target of targets) {
    const factor = Math.ceil((target / baseOfficers) * 100) / 100;
    log(
      `\n[4b] one region re-synced on a ≈${target.toLocaleString('en')}-officer register (simulator scale ${factor}), ` +
        `national as_of ${NATIONAL_AS_OF}, today ${today}`,
    );
    const s = await sim({ delays: false, faults: false, scale: factor, defectRate: 0.01, cacheBytes: 2 ** 31 });
    const env = await setUp('scoped', { MAX_SNAPSHOT_ROWS: '250000', FETCH_TIMEOUT_S: '600' });
    try {
      await importAll(env, s);
      await prerender(s);
      const national = await timedRun(env);
      log(`  national: ${describeRun(national)}`);
      const registerSize = registerLabel(national);
      // Regencies whose listing the next day changes (≈0.3% of officers move or leave a day).
      const regencies = s.agencies().filter((a) => a.region.level === 'regency' && a.officers > 0);
      const listing = (id: string) => JSON.stringify([...s.listOfficers(id)]);
      const candidates = regencies.filter((_, i) => i % 17 === 5).slice(0, 4 * repeats);
      const before = new Map(candidates.map((a) => [a.id, listing(a.id)]));
      s.setDay(1);
      await prerender(s);
      const changed = candidates.filter((a) => before.get(a.id) !== listing(a.id)).slice(0, 2 * repeats);
      const times: Record<'national' | 'today', number[]> = { national: [], today: [] };
      for (const [i, a] of changed.entries()) {
        const kind = i % 2 === 0 ? 'national' : 'today';
        const one = await timedRun(
          env,
          { kind: 'region', value: a.region.code },
          kind === 'national' ? NATIONAL_AS_OF : today,
        );
        const c = one.run.counts as unknown as Record<string, number>;
        log(
          `  region ${a.region.code} (${a.officers} officers), as_of ${one.run.as_of}: ${describeRun(one)}; ` +
            `reconcile ${c.reconcileMs === undefined ? 'n/a' : sec(Number(c.reconcileMs))}`,
        );
        times[kind].push(one.wallMs);
      }
      const range = (ms: number[]) => {
        const v = [...ms].sort((x, y) => x - y);
        return v.length
          ? `${sec(v[0]!)}–${sec(v.at(-1)!)} (median ${sec(v[Math.floor(v.length / 2)]!)}, ${v.length} regions)`
          : 'n/a';
      };
      figure(
        `one region re-synced on a ${registerSize}: trigger → published, as_of = the national run's ` +
          `${range(times.national)}; without as_of (today) ${range(times.today)} (target < 0.5 s)`,
      );
    } finally {
      await tearDown(env);
      await s.close();
    }
  }
}

/** The label of the GET /needs figure: the register it ran on. */
function registerLabel(t: Timed): string {
  const c = t.run.counts as unknown as Record<string, number>;
  return `${(c.officers ?? 0).toLocaleString('en')}-officer register`;
}

log(
  `pksync bench:sync — ${WORKERS} worker processes (concurrency 8), PostgreSQL ${new URL(ADMIN_URL).host}, Redis ${new URL(REDIS_URL).host}`,
);
const only = argValue('--only');
if (!only || only === 'night') await night();
if (!only || only === 'pipeline') await pipelineOnly();
if ((!only || only === 'scoped') && !args.has('--skip-scale')) await scoped();
if ((!only || only === 'scale') && !args.has('--skip-scale')) await scale();
log('\nfigures:');
for (const f of figures) log(`  ${f}`);
