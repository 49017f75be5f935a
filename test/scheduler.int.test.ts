import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import { calendarDateIn, type Db } from '@pksync/db';
import { createLogger } from '@pksync/queue';
import { start as startScheduler, type RunningScheduler, type SchedulerStartOptions } from '@pksync/scheduler';
import { start as startWorker, type RunningWorker } from '@pksync/worker';
import type { Simulator } from '@pksync/simulator';
import type { Config } from '@pksync/config';
import { FAST_FETCH, simulatorWithSources, testConfig, waitForRun } from './support/harness.ts';

// Two schedulers firing the same night make one run (schedule_slot = national:<as_of>). Each test
// has a night of its own, passed in as the schedulers' clock: nothing depends on today's date.
describe('two schedulers', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let config: Config;
  let sim: Simulator;
  let worker: RunningWorker;
  let db: Db;
  const running: RunningScheduler[] = [];
  const scheduler = async (c: Config, options: SchedulerStartOptions = {}) => {
    const s = await startScheduler(c, options);
    running.push(s);
    return s;
  };
  const scheduledRuns = (asOf: string) =>
    db.selectFrom('runs').selectAll().where('trigger', '=', 'schedule').where('as_of', '=', asOf).execute();

  beforeAll(async () => {
    db = t.db;
    config = testConfig(t, r, { SYNC_TIMEZONE: 'Asia/Jakarta' });
    sim = await simulatorWithSources(db, config, { regions: '16.71' });
    worker = await startWorker(config, { fetchLimits: FAST_FETCH });
  });
  afterAll(async () => {
    await Promise.all(running.map((s) => s.close()));
    await worker?.close();
    await sim?.close();
  });

  it('ticks of both for the same night, at once and later, make exactly one run; the next night is a new slot', async () => {
    const night = new Date('2031-03-04T18:30:00Z'); // 01:30 on 2031-03-05 in Jakarta
    const clock = { now: () => night };
    const [a, b] = [await scheduler(config, clock), await scheduler(config, clock)];
    const ticks = await Promise.all([a.tick(night), b.tick(night), a.tick(), b.tick()]);
    expect(ticks.filter((x) => x?.created)).toHaveLength(1);
    const runs = await scheduledRuns('2031-03-05');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ schedule_slot: 'national:2031-03-05', scope_key: 'national' });
    expect(ticks.map((x) => x?.run.id)).toEqual(Array(4).fill(runs[0]!.id));
    expect((await waitForRun(db, runs[0]!.id)).status).toBe('completed');
    // Ticks later the same night (the run finished) still find the slot taken: no second run.
    const later = await Promise.all([a.tick(), b.tick()]);
    expect(later.map((x) => [x?.created, x?.run.id])).toEqual([
      [false, runs[0]!.id],
      [false, runs[0]!.id],
    ]);
    // The next night is a new slot.
    const tomorrow = new Date(night.getTime() + 24 * 3600 * 1000);
    const next = await a.tick(tomorrow);
    expect(next?.created).toBe(true);
    expect(next?.run.schedule_slot).toBe(`national:${calendarDateIn('Asia/Jakarta', tomorrow)}`);
    expect(next?.run.schedule_slot).toBe('national:2031-03-06');
    await waitForRun(db, next!.run.id);
  });

  it('the cron firing every second, in both, makes one run for the night however often it fires', async () => {
    const night = new Date('2032-07-09T19:00:00Z'); // 02:00 on 2032-07-10 in Jakarta
    const everySecond = testConfig(t, r, { SYNC_CRON: '* * * * * *', SYNC_TIMEZONE: 'Asia/Jakarta' });
    // What each scheduler says at each firing: the night's run queued, or found already there.
    const firings = [0, 0];
    const logTo = (i: 0 | 1) =>
      createLogger({
        level: 'info',
        destination: new Writable({
          write(chunk: Buffer, _enc, done) {
            for (const line of chunk.toString().split('\n').filter(Boolean))
              if (/^nightly run (queued|already exists)/.test((JSON.parse(line) as { msg: string }).msg)) firings[i]!++;
            done();
          },
        }),
      });
    await scheduler(everySecond, { now: () => night, log: logTo(0) });
    await scheduler(everySecond, { now: () => night, log: logTo(1) });
    await expect
      .poll(() => firings, { timeout: 20_000, interval: 50 })
      .toSatisfy((n: number[]) => n.every((x) => x >= 3));
    const runs = await scheduledRuns('2032-07-10');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ schedule_slot: 'national:2032-07-10', as_of: '2032-07-10' });
    expect((await waitForRun(db, runs[0]!.id)).status).toBe('completed');
  });

  it('a tick that cannot enqueue (Redis down) does not use up the night: a later tick makes the run', async () => {
    const night = new Date('2030-01-01T18:30:00Z'); // 2030-01-02 in Jakarta
    const down = await startScheduler(
      testConfig(t, { url: 'redis://127.0.0.1:1', prefix: r.prefix }, { SYNC_CRON: '0 1 * * *' }),
      { now: () => night },
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
    const up = await scheduler(config, { now: () => night });
    const retried = await up.tick(night);
    expect(retried?.created).toBe(true);
    expect(retried?.run.schedule_slot).toBe('national:2030-01-02');
    expect((await waitForRun(db, retried!.run.id)).status).toBe('completed');
  });
});
