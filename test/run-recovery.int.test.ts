import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import {
  cancelRun,
  getRun,
  getRunProgress,
  listScheduledRuns,
  listSourceFetches,
  markRunFailed,
  repairLostStaging,
  type Db,
} from '@pksync/db';
import { createQueueClient, healRuns, triggerRun, type QueueClient } from '@pksync/queue';
import { start as startWorker, type RunningWorker } from '@pksync/worker';
import { start as startScheduler } from '@pksync/scheduler';
import type { Simulator } from '@pksync/simulator';
import type { Config } from '@pksync/config';
import { startTestApi, type TestApi } from '../services/api/test/helpers.ts';
import { createKeys, type Keys } from '../services/api/test/helpers.ts';
import {
  dayDate,
  FAST_FETCH,
  runOutcome,
  simulatorWithSources,
  testConfig,
  undisturbedOutcome,
  waitForRun,
  pksync,
  serviceEnv,
} from './support/harness.ts';

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** What a PostgreSQL crash does to the staging: every UNLOGGED table emptied (the real crash is in test/faults). */
async function loseUnloggedTables(db: Db): Promise<void> {
  for (const table of [
    'staging_sentinel',
    'staged_officers',
    'staged_formations',
    'staged_findings',
    'staged_workloads',
  ] as const)
    await db.deleteFrom(table).execute();
}

const NATIONAL = { scope: { kind: 'national' as const }, trigger: 'manual' as const, requestedBy: 'test' };

// Slow agencies keep a run's fetches in flight for a few seconds.
const SLOW = ['16.01-disnaker', '16.02-disnaker', '16.03-disnaker', '16.04-disnaker', '16.05-disnaker'];

describe('runs heal themselves: staged rows lost', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let config: Config;
  let sim: Simulator;
  let worker: RunningWorker;
  let queues: QueueClient;

  beforeAll(async () => {
    config = testConfig(t, r, { RUN_HEAL_INTERVAL_MS: '500', RUN_HEAL_GRACE_MS: '1000' });
    sim = await simulatorWithSources(t.db, config, {
      delays: true,
      faults: Object.fromEntries(SLOW.map((id) => [id, ['slow' as const]])),
      faultTuning: { slowMs: 1500 },
    });
    worker = await startWorker(config, { fetchLimits: FAST_FETCH });
    queues = createQueueClient({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
  });
  afterAll(async () => {
    await queues?.close();
    await worker?.close();
    await sim?.close();
  });

  it('mid-run: the lost snapshots are fetched again and the run equals an undisturbed one', async () => {
    const { run } = await triggerRun(t.db, queues, { ...NATIONAL, asOf: dayDate(0) });
    await until('some sources staged, others still fetching', async () => {
      const p = (await getRunProgress(t.db, run.id))!;
      return p.sources.succeeded >= 3 && p.sources.done < p.sources.total;
    });
    const staged = (await listSourceFetches(t.db, run.id)).filter((f) => f.status === 'succeeded');
    await loseUnloggedTables(t.db);
    const done = await waitForRun(t.db, run.id, 90_000);
    expect(done.status).toBe('completed');
    expect(done.resumes).toBeGreaterThanOrEqual(1);
    const after = await listSourceFetches(t.db, run.id);
    // The sources staged before the loss were fetched again.
    for (const f of staged) expect(after.find((a) => a.source_id === f.source_id)!.attempts).toBeGreaterThan(1);
    const ref = await undisturbedOutcome(sim, config, dayDate(0));
    const got = await runOutcome(t.db, done);
    expect(got.register).toEqual(ref.register);
    expect(got.counts).toEqual(ref.counts);
    expect(got.rows).toEqual(ref.rows);
    expect((await t.db.selectFrom('staging_sentinel').selectAll().execute()).length).toBe(1);
  }, 180_000);

  it('between runs: lost listings are forgotten, so the next run reads every source again and changes nothing', async () => {
    const before = await runOutcome(t.db, (await t.db.selectFrom('runs').selectAll().executeTakeFirstOrThrow())!);
    await loseUnloggedTables(t.db);
    const repair = await repairLostStaging(t.db);
    expect(repair.listingsLost.length).toBe(18);
    expect(repair.runs).toEqual([]);
    const hashes = await t.db.selectFrom('sources').select('last_content_hash').execute();
    expect(hashes.every((h) => h.last_content_hash === null)).toBe(true);
    // A second repair finds the sentinel back: nothing to do.
    expect((await repairLostStaging(t.db)).listingsLost).toEqual([]);

    const { run } = await triggerRun(t.db, queues, { ...NATIONAL, asOf: dayDate(0) });
    const done = await waitForRun(t.db, run.id, 90_000);
    expect(done.status).toBe('completed');
    const fetches = await listSourceFetches(t.db, run.id);
    expect(fetches.filter((f) => f.status === 'unchanged')).toEqual([]);
    expect(done.version_published).toBeNull(); // the same data: nothing to publish (R14)
    expect(await runOutcome(t.db, done)).toMatchObject({ register: before.register });
  }, 120_000);
});

describe('runs heal themselves: jobs lost from Redis', () => {
  const t = useTestDatabase();
  const r = useTestRedis();

  it('however many healers look at once, exactly one resumes the run, once', async () => {
    const config = testConfig(t, r);
    const sim = await simulatorWithSources(t.db, config, { regions: '16.71' });
    const clients = Array.from({ length: 4 }, () =>
      createQueueClient({ redisUrl: config.redisUrl, prefix: config.queuePrefix }),
    );
    try {
      const { run } = await triggerRun(t.db, clients[0]!, { ...NATIONAL, asOf: dayDate(0) });
      // Young runs are left alone (their flow may be being added).
      expect((await healRuns(t.db, clients[0]!, { graceMs: 60_000 })).resumed).toEqual([]);
      // Redis loses the run's jobs (as when it restarts empty).
      for (const q of ['fetch', 'run'] as const) await clients[0]!.queue(q).obliterate({ force: true });
      expect(await clients[0]!.runJobState(run.id, 0)).toBe('unknown');
      const reports = await Promise.all(clients.map((c) => healRuns(t.db, c, { graceMs: 0 })));
      expect(reports.some((x) => x.ran)).toBe(true);
      expect(reports.flatMap((x) => x.resumed)).toEqual([
        { runId: run.id, generation: 1, why: 'its jobs are gone from Redis (reconcile job unknown)' },
      ]);
      expect(await getRun(t.db, run.id)).toMatchObject({ generation: 1, resumes: 1, resumed_by: 'healer' });
      expect(await clients[0]!.runJobState(run.id, 1)).toBe('waiting-children');
      // Its flow is alive now: later passes leave it alone.
      expect((await healRuns(t.db, clients[1]!, { graceMs: 0 })).resumed).toEqual([]);
      const worker = await startWorker(config, { fetchLimits: FAST_FETCH, healIntervalMs: 0 });
      try {
        expect(await waitForRun(t.db, run.id, 30_000)).toMatchObject({ status: 'completed', version_published: 1 });
      } finally {
        await worker.close();
      }
      // A run that keeps losing its jobs is failed in the end, saying why.
      const again = await triggerRun(t.db, clients[0]!, { ...NATIONAL, asOf: dayDate(1) });
      for (const q of ['fetch', 'run'] as const) await clients[0]!.queue(q).obliterate({ force: true });
      expect((await healRuns(t.db, clients[0]!, { graceMs: 0, maxResumes: 0 })).failed).toEqual([again.run.id]);
      const failed = (await getRun(t.db, again.run.id))!;
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatch(/not resumed again \(its jobs are gone from Redis.*resumed 0 times already/);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await sim.close();
    }
  });
});

describe('operators: cancel and resume', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let config: Config;
  let sim: Simulator;
  let queues: QueueClient;
  let env: Record<string, string>;
  let api: TestApi;
  let keys: Keys;

  beforeAll(async () => {
    config = testConfig(t, r, { RUN_HEAL_INTERVAL_MS: '60000' });
    sim = await simulatorWithSources(t.db, config, { regions: '16.71' });
    queues = createQueueClient({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
    env = serviceEnv(config);
    keys = await createKeys(t.db);
    api = await startTestApi(t.db, r.url, r.prefix);
  });
  afterAll(async () => {
    await api?.close();
    await queues?.close();
    await sim?.close();
  });

  it('pksync runs cancel ends a stuck run, frees its scope and is audited; runs show says so', async () => {
    // No worker: the run stays queued, as a stuck one would.
    const { run } = await triggerRun(t.db, queues, { ...NATIONAL, asOf: dayDate(0) });
    const usage = await pksync(['runs', 'cancel', run.id], env);
    expect(usage.code).toBe(2);
    expect(usage.out).toMatch(/--reason/);
    const c = await pksync(['runs', 'cancel', run.id, '--reason', 'macet sejak semalam'], env);
    expect(c.out).toMatch(/cancelled: national is free/);
    expect(c.code).toBe(0);
    const row = (await getRun(t.db, run.id))!;
    expect(row).toMatchObject({ status: 'cancelled' });
    expect(row.error).toMatch(/macet sejak semalam/);
    const fetches = await listSourceFetches(t.db, run.id);
    expect(fetches.every((f) => f.status === 'failed' && f.error_code === 'cancelled')).toBe(true);
    const audit = await t.db.selectFrom('audit_log').selectAll().where('action', '=', 'run.cancel').execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ target: run.id, reason: 'macet sejak semalam' });
    // The scope is free: the next trigger is a new run.
    const next = await triggerRun(t.db, queues, { ...NATIONAL, asOf: dayDate(0) });
    expect(next.created).toBe(true);
    // A finished run cannot be cancelled again (exit 1); an unknown one is bad usage (exit 2).
    expect((await pksync(['runs', 'cancel', run.id, '--reason', 'lagi'], env)).code).toBe(1);
    expect((await pksync(['runs', 'cancel', '7d0f8f7e-0000-4000-8000-000000000000', '--reason', 'x'], env)).code).toBe(
      2,
    );
    const show = await pksync(['runs', 'show', run.id], env);
    expect(show.code).toBe(0);
    expect(show.out).toMatch(/status: cancelled {2}generation: 0 {2}resumes: 0/);
    expect(show.out).toMatch(/16\.71-disnaker +failed +attempts 0 {2}cancelled/);
    await pksync(['runs', 'cancel', next.run.id, '--reason', 'bersih-bersih'], env);
  });

  it('POST /runs/{id}/cancel: admin only, audited, 409 once finished, 404 unknown; the envelope on every error', async () => {
    const { run } = await triggerRun(t.db, queues, { ...NATIONAL, asOf: dayDate(0) });
    const post = (id: string, key: string | undefined, body: unknown = { reason: 'dibatalkan dari API' }) =>
      fetch(`${api.url}/api/v1/runs/${id}/cancel`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify(body),
      });
    const envelope = { error: { code: expect.any(String), message: expect.any(String) } };
    for (const [key, status] of [
      [undefined, 401],
      [keys.own, 403],
    ] as const) {
      const res = await post(run.id, key);
      expect(res.status).toBe(status);
      expect(await res.json()).toEqual(envelope);
    }
    const bad = await post(run.id, keys.admin, {});
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual(envelope);
    const ok = await post(run.id, keys.admin);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ id: run.id, status: 'cancelled', generation: 0, resumes: 0 });
    const again = await post(run.id, keys.admin);
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual(envelope);
    for (const id of ['7d0f8f7e-0000-4000-8000-000000000000', 'not-a-run', '2147483648']) {
      const res = await post(id, keys.admin);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual(envelope);
    }
    const audit = await t.db.selectFrom('audit_log').selectAll().where('target', '=', run.id).execute();
    expect(audit.map((a) => [a.action, a.actor, a.reason])).toEqual([
      ['run.cancel', 'key:admin-test', 'dibatalkan dari API'],
    ]);
  });

  it('pksync runs resume re-drives a run: a new generation, the old flow does nothing, one publication', async () => {
    const { run } = await triggerRun(t.db, queues, { ...NATIONAL, asOf: dayDate(0) });
    const res = await pksync(['runs', 'resume', run.id, '--reason', 'uji ulang'], env);
    expect(res.out).toMatch(/resumed as generation 1/);
    expect(res.code).toBe(0);
    // Both flows are in Redis now; a worker runs them, the generation-0 one finds itself superseded.
    const worker = await startWorker(config, { fetchLimits: FAST_FETCH, healIntervalMs: 0 });
    try {
      const done = await waitForRun(t.db, run.id, 60_000);
      expect(done).toMatchObject({ status: 'completed', generation: 1, resumes: 1, version_published: 1 });
      const old = await queues.queue('run').getJob(`reconcile-${run.id}`);
      await until('the old flow to finish', async () => (await old!.getState()) === 'completed');
      // Superseded when it ran before the new flow finished, else it found the run completed.
      const oldResult = (await queues.queue('run').getJob(`reconcile-${run.id}`))!.returnvalue as { status: string };
      expect(['superseded', 'already_completed']).toContain(oldResult.status);
      expect(await t.db.selectFrom('publications').select('version').execute()).toEqual([{ version: 1 }]);
      const fetches = await listSourceFetches(t.db, run.id);
      expect(fetches.map((f) => f.attempts)).toEqual([1]);
    } finally {
      await worker.close();
    }
    // A finished run cannot be resumed.
    expect((await pksync(['runs', 'resume', run.id], env)).code).toBe(1);
    const audit = await t.db.selectFrom('audit_log').selectAll().where('action', '=', 'run.resume').execute();
    expect(audit).toHaveLength(1);
  });
});

describe('the scheduler runs a failed night again', () => {
  const t = useTestDatabase();
  const r = useTestRedis();

  it('a failed scheduled run is retried in its slot, at most SYNC_SLOT_ATTEMPTS times; a cancelled one is not', async () => {
    const config = testConfig(t, r, { SYNC_SLOT_ATTEMPTS: '2', SYNC_CRON: '0 1 * * *' });
    const sim = await simulatorWithSources(t.db, config, { regions: '16.71' });
    // The clock passed in: the night (and the watcher's "tonight") never crosses a real midnight.
    const tonight = new Date('2031-05-05T18:00:00Z');
    const scheduler = await startScheduler(config, { retryDelayMs: 200, now: () => tonight });
    try {
      const first = await scheduler.tick();
      const asOf = first!.run.as_of;
      expect(first?.run.schedule_slot).toBe(`national:${asOf}`);
      // The night's run fails (as when its reconciliation failed for good).
      await markRunFailed(t.db, first!.run.id, 'reconcile failed');
      await until('the retry', async () => (await listScheduledRuns(t.db, asOf)).length === 2, 10_000);
      const night = await listScheduledRuns(t.db, asOf);
      expect(night.map((x) => x.schedule_slot)).toEqual([`national:${asOf}`, `national:${asOf}#2`]);
      expect(night[1]!.status).toBe('queued');
      // The retry fails too: no attempt is left; later ticks return the failed run, start nothing.
      await markRunFailed(t.db, night[1]!.id, 'reconcile failed again');
      const tick = await scheduler.tick();
      expect(tick).toMatchObject({ created: false, run: { id: night[1]!.id, status: 'failed' } });
      expect(await listScheduledRuns(t.db, asOf)).toHaveLength(2);
      // A cancelled night is the operator's decision: the next tick of that night starts nothing.
      const tomorrow = new Date(tonight.getTime() + 24 * 3600_000);
      const planned = (await scheduler.tick(tomorrow))!;
      await cancelRun(t.db, planned.run.id, { by: 'test', actorRole: 'admin', reason: 'libur' });
      expect(await scheduler.tick(tomorrow)).toMatchObject({ created: false, run: { id: planned.run.id } });
      expect(await listScheduledRuns(t.db, planned.run.as_of)).toHaveLength(1);
    } finally {
      await scheduler.close();
      await sim.close();
    }
  });
});

describe('a stopping worker hands its fetches back at once', () => {
  const t = useTestDatabase();
  const r = useTestRedis();

  it('SIGTERM-style close() releases running fetches to another worker without waiting for their lock', async () => {
    const config = testConfig(t, r, { SHUTDOWN_TIMEOUT_MS: '20000', JOB_LOCK_MS: '30000' });
    const sim = await simulatorWithSources(t.db, config, {
      regions: '16.71',
      delays: true,
      faults: { '16.71-disnaker': ['slow'] },
      faultTuning: { slowMs: 2500 },
    });
    const queues = createQueueClient({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
    const first = await startWorker(config, { fetchLimits: FAST_FETCH, healIntervalMs: 0 });
    let second: RunningWorker | undefined;
    try {
      const { run } = await triggerRun(t.db, queues, { ...NATIONAL, asOf: dayDate(0) });
      await until('the fetch to start', async () => (await getRunProgress(t.db, run.id))!.sources.running === 1);
      await first.close();
      // Released, not finished (it needs several slow pages) nor left to its lock: back in the queue.
      const job = await queues.queue('fetch').getJob(`fetch-${run.id}-16.71-disnaker`);
      expect(await job!.getState()).toBe('waiting');
      expect((await listSourceFetches(t.db, run.id))[0]).toMatchObject({ status: 'running', attempts: 1 });
      // Another worker takes it at once (its lock of 30 s was released, not left to expire).
      second = await startWorker(config, { fetchLimits: FAST_FETCH, healIntervalMs: 0 });
      const done = await waitForRun(t.db, run.id, 20_000);
      expect(done.status).toBe('completed');
      expect((await listSourceFetches(t.db, run.id))[0]).toMatchObject({ status: 'succeeded', attempts: 2 });
    } finally {
      await second?.close();
      await first.close();
      await queues.close();
      await sim.close();
    }
  }, 60_000);
});
