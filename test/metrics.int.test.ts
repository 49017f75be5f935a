/**
 * Health and metrics of every service, checked by Prometheus' own tools (Debian's `prometheus`
 * package, installed by scripts/test): `promtool check metrics` on what the api, a worker and the
 * scheduler serve, `promtool check config|rules` and `test rules` on infra/prometheus, and a real
 * Prometheus server on loopback scraping the api and a worker, read back through its HTTP API.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start as startApi, type RunningApi } from '@pksync/api';
import type { Config } from '@pksync/config';
import { createQueueClient, triggerRun, type QueueClient } from '@pksync/queue';
import { start as startScheduler, type RunningScheduler } from '@pksync/scheduler';
import type { Simulator } from '@pksync/simulator';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import { start as startWorker, type RunningWorker } from '@pksync/worker';
import { dayDate, FAST_FETCH, serviceEnv, simulatorWithSources, testConfig, waitForRun } from './support/harness.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const PROMETHEUS_DIR = fileURLToPath(new URL('../infra/prometheus/', import.meta.url));
const has = (bin: string) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;
const TOOLS = has('promtool') && has('prometheus');
if (!TOOLS)
  console.warn(
    'test/metrics.int.test.ts skipped: promtool and prometheus are missing (scripts/test installs Debian’s prometheus package as root)',
  );

/** Runs promtool with `input` on stdin: its exit code and everything it printed. */
function promtool(args: string[], input?: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('promtool', args, { cwd: PROMETHEUS_DIR, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d: Buffer) => (output += d.toString()));
    p.stderr.on('data', (d: Buffer) => (output += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, output }));
    p.stdin.end(input ?? '');
  });
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text() };
}

/**
 * The value of the first sample of `name` in Prometheus text format whose labels include
 * `labels` (a string: equal; a RegExp: matching), in any order; undefined when none.
 */
function sample(text: string, name: string, labels: Record<string, string | RegExp> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    const fits = Object.entries(labels).every(([k, v]) =>
      typeof v === 'string' ? have[k] === v : have[k] !== undefined && v.test(have[k]),
    );
    if (fits) return Number(m[3]);
  }
  return undefined;
}

/** Polls `probe` until `done` holds, failing after `deadlineMs` with the last value seen. */
async function until<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean, deadlineMs = 60_000) {
  const deadline = Date.now() + deadlineMs;
  let last: T | undefined;
  let error: unknown;
  for (;;) {
    try {
      last = await probe();
      if (done(last)) return last;
    } catch (e) {
      error = e;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not reached; last ${JSON.stringify(last)} ${error ? String(error) : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.skipIf(!TOOLS)('metrics and health, checked by Prometheus', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let config: Config;
  let sim: Simulator;
  let worker: RunningWorker;
  let scheduler: RunningScheduler;
  let api: RunningApi;
  let queues: QueueClient;
  const loopback = { host: '127.0.0.1', port: 0 };

  beforeAll(async () => {
    config = testConfig(t, r);
    sim = await simulatorWithSources(t.db, config, { regions: '16.71' });
    worker = await startWorker(config, { fetchLimits: FAST_FETCH, metrics: loopback });
    scheduler = await startScheduler(config, { metrics: loopback });
    api = await startApi({ ...config, port: 0, host: '127.0.0.1' }, { webRoot: null });
    queues = createQueueClient({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
    const { run } = await triggerRun(t.db, queues, {
      scope: { kind: 'national' },
      trigger: 'manual',
      requestedBy: 'test',
      asOf: dayDate(0),
    });
    expect((await waitForRun(t.db, run.id)).status).toBe('completed');
  });
  afterAll(async () => {
    await queues?.close();
    await api?.close();
    await scheduler?.close();
    await worker?.close();
    await sim?.close();
  });

  it('a worker and the scheduler answer /healthz and /readyz (PostgreSQL and Redis ok)', async () => {
    for (const base of [worker.metricsUrl!, scheduler.metricsUrl!]) {
      expect(await get(`${base}/healthz`)).toEqual({ status: 200, text: '{"status":"ok"}' });
      const ready = await get(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(JSON.parse(ready.text)).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
      expect((await get(`${base}/nothing`)).status).toBe(404);
    }
  });

  it('what the api, the worker and the scheduler serve passes `promtool check metrics`', async () => {
    const served = {
      api: await get(`${api.url}/api/v1/metrics`),
      worker: await get(`${worker.metricsUrl}/metrics`),
      scheduler: await get(`${scheduler.metricsUrl}/metrics`),
    };
    for (const [service, { status, text }] of Object.entries(served)) {
      expect(status, service).toBe(200);
      const check = await promtool(['check', 'metrics'], text);
      expect({ service, ...check }).toEqual({ service, code: 0, output: '' });
      // Stock process metrics, unprefixed, told apart by the service label.
      expect(sample(text, 'process_cpu_seconds_total', { service }), service).toBeGreaterThan(0);
      expect(sample(text, 'pksync_queue_jobs', { service, queue: 'fetch', state: 'waiting' }), service).toBe(0);
      expect(sample(text, 'pksync_queue_workers', { service, queue: 'run' }), service).toBe(1);
      expect(text, service).not.toMatch(/pksync_api_process_|_by_code|pksync_runs\{/);
    }
    const w = served.worker.text;
    // The worker's own figures of the run it just did: one source of region 16.71, staged and reconciled.
    expect(sample(w, 'pksync_fetch_duration_seconds_count', { transport: 'api', outcome: 'succeeded' })).toBe(1);
    expect(sample(w, 'pksync_records_total', { outcome: 'accepted' })).toBeGreaterThan(0);
    const rejected = sample(w, 'pksync_records_total', { outcome: 'rejected' })!;
    expect(rejected).toBeGreaterThan(0);
    expect(sample(w, 'pksync_record_rejections_total', { code: /^[a-z_]+$/ })).toBeGreaterThanOrEqual(1);
    expect(sample(w, 'pksync_jobs_processed_total', { queue: 'run', job: 'run.reconcile' })).toBe(1);
    expect(sample(w, 'pksync_runs_finished_total', { status: 'completed', scope: 'national' })).toBe(1);
    expect(sample(w, 'pksync_runs_finished_total', { status: 'failed', scope: 'national' })).toBe(0);
    expect(sample(w, 'pksync_reconcile_phase_duration_seconds_count', { phase: 'publish' })).toBe(1);
    const last = sample(w, 'pksync_national_run_last_success_timestamp_seconds')!;
    expect(Math.abs(last - Date.now() / 1000)).toBeLessThan(3600);
    expect(sample(w, 'pksync_source_last_success_timestamp_seconds', { region: '16.71' })).toBeCloseTo(last, -2);
    expect(sample(w, 'pksync_outbox_messages', { status: 'dead' })).toBe(0);
    expect(sample(w, 'pksync_metrics_source_up', { source: 'postgres' })).toBe(1);
    expect(sample(served.api.text, 'pksync_register_version')).toBeGreaterThan(0);
    expect(sample(served.scheduler.text, 'pksync_scheduler_next_tick_timestamp_seconds')).toBeGreaterThan(
      Date.now() / 1000,
    );
  });

  it('with Redis unreachable, /readyz answers 503 naming it and /metrics still passes promtool, saying so', async () => {
    const down = testConfig(t, { url: `redis://127.0.0.1:${await freePort()}`, prefix: r.prefix });
    const lonely = await startScheduler(down, { metrics: loopback });
    try {
      const ready = await get(`${lonely.metricsUrl}/readyz`);
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.text)).toEqual({ status: 'unavailable', checks: { postgres: 'ok', redis: 'down' } });
      expect((await get(`${lonely.metricsUrl}/healthz`)).status).toBe(200);
      const { status, text } = await get(`${lonely.metricsUrl}/metrics`);
      expect(status).toBe(200);
      expect(await promtool(['check', 'metrics'], text)).toEqual({ code: 0, output: '' });
      expect(sample(text, 'pksync_metrics_source_up', { source: 'redis', service: 'scheduler' })).toBe(0);
      expect(sample(text, 'pksync_queue_jobs')).toBeUndefined();
    } finally {
      await lonely.close();
    }
  });

  it('`pksync serve scheduler` serves health and metrics on METRICS_HOST:METRICS_PORT, and stops on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli/src/main.ts', 'serve', 'scheduler'], {
      cwd: ROOT,
      env: { ...process.env, ...serviceEnv(config), METRICS_HOST: '127.0.0.1', METRICS_PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const base = `http://127.0.0.1:${port}`;
      const ready = await until(
        `pksync serve scheduler answers /readyz (${err})`,
        () => get(`${base}/readyz`),
        (a) => a.status === 200,
      );
      expect(JSON.parse(ready.text)).toMatchObject({ status: 'ready' });
      const { text } = await get(`${base}/metrics`);
      expect(sample(text, 'pksync_scheduler_triggers_total')).toBeUndefined(); // no tick yet
      expect(sample(text, 'pksync_queue_workers', { service: 'scheduler', queue: 'fetch' })).toBe(1);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('the shipped Prometheus config and alerting rules pass promtool (check and unit tests)', async () => {
    const rules = await promtool(['check', 'rules', 'alerts.yml']);
    expect(rules.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(rules.code).toBe(0);
    const cfg = await promtool(['check', 'config', 'prometheus.yml']);
    expect(cfg.output).not.toMatch(/FAILED/);
    expect(cfg.code).toBe(0);
    const unit = await promtool(['test', 'rules', 'alerts.test.yml']);
    expect(unit.output).toMatch(/SUCCESS/);
    expect(unit.code).toBe(0);
  });

  it('a Prometheus server on loopback scrapes the api and the worker; their series read back through /api/v1/query', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pksync-prometheus-'));
    const port = await freePort();
    const target = (u: string) => new URL(u).host;
    await writeFile(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        'scrape_configs:',
        '  - job_name: api',
        '    metrics_path: /api/v1/metrics',
        `    static_configs: [{ targets: ['${target(api.url)}'] }]`,
        '  - job_name: worker',
        '    metrics_path: /metrics',
        `    static_configs: [{ targets: ['${target(worker.metricsUrl!)}'] }]`,
        '',
      ].join('\n'),
    );
    let prometheus: ChildProcess | undefined;
    let log = '';
    try {
      prometheus = spawn(
        'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      prometheus.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4_000)));
      const query = async (q: string) => {
        const res = await get(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
        const body = JSON.parse(res.text) as {
          data: { result: { metric: Record<string, string>; value: [number, string] }[] };
        };
        return body.data.result;
      };
      const accepted = sample((await get(`${worker.metricsUrl}/metrics`)).text, 'pksync_records_total', {
        outcome: 'accepted',
      });
      const fromWorker = await until(
        `Prometheus scraped the worker (${log})`,
        () => query('pksync_records_total{job="worker",outcome="accepted"}'),
        (rows) => rows.length === 1,
      );
      expect(fromWorker[0]!.metric).toMatchObject({ service: 'worker', outcome: 'accepted' });
      expect(Number(fromWorker[0]!.value[1])).toBe(accepted);
      const fromApi = await until(
        'Prometheus scraped the api',
        () => query('up{job="api"} == 1 and on(instance) process_cpu_seconds_total{service="api"}'),
        (rows) => rows.length === 1,
      );
      expect(fromApi[0]!.metric).toMatchObject({ job: 'api', instance: target(api.url) });
    } finally {
      if (prometheus && prometheus.exitCode === null) {
        const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
        prometheus.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    }
  });
});
