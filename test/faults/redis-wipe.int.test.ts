import { describe, expect, it } from 'vitest';
import { createKey, type Run } from '@pksync/db';
import { waitForRun } from '../support/harness.ts';
import {
  assertNoneExited,
  expectReferenceOutcome,
  logFigure,
  useFaultScenario,
  waitUntil,
  type ScenarioDatabase,
  type ServiceProcess,
} from './support/index.ts';

/** The healer resumes a run whose jobs Redis lost within RUN_HEAL_GRACE_MS + RUN_HEAL_INTERVAL_MS (≈ 25 s). */
const HEAL_TIMEOUT_MS = 90_000;

// Redis loses every key (shutdown nosave, started empty) in the middle of a national run: the
// run's jobs are gone. No process (two workers, the API, the scheduler) exits; the run healer
// resumes the run from PostgreSQL and it completes with the outcome of an undisturbed run; the
// scope is free again afterwards. With Redis stopped, the API is not ready and a trigger answers
// 503 with the error envelope; it is ready again once Redis is back.
describe('Redis wiped mid-run', () => {
  const scenario = useFaultScenario();
  let d: ScenarioDatabase;
  let processes: ServiceProcess[];
  let api: ServiceProcess;
  let run: Run;

  it('an undisturbed run of the same day (the reference)', async () => {
    await scenario.reference();
  }, 120_000);

  it('no process exits; the run is resumed by the healer and completes with the reference outcome', async () => {
    const ref = await scenario.reference();
    const started = await scenario.startRun('pksync_redis_wipe', { services: true });
    ({ d, processes } = started);
    api = started.api!;
    const { runId: id, progress: atWipe } = started;
    const wipedAt = Date.now();
    await scenario.redis.wipe();
    console.log(`Redis wiped with ${atWipe.sources.done}/${atWipe.sources.total} sources done`);

    run = await waitForRun(d.db, id, HEAL_TIMEOUT_MS);
    logFigure('redis-wipe', ref, wipedAt, run);
    assertNoneExited(processes);
    expect(run.status, run.error ?? '').toBe('completed');
    expect(run.resumes).toBeGreaterThanOrEqual(1);
    expect(run.generation).toBeGreaterThanOrEqual(1);
    await expectReferenceOutcome(d.db, run, ref);
  }, 180_000);

  it('afterwards a national trigger starts a new run, which completes', async () => {
    expect(run?.status).toBe('completed');
    const next = await scenario.triggerNational(d.env());
    expect(next.created).toBe(true);
    expect(next.id).not.toBe(run.id);
    const done = await waitForRun(d.db, next.id, 60_000);
    expect(done.status, done.error ?? '').toBe('completed');
    assertNoneExited(processes);
  }, 90_000);

  it('with Redis stopped: readyz 503, POST /sync 503 with the error envelope; ready again once Redis is back', async () => {
    const { key } = await createKey(d.db, { name: 'fault-admin', role: 'admin', actor: 'fault-test' });
    const ready = () => fetch(`${api.url}/api/v1/readyz`, { signal: AbortSignal.timeout(5_000) });
    expect((await ready()).status).toBe(200);
    await scenario.redis.stop();
    try {
      const notReady = await ready();
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toMatchObject({
        status: 'unavailable',
        checks: { postgres: 'ok', redis: 'down' },
        error: { code: 'unavailable', message: expect.any(String) as string },
      });
      const sync = await fetch(`${api.url}/api/v1/sync`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ scope: 'national', reason: 'fault test: Redis is stopped' }),
        signal: AbortSignal.timeout(10_000),
      });
      expect(sync.status).toBe(503);
      expect(await sync.json()).toEqual({
        error: { code: expect.any(String) as string, message: expect.any(String) as string },
      });
      // A few seconds without Redis: the workers and the scheduler keep trying.
      await new Promise((r) => setTimeout(r, 3_000));
      assertNoneExited(processes);
    } finally {
      await scenario.redis.start();
    }
    await waitUntil(
      'readyz 200 after Redis is back',
      async () => ((await ready()).status === 200 ? true : undefined),
      15_000,
      250,
    );
    assertNoneExited(processes);
  }, 60_000);
});
