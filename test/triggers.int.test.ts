import { beforeAll, describe, expect, it } from 'vitest';
import { listRuns, type Db } from '@pksync/db';
import { triggerRun, type QueueClient } from '@pksync/queue';
import type { Simulator } from '@pksync/simulator';
import type { Config } from '@pksync/config';
import {
  dayDate,
  ownPipeline,
  registerSnapshot,
  simulatorWithSources,
  usePipeline,
  waitForRun,
  type OwnPipeline,
} from './support/harness.ts';

// Duplicate triggers and concurrent triggers for overlapping scopes: one run per scope at a time
// (PostgreSQL's partial unique index decides, not Redis), and the register stays consistent.
describe('triggers', () => {
  // No mass removal here: which of several concurrent runs meets a hold first is a timing question (see pipeline test).
  const env = usePipeline((db, config) => simulatorWithSources(db, config, { day: 2, massRemoval: null }));
  let config: Config;
  let db: Db;
  let sim: Simulator;
  let queues: QueueClient;
  beforeAll(() => void ({ config, db, sim, queues } = env));

  const trigger = (scope: Parameters<typeof triggerRun>[2]['scope'], requestedBy = 'test') =>
    triggerRun(db, queues, { scope, trigger: 'manual', requestedBy, asOf: dayDate(2) });

  it('five simultaneous triggers for the same scope make one run; all get its id', async () => {
    sim.setDay(2);
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => trigger({ kind: 'national' }, `admin-${i}`)));
    expect(results.filter((x) => x.created)).toHaveLength(1);
    const ids = new Set(results.map((x) => x.run.id));
    expect(ids.size).toBe(1);
    const run = await waitForRun(db, [...ids][0]!);
    expect(run.status).toBe('completed');
    expect(run.version_published).toBe(1);
    // BullMQ holds exactly one flow for it: one reconcile job, one plan job, and (a first run:
    // nothing is known yet) one fetch job per source.
    const jobs = await queues.queue('fetch').getJobs(['completed', 'failed', 'active', 'waiting', 'delayed']);
    expect(jobs.filter((j) => j.name === 'run.plan')).toHaveLength(1);
    expect(jobs.filter((j) => j.name === 'source.fetch')).toHaveLength(sim.agencies().length);
    expect(await queues.queue('run').getJobCountByTypes('completed', 'failed', 'active', 'waiting')).toBe(1);
    // Once it finished, the next trigger starts a new run.
    const again = await trigger({ kind: 'national' });
    expect(again.created).toBe(true);
    expect((await waitForRun(db, again.run.id)).version_published).toBeNull();
  });

  it('overlapping scopes triggered together each run once, reconcile one at a time, and agree with one national run', async () => {
    // Pipelines of this test's own: the register as a national run of day 2 left it, then day 4's
    // overlapping runs; the reference reads the same two days undisturbed, one national run each.
    const main = await ownPipeline(sim, config, 'main');
    const ref = await ownPipeline(sim, config, 'ref');
    const national = (p: OwnPipeline) =>
      triggerRun(p.db, p.queues, {
        scope: { kind: 'national' },
        trigger: 'manual',
        requestedBy: 't',
        asOf: dayDate(2),
      }).then(({ run }) => waitForRun(p.db, run.id));
    try {
      sim.setDay(2);
      expect((await national(main)).status).toBe('completed');
      expect((await national(ref)).status).toBe('completed');

      const scopes = [
        { kind: 'national' as const },
        { kind: 'province' as const, value: '16' },
        { kind: 'region' as const, value: '16.71' },
        { kind: 'source' as const, value: '16.02-disnaker' },
      ];
      sim.setDay(4);
      const triggerMain = (scope: (typeof scopes)[number]) =>
        triggerRun(main.db, main.queues, { scope, trigger: 'manual', requestedBy: 'test', asOf: dayDate(2) });
      const first = await Promise.all(scopes.flatMap((s) => [triggerMain(s), triggerMain(s)]));
      const created = first.filter((x) => x.created);
      expect(created).toHaveLength(scopes.length);
      expect(new Set(first.map((x) => x.run.id)).size).toBe(scopes.length);
      const runs = await Promise.all(created.map((x) => waitForRun(main.db, x.run.id)));
      expect(runs.every((x) => x.status === 'completed')).toBe(true);
      // R14: versions stay a strict sequence, each published by exactly one run.
      const pubs = await main.db.selectFrom('publications').select(['version', 'run_id']).orderBy('version').execute();
      expect(pubs.map((p) => p.version)).toEqual(pubs.map((_, i) => i + 1));
      expect(new Set(pubs.map((p) => p.run_id)).size).toBe(pubs.length);

      // The same sources read once, undisturbed, give the same register.
      expect((await national(ref)).status).toBe('completed');
      expect(await registerSnapshot(main.db)).toEqual(await registerSnapshot(ref.db));
      const recent = await listRuns(main.db, { limit: 10 });
      expect(recent.filter(({ run }) => run.status === 'queued' || run.status === 'running')).toHaveLength(0);
    } finally {
      await main.close();
      await ref.close();
    }
  });
});
