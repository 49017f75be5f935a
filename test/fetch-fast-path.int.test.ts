import { beforeAll, describe, expect, it } from 'vitest';
import { listSourceFetches, type Db } from '@pksync/db';
import { triggerRun, type QueueClient } from '@pksync/queue';
import type { Simulator } from '@pksync/simulator';
import { dayDate, simulatorWithSources, usePipeline, waitForRun } from './support/harness.ts';

// Issue 5: an unchanged snapshot is recognised before parsing — file sources by a 304
// to a conditional GET, the others by the raw-bytes hash — except while R8 holds a removal.
describe('repeat-run fast path: conditional GETs and raw-byte hash (R8 exception)', () => {
  let guarded: string;
  const env = usePipeline(
    async (db, config) => {
      // A csv source that loses 90 % of its officers on day 1 (R8 holds the removal).
      const probe = await simulatorWithSources(db, config, { defectRate: 0, massRemoval: null });
      guarded = probe.agencies().find((a) => a.transport === 'csv' && a.officers >= 10 && !a.token)!.id;
      await probe.close();
      return simulatorWithSources(db, config, {
        defectRate: 0,
        massRemoval: { day: 1, sourceId: guarded, share: 0.9 },
      });
      // Parts of 4 sources: the repeat run's probes are spread over run.probe jobs.
    },
    { probePart: 4 },
  );
  let db: Db;
  let sim: Simulator;
  let queues: QueueClient;
  beforeAll(() => void ({ db, sim, queues } = env));

  const sync = async (asOf: string) => {
    const { run } = await triggerRun(db, queues, {
      scope: { kind: 'national' },
      trigger: 'manual',
      requestedBy: 'test',
      asOf,
    });
    const done = await waitForRun(db, run.id);
    expect(done.status).toBe('completed');
    return { run: done, fetches: new Map((await listSourceFetches(db, run.id)).map((f) => [f.source_id, f])) };
  };
  const fileSources = () => sim.agencies().filter((a) => a.transport === 'csv' || a.transport === 'xlsx');

  it('same day again: files and API pages answer 304 (nothing downloaded), every source unchanged', async () => {
    await sync(dayDate(0));
    const before = structuredClone(sim.stats());
    const { run, fetches } = await sync(dayDate(0));
    expect([...fetches.values()].every((f) => f.status === 'unchanged')).toBe(true);
    // Every request of the repeat run was answered 304: csv sources' files (officers, formations,
    // workload when sent), the workbook, and an api agency's pages (it sends ETags, which its last
    // fetch recorded), formations and workload — except the workload page of an api agency that
    // sends none, asked again plainly and still 404.
    const after = sim.stats();
    for (const a of sim.agencies()) {
      if (a.transport === 'upload') continue;
      const asked = after[a.id]!.requests - before[a.id]!.requests;
      const absent = a.transport === 'api' && !a.planning.sendsWorkload ? 1 : 0;
      expect(after[a.id]!.notModified - before[a.id]!.notModified + absent, a.id).toBe(asked);
      if (a.transport === 'api') expect(asked).toBeGreaterThanOrEqual(3);
      else expect(asked).toBe(a.transport === 'csv' ? (a.planning.sendsWorkload ? 3 : 2) : 1);
    }
    for (const a of fileSources()) expect((fetches.get(a.id)!.counts as { bytes?: number }).bytes).toBe(0);
    // Every source was asked without a fetch job (files and api pages by conditional GET, uploads
    // by their hash), in run.probe parts of 4: no source got a job of its own.
    const jobs = await queues.queue('fetch').getJobs(['completed', 'failed', 'active', 'waiting', 'delayed']);
    const fetched = jobs.filter((j) => j.name === 'source.fetch' && j.data.runId === run.id);
    expect(fetched).toEqual([]);
    const plan = jobs.find((j) => j.name === 'run.plan' && j.data.runId === run.id)!;
    const probed = sim.agencies().length;
    expect(sim.agencies().some((a) => a.transport === 'api')).toBe(true);
    expect(plan.returnvalue).toMatchObject({ probed, fetchJobs: 0, probeJobs: Math.ceil(probed / 4) });
    const parts = jobs.filter((j) => j.name === 'run.probe' && j.data.runId === run.id);
    expect(parts).toHaveLength(Math.ceil(probed / 4));
    expect(parts.reduce((n, j) => n + (j.returnvalue as { unchanged: number }).unchanged, 0)).toBe(probed);
    // No version: the run's register figures are the latest version's, and the register's own.
    expect(run.version_published).toBeNull();
    const live = await db
      .selectFrom('officer_records')
      .select((eb) => [
        eb.fn.countAll<number>().as('officers'),
        eb.fn.count<number>('id').filterWhere('active', '=', true).as('active'),
      ])
      .where('valid_to', 'is', null)
      .executeTakeFirstOrThrow();
    expect(run.counts).toMatchObject({ officers: Number(live.officers), active: Number(live.active) });
    expect(Number(live.active)).toBeGreaterThan(0);
  });

  it('R8: while a removal is held the source is downloaded and reconciled again, never skipped', async () => {
    sim.setDay(1);
    const held = await sync(dayDate(1));
    expect(held.fetches.get(guarded)!.status).toBe('succeeded');
    const open = await db.selectFrom('held_removals').select('status').where('source_id', '=', guarded).execute();
    expect(open.map((h) => h.status)).toContain('held');

    // The agency goes back to its day-0 file: the very bytes (and ETag) of the snapshot its hash
    // and validators remember. Skipped, the held removal would stay open for ever; it must be
    // downloaded and reconciled (R8: that snapshot supersedes the held removal).
    sim.setDay(0);
    const requestsBefore = sim.stats()[guarded]!;
    const again = await sync(dayDate(1));
    expect(again.fetches.get(guarded)!.status).toBe('succeeded');
    const after = sim.stats()[guarded]!;
    expect(after.notModified).toBe(requestsBefore.notModified); // no conditional request was sent
    expect(after.requests).toBeGreaterThan(requestsBefore.requests);
    const status = await db.selectFrom('held_removals').select('status').where('source_id', '=', guarded).execute();
    expect(status.map((h) => h.status)).not.toContain('held');
  });
});
