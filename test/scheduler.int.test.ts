import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import { calendarDateIn, type Db } from '@pksync/db';
import { start as startScheduler, type RunningScheduler } from '@pksync/scheduler';
import { start as startWorker, type RunningWorker } from '@pksync/worker';
import type { Simulator } from '@pksync/simulator';
import type { Config } from '@pksync/config';
import { FAST_FETCH, simulatorWithSources, testConfig, waitForRun } from './support/harness.ts';

// Two schedulers firing the same night make one run (schedule_slot = national:<as_of>).
describe('two schedulers', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let config: Config;
  let sim: Simulator;
  let worker: RunningWorker;
  let schedulers: RunningScheduler[] = [];
  let db: Db;

  beforeAll(async () => {
    db = t.db;
    // Every second, so both schedulers fire several times during the test.
    config = testConfig(t, r, { SYNC_CRON: '* * * * * *', SYNC_TIMEZONE: 'Asia/Jakarta' });
    sim = await simulatorWithSources(db, config, { regions: '16.71' });
    worker = await startWorker(config, { fetchLimits: FAST_FETCH });
  });
  afterAll(async () => {
    await Promise.all(schedulers.map((s) => s.close()));
    await worker?.close();
    await sim?.close();
  });

  it('fire every second for 3 s and make exactly one scheduled run for the night', async () => {
    schedulers = [await startScheduler(config), await startScheduler(config)];
    await new Promise((res) => setTimeout(res, 3_200));
    const runs = await db.selectFrom('runs').selectAll().where('trigger', '=', 'schedule').execute();
    expect(runs).toHaveLength(1);
    const asOf = calendarDateIn('Asia/Jakarta');
    expect(runs[0]).toMatchObject({ schedule_slot: `national:${asOf}`, as_of: asOf, scope_key: 'national' });
    expect((await waitForRun(db, runs[0]!.id)).status).toBe('completed');
    // Ticks later the same night (the run finished) still find the slot taken: no second run.
    const [a, b] = await Promise.all(schedulers.map((s) => s.tick()));
    expect(a?.run.id).toBe(runs[0]!.id);
    expect(b?.run.id).toBe(runs[0]!.id);
    expect(a?.created || b?.created).toBe(false);
    // The next night is a new slot.
    const tomorrow = new Date(Date.now() + 24 * 3600 * 1000);
    const next = await schedulers[0]!.tick(tomorrow);
    expect(next?.created).toBe(true);
    expect(next?.run.schedule_slot).toBe(`national:${calendarDateIn('Asia/Jakarta', tomorrow)}`);
    await waitForRun(db, next!.run.id);
  });

  it('a tick that cannot enqueue (Redis down) does not use up the night: a later tick makes the run', async () => {
    const night = new Date('2030-01-01T18:30:00Z'); // 2030-01-02 in Jakarta
    const down = await startScheduler(
      testConfig(t, { url: 'redis://127.0.0.1:1', prefix: r.prefix }, { SYNC_CRON: '0 1 * * *' }),
    );
    try {
      expect(await down.tick(night)).toBeNull();
    } finally {
      await down.close();
    }
    const failed = await db.selectFrom('runs').selectAll().where('as_of', '=', '2030-01-02').execute();
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ status: 'failed', schedule_slot: null, trigger: 'schedule' });
    expect(failed[0]!.error).toMatch(/could not enqueue/);
    const retried = await schedulers[0]!.tick(night);
    expect(retried?.created).toBe(true);
    expect(retried?.run.schedule_slot).toBe('national:2030-01-02');
    expect((await waitForRun(db, retried!.run.id)).status).toBe('completed');
  });
});
