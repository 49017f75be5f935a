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
});
