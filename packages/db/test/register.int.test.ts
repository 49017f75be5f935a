import { describe, expect, it, onTestFinished } from 'vitest';
import { sql } from 'kysely';
import {
  createSnapshotNormaliser,
  isActiveStatus,
  resolveAssignment,
  type Formation,
  type Officer,
  type OfficerStatus,
  type SnapshotResult,
} from '@pksync/core';
import type { LevelCode } from '@pksync/reference';
import { createTestDatabase, useTestDatabase, insertSource, snapshotOf } from '@pksync/testing';
import type { Db } from '../src/db.ts';
import { getOfficerHistory, getRegionSummaries, getRegisterVersion } from '../src/repositories/register.repository.ts';
import { confirmRemoval, listHeldRemovals } from '../src/repositories/held-removal.repository.ts';
import { reconcileRun, ReconcileError, type ReconcileResult } from '../src/reconcile/index.ts';
import { getPublication, listPublications } from '../src/repositories/publication.repository.ts';
import { getPublicationDiffView } from '../src/repositories/query.repository.ts';
import { discardStagedRun, stageSnapshot } from '../src/repositories/staging.repository.ts';
import { commitContentHashes } from '../src/repositories/run.repository.ts';

// --- Factories ----------------------------------------------------------------------------------

let seq = 0;
/** A valid NIP: birth date, TMT CPNS (birth year + 22), gender digit, sequence. */
function nip(birth = '1985-03-12', gender: 'L' | 'P' = 'L'): string {
  const by = Number(birth.slice(0, 4));
  return `${birth.replace(/-/g, '')}${by + 22}01${gender === 'L' ? 1 : 2}${String(++seq % 1000).padStart(3, '0')}`;
}

function officer(regionCode: string, o: Partial<Officer> = {}): Officer {
  const birthDate = o.birthDate ?? '1985-03-12';
  return {
    nip: o.nip ?? nip(birthDate),
    name: 'Budi Santoso',
    nameNormalised: 'budi santoso',
    gender: 'L',
    birthDate,
    level: 'ahli_pertama' as LevelCode,
    grade: 'III/a',
    unit: 'Dinas Tenaga Kerja',
    regionCode,
    tmtJabatan: '2020-01-01',
    status: 'aktif' as OfficerStatus,
    email: null,
    phone: null,
    updatedAt: null,
    position: 2,
    ...o,
  };
}

function snapshot(accepted: Officer[], extra: Partial<SnapshotResult> = {}): SnapshotResult {
  return snapshotOf(
    accepted.map((o, i) => ({ ...o, position: i + 2 })),
    extra,
  );
}

function formation(regionCode: string, level: LevelCode, approved: number, need: number, year = 2026): Formation {
  return { regionCode, year, level, approved, need, position: 2 };
}

type FetchSpec = SnapshotResult | 'unchanged' | { failed: string };

async function addSource(db: Db, id: string, region: string): Promise<void> {
  await insertSource(db, { id: id, regionCode: region });
}

async function newRun(db: Db, asOf: string): Promise<string> {
  const row = await db
    .insertInto('runs')
    .values({
      scope_kind: 'national',
      scope_value: null,
      scope_key: `test:${++seq}`,
      trigger: 'manual',
      requested_by: 'test',
      reason: 'test',
      as_of: asOf,
      status: 'running',
      schedule_slot: null,
      version_published: null,
      error: null,
      started_at: new Date(),
      finished_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** One run: a fetch row per source (succeeded + staged, unchanged, or failed), then reconcile. */
async function sync(
  db: Db,
  fetches: Record<string, FetchSpec>,
  asOf = '2026-11-27',
): Promise<ReconcileResult & { runId: string }> {
  const runId = await stageRun(db, fetches, asOf);
  const res = await reconcileRun(db, { runId, asOf });
  await db.updateTable('runs').set({ status: 'completed' }).where('id', '=', runId).execute();
  return { ...res, runId };
}

async function stageRun(db: Db, fetches: Record<string, FetchSpec>, asOf: string): Promise<string> {
  const runId = await newRun(db, asOf);
  for (const [sourceId, spec] of Object.entries(fetches)) {
    const status = spec === 'unchanged' ? 'unchanged' : 'failed' in spec ? 'failed' : 'succeeded';
    const f = await db
      .insertInto('source_fetches')
      .values({
        run_id: runId,
        source_id: sourceId,
        status,
        attempts: 1,
        content_hash: null,
        error_code: status === 'failed' ? 'http_error' : null,
        error_message: typeof spec === 'object' && 'failed' in spec ? spec.failed : null,
        started_at: new Date(),
        finished_at: new Date(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (status === 'succeeded') {
      await stageSnapshot(db, { runId, sourceId, fetchId: f.id, result: spec as SnapshotResult, contentHash: 'h' });
    }
  }
  return runId;
}

async function current(db: Db) {
  return db.selectFrom('officer_records').selectAll().where('valid_to', 'is', null).orderBy('nip').execute();
}

/** A version's diff as `GET /publications/{v}/diff` reads it, ordered by NIP (one page of up to 10,000). */
async function diffOf(db: Db, version: number, opts: { change?: 'added' | 'removed' | 'changed' } = {}) {
  return getPublicationDiffView(db, version, { limit: 10_000, ...opts });
}

async function openFindings(db: Db, code?: string) {
  let q = db.selectFrom('findings').selectAll().where('status', '<>', 'resolved').orderBy('id');
  if (code) q = q.where('code', '=', code);
  return q.execute();
}

// Each describe block gets its own database: the register is global state.

describe('R14 versions and diffs', () => {
  const t = useTestDatabase();

  it('publishes version 1, nothing on an unchanged repeat, version 2 with the diff of a change', async () => {
    const { db } = t;
    await addSource(db, 'plg', '16.71');
    const a = officer('16.71');
    const b = officer('16.71', { name: 'Siti Aminah', nameNormalised: 'siti aminah' });
    const r1 = await sync(db, { plg: snapshot([a, b]) });
    expect(r1.version).toBe(1);
    expect(r1.counts).toEqual({ added: 2, removed: 0, changed: 0, active: 2, officers: 2 });
    expect(await getRegisterVersion(db)).toBe(1);
    expect((await current(db)).map((r) => [r.nip, r.valid_from, r.province_code])).toEqual(
      [a, b].map((o) => [o.nip, 1, '16']).sort(),
    );

    // The same snapshot again: no version (R14), and an 'unchanged' fetch neither.
    expect((await sync(db, { plg: snapshot([a, b]) })).version).toBeNull();
    expect((await sync(db, { plg: 'unchanged' })).version).toBeNull();
    expect(await getRegisterVersion(db)).toBe(1);

    const r2 = await sync(db, { plg: snapshot([{ ...a, grade: 'III/b' }, b]) });
    expect(r2.version).toBe(2);
    expect(r2.counts).toMatchObject({ added: 0, removed: 0, changed: 1 });
    expect(await diffOf(db, 2)).toEqual([
      expect.objectContaining({
        nip: a.nip,
        change: 'changed',
        fields: ['grade'],
        reason: 'updated',
        region_code: '16.71',
      }),
    ]);
    // Version 1 is unchanged: reading it still gives III/a.
    const v1 = await sql<{ grade: string }>`
      select grade from officer_records where nip = ${a.nip} and valid_from <= 1 and (valid_to is null or valid_to > 1)`.execute(
      db,
    );
    expect(v1.rows).toEqual([{ grade: 'III/a' }]);
    expect((await getPublication(db, 2))?.counts).toMatchObject({ changed: 1, active: 2, officers: 2 });
    expect((await listPublications(db)).map((p) => p.version)).toEqual([2, 1]);
    expect(await getPublication(db, 99)).toBeNull();
    expect(await diffOf(db, 99)).toEqual([]);

    const history = await getOfficerHistory(db, a.nip);
    expect(history?.records.map((r) => [r.grade, r.validFrom, r.validTo])).toEqual([
      ['III/a', 1, 2],
      ['III/b', 2, null],
    ]);
    expect(history?.changes.map((c) => [c.version, c.change, c.reason])).toEqual([
      [1, 'added', 'new'],
      [2, 'changed', 'updated'],
    ]);
    expect(history?.assignments).toHaveLength(1);
  });

  it('pages a diff in NIP order and filters by province', async () => {
    const { db } = t;
    await addSource(db, 'bkl', '17.01');
    const many = Array.from({ length: 5 }, () => officer('17.01'));
    const r = await sync(db, { bkl: snapshot(many) });
    const all = await getPublicationDiffView(db, r.version!, { provinceCode: '17', limit: 10 });
    expect(all.map((c) => c.change)).toEqual(Array(5).fill('added'));
    expect(all.map((c) => c.nip)).toEqual(many.map((o) => o.nip).sort());
    const p1 = await getPublicationDiffView(db, r.version!, { provinceCode: '17', limit: 2 });
    // Keyset: the next page starts after the last NIP of the previous one.
    const p2 = await getPublicationDiffView(db, r.version!, { provinceCode: '17', limit: 10, afterNip: p1[1]!.nip });
    expect([...p1, ...p2]).toEqual(all);
    expect(p2).toHaveLength(3);
    expect(await getPublicationDiffView(db, r.version!, { provinceCode: '16', limit: 10 })).toEqual([]);
  });

  it('re-staging the same (run, source) replaces, never doubles', async () => {
    const { db } = t;
    await addSource(db, 'oki', '16.02');
    const runId = await newRun(db, '2026-11-27');
    await db.insertInto('source_fetches').values({ run_id: runId, source_id: 'oki', status: 'succeeded' }).execute();
    const snap = snapshot([officer('16.02'), officer('16.02')], {
      rejected: [{ row: 4, codes: ['nip_invalid'], fields: ['nip'], raw: { nip: '123' }, issues: [] }],
    });
    await stageSnapshot(db, { runId, sourceId: 'oki', result: snap });
    await stageSnapshot(db, { runId, sourceId: 'oki', result: snap });
    const staged = await db
      .selectFrom('staged_officers')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('run_id', '=', runId)
      .executeTakeFirst();
    expect(Number(staged?.n)).toBe(2);
    const rejected = await db.selectFrom('rejected_records').selectAll().where('run_id', '=', runId).execute();
    expect(rejected).toHaveLength(1);
    const res = await reconcileRun(db, { runId, asOf: '2026-11-27' });
    expect(res.counts.added).toBe(2);
  });

  it('stores any text as given through COPY (tabs, newlines, backslashes, quotes, emoji, formulas)', async () => {
    const { db } = t;
    await addSource(db, 'txt', '16.07');
    const weird = 'Dr. A\tB\nC \\ D \'E\' "F" 😀 \u202eG =1+1 \\N';
    const o = officer('16.07', { name: weird, unit: '\\N', email: null, phone: '+62 812' });
    await sync(db, {
      txt: snapshot([o], {
        rejected: [{ row: 9, codes: ['field_missing'], fields: ['nama,"x"'], raw: { nama: weird }, issues: [] }],
      }),
    });
    const row = await db.selectFrom('officer_records').selectAll().where('nip', '=', o.nip).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ name: weird, unit: '\\N', email: null, phone: '+62 812' });
    const rej = await db
      .selectFrom('rejected_records')
      .selectAll()
      .where('source_id', '=', 'txt')
      .executeTakeFirstOrThrow();
    expect(rej).toMatchObject({ row: 9, codes: ['field_missing'], fields: ['nama,"x"'], raw: { nama: weird } });
  });

  it('rejects bad input with a clear error, and a run whose staged rows are gone', async () => {
    const { db } = t;
    await addSource(db, 'bad', '16.09');
    const badRun = await newRun(db, '2026-11-27');
    await expect(
      stageSnapshot(db, { runId: badRun, sourceId: 'bad', result: { accepted: null } as unknown as SnapshotResult }),
    ).rejects.toThrow(/result.accepted must be an array/);
    await expect(stageSnapshot(db, { runId: badRun, sourceId: 'nope', result: snapshot([]) })).rejects.toThrow(
      /source "nope" does not exist/,
    );
    await expect(
      stageSnapshot(db, {
        runId: badRun,
        sourceId: 'bad',
        result: snapshot([officer('16.09', { birthDate: '1985-02-30' })]),
      }),
    ).rejects.toThrow(/could not stage source "bad"/);
    // Nothing half-staged.
    expect(await db.selectFrom('staged_snapshots').selectAll().where('run_id', '=', badRun).execute()).toEqual([]);
    await expect(reconcileRun(db, { runId: 'nope', asOf: '2026-11-27' })).rejects.toThrow(/runId must be a UUID/);
    await expect(
      reconcileRun(db, { runId: '00000000-0000-0000-0000-000000000000', asOf: '2026-02-30' }),
    ).rejects.toThrow(/asOf must be a real date/);
    await expect(
      reconcileRun(db, { runId: '00000000-0000-0000-0000-000000000000', asOf: '2026-11-27' }),
    ).rejects.toThrow(/does not exist/);
    await addSource(db, 'lost', '16.03');
    const runId = await stageRun(db, { lost: snapshot([officer('16.03'), officer('16.03')]) }, '2026-11-27');
    await db.deleteFrom('staged_officers').where('run_id', '=', runId).execute();
    await expect(reconcileRun(db, { runId, asOf: '2026-11-27' })).rejects.toThrow(ReconcileError);
    await expect(reconcileRun(db, { runId, asOf: '2026-11-27' })).rejects.toThrow(/incomplete/);
  });

  it('runs inside the caller’s transaction: what follows it sees the publication, and a failure rolls it back', async () => {
    const { db } = t;
    await addSource(db, 'hook', '16.04');
    const before = await getRegisterVersion(db);
    const runId = await stageRun(db, { hook: snapshot([officer('16.04', { gender: 'L' })]) }, '2026-11-27');
    await expect(
      db.transaction().execute(async (trx) => {
        await reconcileRun(trx, { runId, asOf: '2026-11-27' });
        throw new Error('the next step failed');
      }),
    ).rejects.toThrow('the next step failed');
    expect(await getRegisterVersion(db)).toBe(before);
    let inTrx = 0;
    const res = await db.transaction().execute(async (trx) => {
      const r = await reconcileRun(trx, { runId, asOf: '2026-11-27' });
      inTrx = (await trx.selectFrom('publications').select('version').where('run_id', '=', runId).execute()).length;
      return r;
    });
    expect(res.version).toBe((before ?? 0) + 1);
    // The next step sees the uncommitted publication: it runs inside the transaction.
    expect(inTrx).toBe(1);
    // formation_missing for 16.04 was opened by this run, and its id is given.
    expect(res.findings.opened).toBeGreaterThan(0);
    expect(res.findings.openedIds).toHaveLength(res.findings.opened);
    const opened = await db.selectFrom('findings').select('id').where('first_run_id', '=', runId).execute();
    expect(res.findings.openedIds.sort()).toEqual(opened.map((f) => Number(f.id)).sort());
  });

  it('serialises concurrent reconciles into a strict version sequence', async () => {
    const { db } = t;
    await addSource(db, 'c1', '16.05');
    await addSource(db, 'c2', '16.06');
    const r1 = await stageRun(db, { c1: snapshot([officer('16.05')]) }, '2026-11-27');
    const r2 = await stageRun(db, { c2: snapshot([officer('16.06')]) }, '2026-11-27');
    const before = (await getRegisterVersion(db)) ?? 0;
    const [a, b] = await Promise.all([
      reconcileRun(db, { runId: r1, asOf: '2026-11-27' }),
      reconcileRun(db, { runId: r2, asOf: '2026-11-27' }),
    ]);
    expect([a.version, b.version].sort()).toEqual([before + 1, before + 2]);
  });
});

describe('staging lifecycle and overlapping runs', () => {
  const t = useTestDatabase();

  const stagedCount = async (db: Db, sourceId: string) =>
    Number(
      (
        await db
          .selectFrom('staged_officers')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('source_id', '=', sourceId)
          .executeTakeFirst()
      )?.n,
    );

  it('keeps only the listing snapshot of a source once a newer one is reconciled', async () => {
    const { db } = t;
    await addSource(db, 'plg', '16.71');
    const a = officer('16.71');
    const b = officer('16.71');
    const r1 = await sync(db, { plg: snapshot([a, b]) });
    const r2 = await sync(db, { plg: snapshot([a, b, officer('16.71')]) });
    expect(await stagedCount(db, 'plg')).toBe(3);
    const listing = await db
      .selectFrom('source_listings')
      .selectAll()
      .where('source_id', '=', 'plg')
      .executeTakeFirst();
    expect(listing?.run_id).toBe(r2.runId);
    const old = await db
      .selectFrom('staged_snapshots')
      .select(['discarded_at', 'reconciled_at'])
      .where('run_id', '=', r1.runId)
      .executeTakeFirst();
    expect(old?.discarded_at).not.toBeNull();
  });

  it('an older snapshot reconciled after a newer one never rolls the source back', async () => {
    const { db } = t;
    await addSource(db, 'oki', '16.02');
    const a = officer('16.02');
    const b = officer('16.02', { grade: 'III/a' });
    // The national run stages first (old data), a region run stages later and reconciles first.
    const national = await stageRun(db, { oki: snapshot([a, b]) }, '2026-11-27');
    await sync(db, { oki: snapshot([a, { ...b, grade: 'III/b' }]) });
    const late = await reconcileRun(db, { runId: national, asOf: '2026-11-27' });
    expect(late.version).toBeNull();
    expect((await current(db)).find((o) => o.nip === b.nip)?.grade).toBe('III/b');
  });

  it('does not cover fetches still pending, and discards a run that will not be reconciled', async () => {
    const { db } = t;
    await addSource(db, 'oku', '16.01');
    const x = officer('16.01');
    await sync(db, { oku: snapshot([x]) });
    const runId = await newRun(db, '2026-11-27');
    await db.insertInto('source_fetches').values({ run_id: runId, source_id: 'oku', status: 'running' }).execute();
    const r = await reconcileRun(db, { runId, asOf: '2026-11-27' });
    expect(r.version).toBeNull();
    expect((await current(db)).map((o) => o.nip)).toContain(x.nip);

    const failedRun = await stageRun(db, { oku: snapshot([x, officer('16.01')]) }, '2026-11-27');
    expect(await stagedCount(db, 'oku')).toBe(3);
    expect(await discardStagedRun(db, failedRun)).toEqual({ snapshots: 1 });
    // The listing snapshot of the earlier run stays (R10 reads it).
    expect(await stagedCount(db, 'oku')).toBe(1);
  });

  it('reads the figures of an older version', async () => {
    const { db } = t;
    await addSource(db, 'lht', '16.04');
    const r1 = await sync(db, { lht: snapshot([officer('16.04'), officer('16.04')]) });
    await sync(db, { lht: snapshot([officer('16.04')]) });
    const now = (await getRegionSummaries(db, { year: 2026 })).find((x) => x.code === '16.04');
    const then = (await getRegionSummaries(db, { year: 2026, version: r1.version! })).find((x) => x.code === '16.04');
    expect(now?.active).toBe(1);
    expect(then?.active).toBe(2);
  });
});

describe('R8 disappearance and the mass-removal guard', () => {
  const t = useTestDatabase();

  it('removes an officer absent from the next snapshot, with history', async () => {
    const { db } = t;
    await addSource(db, 'plg', '16.71');
    const four = Array.from({ length: 4 }, () => officer('16.71'));
    await sync(db, { plg: snapshot(four) });
    const r = await sync(db, { plg: snapshot(four.slice(1)) });
    expect(r.counts).toMatchObject({ removed: 1, active: 3 });
    expect(await diffOf(db, r.version!)).toEqual([
      expect.objectContaining({ nip: four[0]!.nip, change: 'removed', reason: 'disappeared' }),
    ]);
    const h = await getOfficerHistory(db, four[0]!.nip);
    expect(h?.current).toBeNull();
    expect(h?.changes.at(-1)).toMatchObject({ change: 'removed', reason: 'disappeared', version: r.version });
  });

  it('holds a mass removal, keeps it published, applies it once confirmed', async () => {
    const { db } = t;
    await addSource(db, 'oki', '16.02');
    const six = Array.from({ length: 6 }, () => officer('16.02'));
    await sync(db, { oki: snapshot(six) });
    // 3 of 6 active gone: at least 3 and at least half → held.
    const newcomer = officer('16.02');
    const r = await sync(db, { oki: snapshot([...six.slice(3), newcomer]) });
    expect(r.counts).toMatchObject({ added: 1, removed: 0 });
    const onRecord = (await current(db)).filter((o) => o.source_id === 'oki').map((o) => o.nip);
    expect(onRecord).toEqual(expect.arrayContaining(six.map((o) => o.nip)));
    const held = await db.selectFrom('held_removals').selectAll().where('source_id', '=', 'oki').execute();
    expect(held).toMatchObject([{ status: 'held', active_before: 6 }]);
    expect(held[0]!.nips.sort()).toEqual(
      six
        .slice(0, 3)
        .map((o) => o.nip)
        .sort(),
    );
    expect(await listHeldRemovals(db, { province: '16' })).toMatchObject([
      { sourceId: 'oki', regionCode: '16.02', count: 3, activeBefore: 6, status: 'held' },
    ]);
    expect(await listHeldRemovals(db, { province: '17' })).toEqual([]);
    const [f] = await openFindings(db, 'mass_removal_held');
    expect(f).toMatchObject({ source_id: 'oki', province_code: '16', severity: 'error' });
    expect(f!.message).toMatch(/3 pejabat/);

    // A failed fetch shows nothing: the hold stays.
    expect((await sync(db, { oki: { failed: 'timeout' } })).counts.removed).toBe(0);

    await expect(confirmRemoval(db, { sourceId: 'oki', by: '', reason: 'x' })).rejects.toThrow(/by/);
    expect(await confirmRemoval(db, { sourceId: 'oki', by: 'admin@kemnaker', reason: 'data dibersihkan' })).toEqual({
      confirmed: true,
      nips: 3,
    });
    expect(await confirmRemoval(db, { sourceId: 'oki', by: 'admin', reason: 'again' })).toEqual({
      confirmed: false,
      nips: 0,
    });
    const applied = await sync(db, { oki: 'unchanged' });
    expect(applied.counts.removed).toBe(3);
    const diff = await diffOf(db, applied.version!, { change: 'removed' });
    expect(diff.map((c) => c.reason)).toEqual(['removal_confirmed', 'removal_confirmed', 'removal_confirmed']);
    expect(
      await db.selectFrom('held_removals').select(['status', 'resolution']).where('source_id', '=', 'oki').execute(),
    ).toEqual([{ status: 'applied', resolution: 'confirmed' }]);
    expect(await openFindings(db, 'mass_removal_held')).toEqual([]);
    expect(applied.findings.resolved).toBeGreaterThan(0);
  });

  it('applies a held removal when the next snapshot shows it again', async () => {
    const { db } = t;
    await addSource(db, 'oku', '16.01');
    const four = Array.from({ length: 4 }, () => officer('16.01'));
    await sync(db, { oku: snapshot(four) });
    const held = await sync(db, { oku: snapshot([four[0]!]) });
    expect(held.version).toBeNull();
    expect((await current(db)).filter((o) => o.source_id === 'oku')).toHaveLength(4);
    const again = await sync(db, { oku: snapshot([four[0]!]) });
    expect(again.counts.removed).toBe(3);
    expect((await diffOf(db, again.version!)).map((c) => c.reason)).toEqual([
      'removal_repeated',
      'removal_repeated',
      'removal_repeated',
    ]);
    expect(
      (await db.selectFrom('held_removals').select('resolution').where('source_id', '=', 'oku').executeTakeFirst())
        ?.resolution,
    ).toBe('repeated');
  });

  it('a snapshot fetched while the held one was still being fetched is not a second look', async () => {
    const { db } = t;
    await addSource(db, 'ogi', '16.10');
    const four = Array.from({ length: 4 }, () => officer('16.10'));
    await sync(db, { ogi: snapshot(four) });
    await sql`update sources set last_content_hash = 'before' where id = 'ogi'`.execute(db);
    // Two runs fetch the agency at once and get the same mass removal; b's fetch began before a's
    // had finished.
    const a = await stageRun(db, { ogi: snapshot([four[0]!]) }, '2026-11-27');
    const b = await stageRun(db, { ogi: snapshot([four[0]!]) }, '2026-11-27');
    const at = (run: string, from: number, to: number) =>
      sql`update source_fetches set content_hash = 'after', started_at = now() - make_interval(secs => ${from}),
                                    finished_at = now() - make_interval(secs => ${to})
          where run_id = ${run}`.execute(db);
    await at(a, 10, 5);
    await at(b, 8, 4);
    const reconcile = (runId: string) =>
      db.transaction().execute(async (trx) => {
        const r = await reconcileRun(trx, { runId, asOf: '2026-11-27' });
        await commitContentHashes(trx, runId);
        return r;
      });
    expect((await reconcile(a)).version).toBeNull();
    const rb = await reconcile(b);
    expect(rb.counts.removed).toBe(0);
    expect((await current(db)).filter((o) => o.source_id === 'ogi')).toHaveLength(4);
    const holds = () => db.selectFrom('held_removals').select(['status', 'resolution']).where('source_id', '=', 'ogi');
    expect(await holds().execute()).toEqual([{ status: 'held', resolution: null }]);
    // The hold kept, the old hash stays: the same snapshot next time is read again.
    const hash = await db.selectFrom('sources').select('last_content_hash').where('id', '=', 'ogi').executeTakeFirst();
    expect(hash?.last_content_hash).toBe('before');

    // A later fetch showing the same removal applies it.
    const later = await sync(db, { ogi: snapshot([four[0]!]) });
    expect(later.counts.removed).toBe(3);
    expect(await holds().execute()).toEqual([{ status: 'applied', resolution: 'repeated' }]);
  });

  it('counts only active officers for the guard (inactive ones stay on record, out of counts)', async () => {
    const { db } = t;
    await addSource(db, 'lht', '16.04');
    const active = Array.from({ length: 6 }, () => officer('16.04'));
    const inactive = Array.from({ length: 4 }, () => officer('16.04', { status: 'pensiun' }));
    const r1 = await sync(db, { lht: snapshot([...active, ...inactive]) });
    expect(r1.counts.added).toBe(10);
    const summary = (await getRegionSummaries(db, { year: 2026 })).find((s) => s.code === '16.04');
    expect(summary?.active).toBe(6);
    // 4 inactive + 2 active gone: 2 active < 3 → not a mass removal.
    const r2 = await sync(db, { lht: snapshot(active.slice(2)) });
    expect(r2.counts.removed).toBe(6);
    expect(await db.selectFrom('held_removals').selectAll().where('source_id', '=', 'lht').execute()).toEqual([]);
  });
});

describe('R9 failed and stale sources', () => {
  const t = useTestDatabase();

  it('keeps a failed source published and stale, raises source_failed, then source_stale after 3 days', async () => {
    const { db } = t;
    await addSource(db, 'plg', '16.71');
    const two = [officer('16.71'), officer('16.71')];
    await sync(db, { plg: snapshot(two) });
    const r = await sync(db, { plg: { failed: 'HTTP 503' } });
    expect(r.version).toBeNull();
    expect((await current(db)).map((o) => o.nip).sort()).toEqual(two.map((o) => o.nip).sort());
    const [failed] = await openFindings(db, 'source_failed');
    expect(failed).toMatchObject({ source_id: 'plg', province_code: '16', severity: 'error' });
    expect(failed!.message).toMatch(/gagal/);
    expect(failed!.message).toMatch(/HTTP 503/);
    expect(await openFindings(db, 'source_stale')).toEqual([]);
    let plg = (await getRegionSummaries(db, { year: 2026 })).find((s) => s.code === '16.71');
    expect(plg).toMatchObject({ stale: true, active: 2 });
    expect(plg?.lastSuccessAt).toBeInstanceOf(Date);

    // Move every success 4 days back: no success for 3 days → source_stale.
    await sql`update source_fetches set finished_at = now() - interval '4 days', started_at = now() - interval '4 days'
              where source_id = 'plg' and status = 'succeeded'`.execute(db);
    const stale = await sync(db, { plg: { failed: 'HTTP 503' } });
    expect(stale.findings.opened).toBe(1);
    expect(await openFindings(db, 'source_stale')).toHaveLength(1);
    expect(await openFindings(db, 'source_failed')).toHaveLength(1);

    // Success again: both resolved, no longer stale.
    const ok = await sync(db, { plg: snapshot(two) });
    expect(ok.findings.resolved).toBeGreaterThanOrEqual(2);
    expect(await openFindings(db, 'source_failed')).toEqual([]);
    expect(await openFindings(db, 'source_stale')).toEqual([]);
    const resolved = await db.selectFrom('findings').selectAll().where('code', '=', 'source_failed').execute();
    expect(resolved[0]).toMatchObject({ status: 'resolved', resolved_run_id: ok.runId });
    plg = (await getRegionSummaries(db, { year: 2026 })).find((s) => s.code === '16.71');
    expect(plg?.stale).toBe(false);

    // Failing again: "last success" is the latest of the source's successes, not an older one.
    const latest = await db
      .selectFrom('source_fetches')
      .select('finished_at')
      .where('source_id', '=', 'plg')
      .where('status', '=', 'succeeded')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    await sync(db, { plg: { failed: 'HTTP 503' } });
    const [again] = await openFindings(db, 'source_failed');
    expect(new Date(again!.details.lastSuccessAt as string)).toEqual(latest.finished_at);
    plg = (await getRegionSummaries(db, { year: 2026 })).find((s) => s.code === '16.71');
    expect(plg?.lastSuccessAt).toEqual(latest.finished_at);
    await sync(db, { plg: snapshot(two) }); // leave no open finding to the next test
  });

  it('a quiet run (every source unchanged, same as_of) publishes nothing and still resolves a failure', async () => {
    const { db } = t;
    await addSource(db, 'qt', '16.72');
    await addSource(db, 'qt2', '16.72');
    const two = [officer('16.72'), officer('16.72')];
    // An officer listed by both sources with the same TMT: a conflict (R10) stays open meanwhile.
    const shared = officer('16.72');
    await sync(db, { qt: snapshot([...two, shared]), qt2: snapshot([{ ...shared, regionCode: '16.72' }]) });
    const conflicts = (await openFindings(db, 'conflicting_assignment')).length;
    expect(conflicts).toBeGreaterThan(0);
    const before = await current(db);
    await sync(db, { qt: { failed: 'HTTP 503' }, qt2: 'unchanged' });
    expect(await openFindings(db, 'source_failed')).toHaveLength(1);
    const quiet = await sync(db, { qt: 'unchanged', qt2: 'unchanged' });
    expect(quiet.version).toBeNull();
    expect(quiet.timings).toHaveProperty('quiet');
    expect(quiet.counts).toMatchObject({ added: 0, removed: 0, changed: 0 });
    expect(quiet.findings.resolved).toBe(1);
    expect(await openFindings(db, 'source_failed')).toEqual([]);
    expect((await openFindings(db, 'conflicting_assignment')).length).toBe(conflicts);
    expect(await current(db)).toEqual(before);
  });

  it('raises source_stale for a source registered 3 days ago that never succeeded', async () => {
    const { db } = t;
    await addSource(db, 'never', '16.05');
    await sql`update sources set created_at = now() - interval '3 days 1 minute' where id = 'never'`.execute(db);
    await sync(db, { never: { failed: 'unauthorized' } });
    expect((await openFindings(db, 'source_stale')).map((f) => f.source_id)).toEqual(['never']);
  });
});

describe('R10 transfers and conflicts', () => {
  const t = useTestDatabase();

  it('moves an officer to the agency with the later tmt, even when the other agency is out of scope', async () => {
    const { db } = t;
    await addSource(db, 'plg', '16.71');
    await addSource(db, 'bkl', '17.01');
    const x = officer('16.71', { tmtJabatan: '2020-01-01' });
    const stay = officer('16.71');
    await sync(db, { plg: snapshot([x, stay]) });
    // A run covering only Bengkulu: x listed there with a later tmt → transfer.
    const moved = await sync(db, {
      bkl: snapshot([{ ...x, regionCode: '17.01', tmtJabatan: '2024-03-01', unit: 'Disnaker Bengkulu' }]),
    });
    expect(moved.counts).toMatchObject({ added: 0, changed: 1, removed: 0 });
    const diff = await diffOf(db, moved.version!);
    expect(diff).toEqual([
      expect.objectContaining({
        nip: x.nip,
        change: 'changed',
        reason: 'transfer',
        region_code: '17.01',
        province_code: '17',
        previous_region_code: '16.71',
        previous_source_id: 'plg',
      }),
    ]);
    expect(diff[0]?.fields).toEqual(expect.arrayContaining(['source_id', 'region_code', 'unit', 'tmt_jabatan']));
    const [still] = await openFindings(db, 'transferred_officer_still_listed');
    expect(still).toMatchObject({ source_id: 'plg', province_code: '16', nip: x.nip, severity: 'warning' });
    const h = await getOfficerHistory(db, x.nip);
    expect(h?.transfers).toEqual([
      expect.objectContaining({
        fromRegionCode: '16.71',
        toRegionCode: '17.01',
        fromSourceId: 'plg',
        toSourceId: 'bkl',
      }),
    ]);
    expect(h?.assignments.map((a) => a.regionCode)).toEqual(['16.71', '17.01']);

    // Palembang still lists x (old tmt): the transfer stands, the warning stays open.
    expect((await sync(db, { plg: snapshot([x, stay]) })).version).toBeNull();
    expect(await openFindings(db, 'transferred_officer_still_listed')).toHaveLength(1);

    // Palembang drops x: not a disappearance (x is Bengkulu's now); the warning is resolved.
    const dropped = await sync(db, { plg: snapshot([stay]) });
    expect(dropped.version).toBeNull();
    expect((await current(db)).find((o) => o.nip === x.nip)?.source_id).toBe('bkl');
    expect(await openFindings(db, 'transferred_officer_still_listed')).toEqual([]);
  });

  it('falls back to the other listing when the winner drops the officer', async () => {
    const { db } = t;
    await addSource(db, 'oki', '16.02');
    await addSource(db, 'rjl', '17.02');
    const y = officer('16.02', { tmtJabatan: '2019-05-01' });
    const keep = [officer('17.02'), officer('17.02'), officer('17.02')];
    await sync(db, { oki: snapshot([y]) });
    await sync(db, { rjl: snapshot([...keep, { ...y, regionCode: '17.02', tmtJabatan: '2023-01-01' }]) });
    expect((await current(db)).find((o) => o.nip === y.nip)?.source_id).toBe('rjl');
    // Rejang Lebong drops y; OKI's file (unchanged since) still lists y → y goes back to OKI.
    const back = await sync(db, { rjl: snapshot(keep), oki: 'unchanged' });
    expect((await current(db)).find((o) => o.nip === y.nip)?.source_id).toBe('oki');
    expect(await diffOf(db, back.version!)).toEqual([
      expect.objectContaining({ nip: y.nip, reason: 'transfer', region_code: '16.02', previous_region_code: '17.02' }),
    ]);
  });

  it('equal tmt: the registered assignment stands and both provinces get conflicting_assignment', async () => {
    const { db } = t;
    await addSource(db, 'lht', '16.04');
    await addSource(db, 'kaur', '17.04');
    const z = officer('16.04', { tmtJabatan: '2021-06-01' });
    await sync(db, { lht: snapshot([z]) });
    // Kaur (17.04) reports z with the same tmt; 16.04 is registered → stays, though 17.04 is not smaller.
    const r = await sync(db, { kaur: snapshot([{ ...z, regionCode: '17.04' }]) });
    expect(r.version).toBeNull();
    expect((await current(db)).find((o) => o.nip === z.nip)?.region_code).toBe('16.04');
    const conflicts = await openFindings(db, 'conflicting_assignment');
    expect(conflicts.map((c) => [c.province_code, c.nip, c.severity]).sort()).toEqual([
      ['16', z.nip, 'error'],
      ['17', z.nip, 'error'],
    ]);
    expect(conflicts[0]!.message).toMatch(/TMT Jabatan yang sama/);
  });

  it('equal tmt with none registered: the smaller region code stands', async () => {
    const { db } = t;
    await addSource(db, 'a-src', '17.05');
    await addSource(db, 'b-src', '16.06');
    const w = officer('17.05', { tmtJabatan: '2022-02-02' });
    await sync(db, { 'a-src': snapshot([w]), 'b-src': snapshot([{ ...w, regionCode: '16.06' }]) });
    expect((await current(db)).find((o) => o.nip === w.nip)?.region_code).toBe('16.06');
    expect((await openFindings(db, 'conflicting_assignment')).filter((f) => f.nip === w.nip)).toHaveLength(2);
  });
});

describe('R10 in SQL matches the pure decision (resolveAssignment)', () => {
  const t = useTestDatabase();

  it('picks the same winners and raises the same findings for random contested NIPs, over two runs', async () => {
    const { db } = t;
    const sources = [
      ['src-a', '16.01'],
      ['src-b', '16.02'],
      ['src-c', '17.01'],
    ] as const;
    for (const [id, region] of sources) await addSource(db, id, region);
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const tmts = ['2020-01-01', '2021-06-01', '2022-02-02'];
    // listing[source][nip] = the officer as that source lists it
    const listing = new Map<string, Map<string, Officer>>(sources.map(([id]) => [id, new Map()]));
    const nips = Array.from({ length: 60 }, () => nip());
    for (const n of nips) {
      const chosen = sources.filter(() => rand() < 0.6);
      for (const [id, region] of chosen.length ? chosen : [sources[0]]) {
        listing.get(id)!.set(
          n,
          officer(region, {
            nip: n,
            tmtJabatan: tmts[Math.floor(rand() * 3)]!,
            status: rand() < 0.8 ? 'aktif' : 'pensiun',
          }),
        );
      }
    }
    const expectRegister = async (registeredBefore: Map<string, string>) => {
      const reg = new Map((await current(db)).map((o) => [o.nip, o.source_id]));
      const expectedFindings: string[] = [];
      for (const n of nips) {
        const cands = sources
          .filter(([id]) => listing.get(id)!.has(n))
          .map(([id, region]) => {
            const o = listing.get(id)!.get(n)!;
            return { sourceId: id, regionCode: region, tmtJabatan: o.tmtJabatan, active: isActiveStatus(o.status) };
          });
        const d = resolveAssignment(cands, registeredBefore.get(n) ?? null)!;
        expect([n, reg.get(n)]).toEqual([n, d.winner.sourceId]);
        for (const f of d.findings) {
          expectedFindings.push(
            f.code === 'conflicting_assignment'
              ? `${f.code}|${f.regionCode.slice(0, 2)}|${n}`
              : `${f.code}|${f.sourceId}|${n}`,
          );
        }
      }
      const open = (await openFindings(db))
        .filter((f) => f.code === 'conflicting_assignment' || f.code === 'transferred_officer_still_listed')
        .map((f) => f.fingerprint);
      expect(open.sort()).toEqual([...new Set(expectedFindings)].sort());
      // Not vacuous: both R10 findings occur among the random NIPs.
      expect(expectedFindings.some((f) => f.startsWith('conflicting_assignment'))).toBe(true);
      expect(expectedFindings.some((f) => f.startsWith('transferred_officer_still_listed'))).toBe(true);
      return reg;
    };
    const snap = (id: string) => snapshot([...listing.get(id)!.values()]);
    await sync(db, { 'src-a': snap('src-a'), 'src-b': snap('src-b'), 'src-c': snap('src-c') });
    const before = await expectRegister(new Map());

    // Run 2 re-reads only src-a, with new tmt/status values: the others count through the register
    // and their kept listings.
    for (const [n, o] of listing.get('src-a')!) {
      listing
        .get('src-a')!
        .set(n, { ...o, tmtJabatan: tmts[Math.floor(rand() * 3)]!, status: rand() < 0.8 ? 'aktif' : 'cuti' });
    }
    await sync(db, { 'src-a': snap('src-a') });
    const after = await expectRegister(before);
    expect(nips.filter((n) => before.get(n) !== after.get(n)).length).toBeGreaterThan(0);
  });
});

describe('R11 retirement, R12 formation, R13 coverage, record findings', () => {
  const t = useTestDatabase();

  it('flags officers at the retirement age on as_of, and flags more when as_of moves', async () => {
    const { db } = t;
    await addSource(db, 'plg', '16.71');
    // ahli_pertama retires at 58: born 1968-11-27 is 58 on 2026-11-27; born 1968-11-28 turns 58 a day later.
    const old = officer('16.71', { birthDate: '1968-11-27' });
    const almost = officer('16.71', { birthDate: '1968-11-28' });
    const madya = officer('16.71', { birthDate: '1968-01-01', level: 'ahli_madya', grade: 'IV/a' }); // retires at 60
    const retired = officer('16.71', { birthDate: '1950-01-01', status: 'pensiun' });
    await sync(db, { plg: snapshot([old, almost, madya, retired]) }, '2026-11-27');
    const flags = Object.fromEntries((await current(db)).map((o) => [o.nip, o.past_retirement]));
    expect(flags).toEqual({ [old.nip]: true, [almost.nip]: false, [madya.nip]: false, [retired.nip]: false });
    const f = await openFindings(db, 'past_retirement_age');
    expect(f.map((x) => x.nip)).toEqual([old.nip]);
    expect(f[0]!.message).toMatch(/berusia 58 tahun.*batas usia pensiun 58 tahun/);

    // Next day, nothing fetched anew: the flag moves with as_of (a version, reason retirement_age).
    const next = await sync(db, { plg: 'unchanged' }, '2026-11-28');
    expect(next.counts.changed).toBe(1);
    expect(await diffOf(db, next.version!)).toEqual([
      expect.objectContaining({ nip: almost.nip, fields: ['past_retirement'], reason: 'retirement_age' }),
    ]);
    expect((await openFindings(db, 'past_retirement_age')).map((x) => x.nip).sort()).toEqual(
      [old.nip, almost.nip].sort(),
    );
  });

  it('computes formation figures and raises formation_missing / over_formation, resolved when gone', async () => {
    const { db } = t;
    await addSource(db, 'oki', '16.02');
    await addSource(db, 'oku', '16.01');
    const oki = [
      officer('16.02'),
      officer('16.02'),
      officer('16.02'),
      officer('16.02', { level: 'ahli_muda', grade: 'III/c' }),
    ];
    const r = await sync(db, {
      oki: snapshot(oki, {
        formations: [formation('16.02', 'ahli_pertama', 2, 5), formation('16.02', 'ahli_muda', 3, 2)],
      }),
      oku: snapshot([officer('16.01')]),
    });
    expect(r.version).not.toBeNull();
    const summaries = await getRegionSummaries(db, { year: 2026 });
    const s = summaries.find((x) => x.code === '16.02')!;
    expect(s.formationByLevel.ahli_pertama).toEqual({
      formasi: 2,
      kebutuhan: 5,
      terisi: 3,
      kekurangan: 2,
      available: 0,
    });
    expect(s.formationByLevel.ahli_muda).toEqual({ formasi: 3, kebutuhan: 2, terisi: 1, kekurangan: 1, available: 2 });
    expect(s.formationByLevel.ahli_madya).toEqual({
      formasi: null,
      kebutuhan: null,
      terisi: 0,
      kekurangan: null,
      available: null,
    });
    expect(s.activeByLevel).toEqual({ ahli_pertama: 3, ahli_muda: 1, ahli_madya: 0, ahli_utama: 0 });
    expect(
      (await getRegionSummaries(db, { year: 2025 })).find((x) => x.code === '16.02')?.formationByLevel.ahli_pertama
        .formasi,
    ).toBeNull();

    expect((await openFindings(db, 'over_formation')).map((f) => [f.region_code, f.details])).toEqual([
      ['16.02', expect.objectContaining({ level: 'ahli_pertama', terisi: 3, formasi: 2 })],
    ]);
    const missing = (await openFindings(db, 'formation_missing')).map((f) => f.region_code);
    expect(missing).toContain('16.01');
    expect(missing).not.toContain('16.02');

    // The formation file changes: over_formation gone, and a new version for the formation alone.
    const r2 = await sync(db, {
      oki: snapshot(oki, {
        formations: [formation('16.02', 'ahli_pertama', 4, 5), formation('16.02', 'ahli_muda', 3, 2)],
      }),
    });
    expect(r2.version).toBe(r.version! + 1);
    expect(r2.counts).toMatchObject({ added: 0, removed: 0, changed: 0 });
    expect(await openFindings(db, 'over_formation')).toEqual([]);
    // Same as_of, only 16.02 touched: 16.01's formation_missing is left as it is (still true).
    expect((await openFindings(db, 'formation_missing')).map((f) => f.region_code)).toContain('16.01');
    // A snapshot without formation rows keeps the previous ones.
    expect((await sync(db, { oki: snapshot(oki) })).version).toBeNull();
    expect(
      (await getRegionSummaries(db, { year: 2026 })).find((x) => x.code === '16.02')?.formationByLevel.ahli_pertama
        .formasi,
    ).toBe(4);
    // Version r reads the old figure.
    expect(
      (await getRegionSummaries(db, { year: 2026, version: r.version! })).find((x) => x.code === '16.02')
        ?.formationByLevel.ahli_pertama.formasi,
    ).toBe(2);
  });

  it('computes province coverage over regencies/cities (R13), counting active officers only (R5)', async () => {
    // A register of its own: the coverage counts every regency/city of the province.
    const own = await createTestDatabase();
    onTestFinished(() => own.drop());
    const { db } = own;
    for (const [id, region] of [
      ['oku', '16.01'],
      ['oki', '16.02'],
      ['moe', '16.03'],
      ['plg', '16.71'],
    ] as const)
      await addSource(db, id, region);
    await sync(db, {
      oku: snapshot([officer('16.01')]),
      oki: snapshot([officer('16.02'), officer('16.02', { status: 'cuti' })]),
      // Only inactive officers: on record, but 16.03 is not covered.
      moe: snapshot([officer('16.03', { status: 'pensiun' }), officer('16.03', { status: 'meninggal' })]),
      plg: snapshot([officer('16.71'), officer('16.71', { status: 'tugas_belajar' })]),
    });
    const all = await getRegionSummaries(db, { year: 2026 });
    const sumsel = all.find((x) => x.code === '16')!;
    expect(sumsel.coverage).toEqual({ covered: 3, total: 17 });
    expect(sumsel.provinceActive).toBe(4);
    expect(sumsel.provinceActive).toBe(all.filter((x) => x.parentCode === '16').reduce((a, x) => a + x.active, 0));
    expect(all.find((x) => x.code === '16.03')).toMatchObject({ covered: false, coverage: null, active: 0 });
    expect(all.find((x) => x.code === '16.02')).toMatchObject({ covered: true, active: 2 });
    expect(all.find((x) => x.code === '16.71')).toMatchObject({ covered: true, active: 1 });
    expect(all.find((x) => x.code === '17')?.coverage).toEqual({ covered: 0, total: 10 });
    await expect(getRegionSummaries(db, { year: 2026, version: 999 })).rejects.toThrow(/not been published/);
  });

  it('persists what the real normaliser finds: R2 mismatch, R7 duplicate, R6 rejection, formations', async () => {
    const { db } = t;
    await addSource(db, 'real', '16.08');
    const n1 = nip('1985-03-12', 'L');
    const n2 = nip('1990-07-01', 'P');
    const raw = (nip: string, extra: Record<string, unknown> = {}) => ({
      nip,
      nama: 'Dr. Budi Santoso, S.E.',
      jenis_kelamin: 'L',
      jenjang: 'Pertama',
      golongan: 'III/a',
      unit_kerja: 'Disnaker',
      tmt_jabatan: '2020-01-01',
      status: 'aktif',
      ...extra,
    });
    const norm = createSnapshotNormaliser({ sourceRegion: '16.08', asOf: '2026-11-27' });
    norm.addOfficer(raw(n1), 2);
    norm.addOfficer(raw(n2), 3); // jenis_kelamin L, NIP says P → gender_mismatch (R2)
    norm.addOfficer(raw(n1, { golongan: 'III/b', tmt_jabatan: '2021-01-01' }), 4); // R7: differs, later tmt stands
    norm.addOfficer(raw('12345'), 5); // R1 → rejected
    norm.addFormation({ tahun: 2026, jenjang: 'Pertama', kebutuhan: 3, formasi: 1 }, 2);
    const result = norm.finish();
    const r = await sync(db, { real: result });
    expect(r.counts.added).toBe(2);
    expect((await current(db)).find((o) => o.nip === n1)?.grade).toBe('III/b');
    const byCode = (await openFindings(db)).filter((f) => f.source_id === 'real');
    expect(byCode.map((f) => f.code).sort()).toEqual(['duplicate_in_source', 'gender_mismatch', 'record_rejected']);
    expect(byCode.find((f) => f.code === 'record_rejected')?.message).toMatch(
      /^1 baris data dari sumber real ditolak.*nip_invalid 1/,
    );
    // R12: 2 active ahli_pertama against formasi 1.
    expect((await openFindings(db, 'over_formation')).map((f) => f.region_code)).toContain('16.08');
    const s = (await getRegionSummaries(db, { year: 2026 })).find((x) => x.code === '16.08');
    expect(s?.formationByLevel.ahli_pertama).toEqual({
      formasi: 1,
      kebutuhan: 3,
      terisi: 2,
      kekurangan: 1,
      available: 0,
    });
  });

  it('turns staged record findings and rejections into findings, resolved when the file is fixed', async () => {
    const { db } = t;
    await addSource(db, 'mura', '16.05');
    const a = officer('16.05');
    const r = await sync(db, {
      mura: snapshot([a], {
        findings: [
          { code: 'gender_mismatch', severity: 'warning', row: 2, nip: a.nip },
          { code: 'record_rejected', severity: 'error', row: 3 },
          { code: 'record_rejected', severity: 'error', row: 4 },
        ],
        rejected: [
          { row: 3, codes: ['nip_invalid'], fields: ['nip'], raw: { nip: '1985' }, issues: [] },
          {
            row: 4,
            codes: ['level_unknown', 'field_missing'],
            fields: ['jenjang', 'unit_kerja'],
            raw: { nip: 'x' },
            issues: [],
          },
        ],
      }),
    });
    expect(r.findings.opened).toBeGreaterThanOrEqual(2);
    const rejected = (await openFindings(db, 'record_rejected')).filter((f) => f.source_id === 'mura');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ source_id: 'mura', province_code: '16', region_code: '16.05' });
    expect(rejected[0]!.message).toMatch(/^2 baris data dari sumber mura ditolak/);
    expect(rejected[0]!.message).toMatch(/Baris: 3, 4/);
    expect(rejected[0]!.details).toMatchObject({ count: 2 });
    const gm = (await openFindings(db, 'gender_mismatch')).filter((f) => f.source_id === 'mura');
    expect(gm).toMatchObject([{ nip: a.nip, row: 2, source_id: 'mura' }]);
    const firstId = gm[0]!.id;

    // Same condition again: same finding, last_seen updated, not re-opened.
    const again = await sync(db, {
      mura: snapshot([a], {
        findings: [{ code: 'gender_mismatch', severity: 'warning', row: 2, nip: a.nip }],
        rejected: [{ row: 3, codes: ['nip_invalid'], fields: ['nip'], raw: { nip: '1985' }, issues: [] }],
      }),
    });
    expect(again.findings.opened).toBe(0);
    expect((await openFindings(db, 'gender_mismatch')).filter((f) => f.source_id === 'mura')[0]).toMatchObject({
      id: firstId,
      last_run_id: again.runId,
    });
    expect((await openFindings(db, 'record_rejected')).filter((f) => f.source_id === 'mura')[0]!.message).toMatch(
      /^1 baris/,
    );

    // Fixed file: both resolved.
    const fixed = await sync(db, { mura: snapshot([a]) });
    expect(fixed.findings.resolved).toBeGreaterThanOrEqual(2);
    expect((await openFindings(db, 'gender_mismatch')).filter((f) => f.source_id === 'mura')).toEqual([]);
    expect((await openFindings(db, 'record_rejected')).filter((f) => f.source_id === 'mura')).toEqual([]);
  });
});
