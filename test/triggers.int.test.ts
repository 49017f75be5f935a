import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '@pksync/testing';
import { importSources, listRuns, type Db } from '@pksync/db';
import { createQueueClient, triggerRun, type QueueClient } from '@pksync/queue';
import { start as startWorker } from '@pksync/worker';
import type { Simulator } from '@pksync/simulator';
import type { Config } from '@pksync/config';
import {
  dayDate,
  FAST_FETCH,
  registerSnapshot,
  simulatorWithSources,
  usePipeline,
  testConfig,
  waitForRun,
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
    const scopes = [
      { kind: 'national' as const },
      { kind: 'province' as const, value: '16' },
      { kind: 'region' as const, value: '16.71' },
      { kind: 'source' as const, value: '16.02-disnaker' },
    ];
    sim.setDay(4);
    const first = await Promise.all(scopes.flatMap((s) => [trigger(s), trigger(s)]));
    const created = first.filter((x) => x.created);
    expect(created).toHaveLength(scopes.length);
    expect(new Set(first.map((x) => x.run.id)).size).toBe(scopes.length);
    const runs = await Promise.all(created.map((x) => waitForRun(db, x.run.id)));
    expect(runs.every((x) => x.status === 'completed')).toBe(true);
    // R14: versions stay a strict sequence, each published by exactly one run.
    const pubs = await db.selectFrom('publications').select(['version', 'run_id']).orderBy('version').execute();
    expect(pubs.map((p) => p.version)).toEqual(pubs.map((_, i) => i + 1));
    expect(new Set(pubs.map((p) => p.run_id)).size).toBe(pubs.length);

    // The same sources read once, undisturbed, into a fresh database give the same register.
    const ref = await createTestDatabase();
    const refQueues = createQueueClient({
      redisUrl: config.redisUrl,
      prefix: `${config.queuePrefix.slice(0, -1)}-ref}`,
    });
    const refConfig = testConfig(ref, { url: config.redisUrl, prefix: `${config.queuePrefix.slice(0, -1)}-ref}` });
    const refWorker = await startWorker(refConfig, { fetchLimits: FAST_FETCH });
    try {
      await importSources(ref.db, sim.sourcesFile(), refConfig.tokenKey);
      // Day 2 then day 4, as the main database saw them (R10 keeps registered assignments on ties).
      sim.setDay(2);
      const a = await triggerRun(ref.db, refQueues, {
        scope: { kind: 'national' },
        trigger: 'manual',
        requestedBy: 't',
        asOf: dayDate(2),
      });
      await waitForRun(ref.db, a.run.id);
      sim.setDay(4);
      const b = await triggerRun(ref.db, refQueues, {
        scope: { kind: 'national' },
        trigger: 'manual',
        requestedBy: 't',
        asOf: dayDate(2),
      });
      expect((await waitForRun(ref.db, b.run.id)).status).toBe('completed');
      expect(await registerSnapshot(db)).toEqual(await registerSnapshot(ref.db));
    } finally {
      await refWorker.close();
      await refQueues.close();
      await ref.drop();
    }
    const recent = await listRuns(db, { limit: 10 });
    expect(recent.filter((x) => x.status === 'queued' || x.status === 'running')).toHaveLength(0);
  });
});
