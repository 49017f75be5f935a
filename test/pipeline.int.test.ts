import { beforeAll, describe, expect, it } from 'vitest';
import { isActiveStatus, type OfficerStatus } from '@pksync/core';
import { confirmRemoval, getRegionSummaries, listSourceFetches, type Db } from '@pksync/db';
import { triggerRun, type QueueClient } from '@pksync/queue';
import type { Simulator } from '@pksync/simulator';
import { dayDate, registerSnapshot, simulatorWithSources, usePipeline, waitForRun } from './support/harness.ts';

// R8–R14 end to end: simulator (HTTP) → queues → real workers → PostgreSQL, the simulator moving days.
describe('pipeline end to end (South Sumatra, simulator moving days)', () => {
  const env = usePipeline((db, config) => simulatorWithSources(db, config, { defectRate: 0 }));
  let db: Db;
  let sim: Simulator;
  let queues: QueueClient;
  beforeAll(() => void ({ db, sim, queues } = env));

  const sync = async (asOf: string, scope: Parameters<typeof triggerRun>[2]['scope'] = { kind: 'national' }) => {
    const { run, created } = await triggerRun(db, queues, { scope, trigger: 'manual', requestedBy: 'test', asOf });
    expect(created).toBe(true);
    return waitForRun(db, run.id);
  };
  /** A registered officer's status and `active` flag, from a {@link registerSnapshot}. */
  const statusOf = (register: Map<string, string>, nip: string) => register.get(nip)?.split('|').slice(2, 4) ?? [];
  const changesOf = (version: number) =>
    db.selectFrom('publication_changes').selectAll().where('version', '=', version).execute();

  it('day 0: every source is fetched, version 1 is published, South Sumatra covers 12 of 17', async () => {
    const run = await sync(dayDate(0));
    expect(run.status).toBe('completed');
    expect(run.version_published).toBe(1);
    const fetches = await listSourceFetches(db, run.id);
    expect(fetches).toHaveLength(sim.agencies().length);
    expect(fetches.every((f) => f.status === 'succeeded')).toBe(true);
    const counts = run.counts as unknown as Record<string, number>;
    expect(counts.added).toBeGreaterThan(100);
    expect(counts.officers).toBe(counts.added);
    const [p] = (await getRegionSummaries(db, { year: 2026 })).filter((x) => x.code === '16');
    expect(p?.coverage).toMatchObject({ covered: 12, total: 17 });
  });

  it('same day again: nothing changed, no version (R14), every source unchanged', async () => {
    const before = await registerSnapshot(db);
    const run = await sync(dayDate(0));
    expect(run.status).toBe('completed');
    expect(run.version_published).toBeNull();
    const fetches = await listSourceFetches(db, run.id);
    expect(fetches.every((f) => f.status === 'unchanged')).toBe(true);
    expect(await registerSnapshot(db)).toEqual(before);
  });

  /** Every NIP the simulated agencies list today, with its listing (status, agency). */
  const listedToday = () => {
    const out = new Map<string, { sourceId: string; status: OfficerStatus; tmt: string }>();
    for (const a of sim.agencies())
      for (const o of sim.listOfficers(a.id))
        out.set(o.nip, { sourceId: a.id, status: o.status as OfficerStatus, tmt: o.tmtJabatan });
    return out;
  };

  it('day 1: transfers move officers, departures leave; the diff names exactly what changed', async () => {
    const before = await registerSnapshot(db);
    sim.setDay(1);
    expect(sim.events().transfers + sim.events().departures).toBeGreaterThan(0);
    const run = await sync(dayDate(1));
    expect(run.status).toBe('completed');
    expect(run.version_published).toBe(2);
    const after = await registerSnapshot(db);
    const listed = listedToday();
    const changes = await changesOf(2);
    const removed = changes
      .filter((c) => c.change === 'removed')
      .map((c) => c.nip)
      .sort();
    const added = changes
      .filter((c) => c.change === 'added')
      .map((c) => c.nip)
      .sort();
    // R8: registered before, listed by no agency now → removed (with why); nothing else removed.
    expect(removed).toEqual([...before.keys()].filter((n) => !listed.has(n)).sort());
    expect(changes.filter((c) => c.change === 'removed').every((c) => c.reason === 'disappeared')).toBe(true);
    expect(added).toEqual([...listed.keys()].filter((n) => !before.has(n)).sort());
    for (const nip of removed) expect(after.has(nip)).toBe(false);
    // R10: an officer listed by a new agency with a later TMT is registered there now (a transfer).
    const transferred = [...listed].filter(([, l]) => l.tmt === dayDate(1) && l.status === 'aktif');
    expect(transferred.length).toBeGreaterThan(0);
    for (const [nip, l] of transferred) {
      expect(after.get(nip)?.split('|')[0]).toBe(l.sourceId);
      const change = changes.find((c) => c.nip === nip);
      expect(change).toMatchObject({ change: 'changed', reason: 'transfer' });
      expect(change?.fields).toContain('source_id');
    }
    for (const c of changes.filter((x) => x.change === 'changed' && x.reason !== 'transfer')) {
      expect(c.fields.length).toBeGreaterThan(0);
    }
    const counts = run.counts as unknown as Record<string, number>;
    expect(counts.removed).toBe(removed.length);
    expect(counts.added).toBe(added.length);
    // R5: an officer listed with an inactive status (pensiun, meninggal, tugas_belajar, …) stays on
    // record, inactive, and out of the counts of active officers.
    const inactive = [...listed].filter(([, l]) => !isActiveStatus(l.status));
    expect(inactive.length).toBeGreaterThan(0);
    for (const [nip, l] of inactive) expect([nip, ...statusOf(after, nip)]).toEqual([nip, l.status, 'false']);
    const activeListed = listed.size - inactive.length;
    expect(counts.officers).toBe(listed.size);
    expect(counts.active).toBe(activeListed);
    const [province] = (await getRegionSummaries(db, { year: 2026 })).filter((x) => x.code === '16');
    expect(province?.provinceActive).toBe(activeListed);
  });

  let failedSource = '';
  it('day 2: a failing source leaves the run completed; its entries stay published, stale, with source_failed', async () => {
    const candidate = sim
      .agencies()
      .find(
        (a) => a.officers > 5 && a.transport !== 'upload' && a.id !== '16.71-disnaker' && a.region.level === 'regency',
      );
    expect(candidate).toBeDefined();
    failedSource = candidate!.id;
    const before = await registerSnapshot(db);
    const registered = await db
      .selectFrom('officer_records')
      .select('nip')
      .where('valid_to', 'is', null)
      .where('source_id', '=', failedSource)
      .execute();
    expect(registered.length).toBeGreaterThan(0);
    const original = await db
      .selectFrom('sources')
      .select(['url'])
      .where('id', '=', failedSource)
      .executeTakeFirstOrThrow();
    // Nothing listens on port 9: every attempt fails (connection refused).
    await db.updateTable('sources').set({ url: 'http://127.0.0.1:9/mati' }).where('id', '=', failedSource).execute();
    try {
      sim.setDay(2);
      const run = await sync(dayDate(2));
      expect(run.status).toBe('completed');
      const fetch = (await listSourceFetches(db, run.id)).find((f) => f.source_id === failedSource);
      expect(fetch?.status).toBe('failed');
      expect(fetch?.error_code).toBeTruthy();
      // R9: nothing registered is lost because the source failed.
      const removedNips = new Set(
        run.version_published
          ? (await changesOf(run.version_published)).filter((c) => c.change === 'removed').map((c) => c.nip)
          : [],
      );
      for (const { nip } of registered) expect(removedNips.has(nip)).toBe(false);
      const stillThere = await db
        .selectFrom('officer_records')
        .select('nip')
        .where('valid_to', 'is', null)
        .where(
          'nip',
          'in',
          registered.map((x) => x.nip),
        )
        .execute();
      expect(stillThere).toHaveLength(registered.length);
      // R5: a departure with a status (pensiun, meninggal) stays on record, inactive, its status changed.
      const after = await registerSnapshot(db);
      const departed = [...listedToday()].filter(
        ([nip, l]) => l.sourceId !== failedSource && !isActiveStatus(l.status) && statusOf(before, nip)[1] === 'true',
      );
      expect(departed.length).toBeGreaterThan(0);
      expect(run.version_published).not.toBeNull();
      const changes = await changesOf(run.version_published!);
      for (const [nip, l] of departed) {
        expect([nip, ...statusOf(after, nip)]).toEqual([nip, l.status, 'false']);
        expect(changes.find((c) => c.nip === nip)).toMatchObject({
          change: 'changed',
          fields: expect.arrayContaining(['status']) as unknown as string[],
        });
      }
      const finding = await db
        .selectFrom('findings')
        .selectAll()
        .where('code', '=', 'source_failed')
        .where('source_id', '=', failedSource)
        .executeTakeFirst();
      expect(finding?.status).toBe('open');
      const region = (await getRegionSummaries(db, { year: 2026 })).find((x) => x.code === candidate!.region.code);
      expect(region?.stale).toBe(true);
    } finally {
      await db.updateTable('sources').set({ url: original.url }).where('id', '=', failedSource).execute();
    }
  });

  it('day 3: a mass removal is held (R8), then applied after an admin confirms it', async () => {
    sim.setDay(3);
    const mass = sim.events().massRemoval;
    expect(mass?.sourceId).toBe('16.71-disnaker');
    const source = mass!.sourceId;
    const before = await db
      .selectFrom('officer_records')
      .select('nip')
      .where('valid_to', 'is', null)
      .where('source_id', '=', source)
      .where('active', '=', true)
      .execute();
    const run = await sync(dayDate(3));
    expect(run.status).toBe('completed');
    const held = await db.selectFrom('held_removals').selectAll().where('source_id', '=', source).executeTakeFirst();
    expect(held?.status).toBe('held');
    expect(held!.nips.length).toBeGreaterThanOrEqual(Math.max(3, before.length / 2));
    // Held: the agency's previous entries stay published.
    const current = await db
      .selectFrom('officer_records')
      .select('nip')
      .where('valid_to', 'is', null)
      .where('nip', 'in', held!.nips)
      .execute();
    expect(current).toHaveLength(held!.nips.length);
    const finding = await db
      .selectFrom('findings')
      .select(['status'])
      .where('code', '=', 'mass_removal_held')
      .where('source_id', '=', source)
      .executeTakeFirst();
    expect(finding?.status).toBe('open');
    // The source that failed yesterday succeeded today: its finding is resolved by this run.
    const failedFinding = await db
      .selectFrom('findings')
      .select(['status', 'resolved_run_id'])
      .where('code', '=', 'source_failed')
      .where('source_id', '=', failedSource)
      .executeTakeFirst();
    expect(failedFinding).toEqual({ status: 'resolved', resolved_run_id: run.id });

    expect(
      await confirmRemoval(db, { sourceId: source, by: 'admin-test', reason: 'kantor direstrukturisasi' }),
    ).toEqual({
      confirmed: true,
      nips: held!.nips.length,
    });
    const applied = await sync(dayDate(3), { kind: 'source', value: source });
    expect(applied.status).toBe('completed');
    expect(applied.version_published).toBeGreaterThan(0);
    const changes = await changesOf(applied.version_published!);
    const removed = changes.filter((c) => c.change === 'removed');
    expect(removed.map((c) => c.nip).sort()).toEqual([...held!.nips].sort());
    expect(removed.every((c) => c.reason === 'removal_confirmed')).toBe(true);
    const gone = await db
      .selectFrom('officer_records')
      .select('nip')
      .where('valid_to', 'is', null)
      .where('nip', 'in', held!.nips)
      .execute();
    expect(gone).toHaveLength(0);
  });
});
