import { describe, expect, it } from 'vitest';
import { insertSource, useTestDatabase } from '@pksync/testing';
import { createFetchLedger } from '../src/fetch-ledger.ts';
import { createRun, getRun, listPendingFetches, listSourceFetches, markFetchesUnchanged } from '../src/index.ts';

const REGENCIES = ['16.01', '16.02', '16.03', '16.04', '16.05', '16.06', '16.07', '16.08', '16.09', '16.10'];

describe('fetch ledger: the claims and outcomes of concurrent fetch jobs share statements', () => {
  const t = useTestDatabase();

  /** A run of the ten sources (the previous test's run, left running, is failed first). */
  const newRun = async () => {
    await t.db.updateTable('runs').set({ status: 'failed' }).where('status', 'in', ['queued', 'running']).execute();
    for (const code of REGENCIES) {
      if (!(await t.db.selectFrom('sources').select('id').where('id', '=', `${code}-disnaker`).executeTakeFirst()))
        await insertSource(t.db, { id: `${code}-disnaker`, regionCode: code, last_content_hash: `hash-${code}` });
    }
    const { run } = await createRun(t.db, {
      scope: { kind: 'province', value: '16' },
      trigger: 'manual',
      requestedBy: 'test',
      asOf: '2026-11-27',
    });
    return run;
  };

  it('claims and finishes ten fetches at once in a few statements, each with its own row', async () => {
    const run = await newRun();
    const ledger = createFetchLedger(t.db, { windowMs: 5 });
    const claims = await Promise.all(REGENCIES.map((code) => ledger.claim(run.id, `${code}-disnaker`)));
    expect(claims.map((c) => c?.fetch.source_id)).toEqual(REGENCIES.map((c) => `${c}-disnaker`));
    expect(claims.map((c) => c?.source?.last_content_hash)).toEqual(REGENCIES.map((c) => `hash-${c}`));
    expect(
      claims.every((c) => c?.asOf === '2026-11-27' && c.fetch.status === 'running' && c.fetch.attempts === 1),
    ).toBe(true);
    expect((await getRun(t.db, run.id))?.status).toBe('running');

    const done = await Promise.all(
      claims.map((c, i) =>
        ledger.finish(
          c!.fetch.id,
          i % 2
            ? { status: 'unchanged', contentHash: `hash-${i}` }
            : { status: 'failed', errorCode: 'timeout', errorMessage: `slow ${i}` },
        ),
      ),
    );
    expect(done).toEqual(REGENCIES.map(() => true));
    const stats = ledger.stats();
    expect(stats).toMatchObject({ claims: 10, finishes: 10 });
    expect(stats.claimStatements).toBeLessThan(3);
    expect(stats.finishStatements).toBeLessThan(3);

    const rows = new Map((await listSourceFetches(t.db, run.id)).map((f) => [f.source_id, f]));
    REGENCIES.forEach((code, i) => {
      const f = rows.get(`${code}-disnaker`)!;
      expect(f.status).toBe(i % 2 ? 'unchanged' : 'failed');
      expect(f.error_message).toBe(i % 2 ? null : `slow ${i}`);
    });
    // A finished fetch is not claimed again, nor finished twice.
    expect(await ledger.claim(run.id, '16.01-disnaker')).toBeUndefined();
    expect(await ledger.finish(claims[0]!.fetch.id, { status: 'succeeded' })).toBe(false);
  });

  it('one row that PostgreSQL refuses fails alone; the others in its statement are recorded', async () => {
    const run = await newRun();
    const ledger = createFetchLedger(t.db, { windowMs: 5 });
    const claims = await Promise.all(REGENCIES.slice(0, 4).map((code) => ledger.claim(run.id, `${code}-disnaker`)));
    const results = await Promise.allSettled(
      claims.map((c, i) =>
        ledger.finish(c!.fetch.id, {
          status: 'succeeded',
          // PostgreSQL's jsonb refuses \u0000: this row's counts cannot be stored.
          counts: i === 2 ? ({ rows: 1, note: 'a\u0000b' } as unknown as { rows: number }) : { rows: i },
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const rows = new Map((await listSourceFetches(t.db, run.id)).map((f) => [f.source_id, f.status]));
    expect(REGENCIES.slice(0, 4).map((c) => rows.get(`${c}-disnaker`))).toEqual([
      'succeeded',
      'succeeded',
      'running',
      'succeeded',
    ]);
  });

  it('run.plan finishes pending fetches as unchanged in one statement, leaving claimed ones to their jobs', async () => {
    const run = await newRun();
    await t.db.updateTable('sources').set({ last_success_at: null }).execute();
    expect((await listPendingFetches(t.db, run.id)).map((p) => p.sourceId)).toEqual(
      REGENCIES.map((c) => `${c}-disnaker`),
    );
    const ledger = createFetchLedger(t.db);
    await ledger.claim(run.id, '16.02-disnaker');
    const marked = await markFetchesUnchanged(
      t.db,
      run.id,
      ['16.01', '16.02', '16.03'].map((c) => ({ sourceId: `${c}-disnaker`, contentHash: `hash-${c}`, probeMs: 3 })),
    );
    expect(marked.sort()).toEqual(['16.01-disnaker', '16.03-disnaker']);
    const rows = new Map((await listSourceFetches(t.db, run.id)).map((f) => [f.source_id, f]));
    expect(rows.get('16.01-disnaker')).toMatchObject({ status: 'unchanged', content_hash: 'hash-16.01' });
    expect(rows.get('16.02-disnaker')?.status).toBe('running');
    const stamped = await t.db.selectFrom('sources').select(['id', 'last_success_at']).execute();
    expect(
      stamped
        .filter((s) => s.last_success_at !== null)
        .map((s) => s.id)
        .sort(),
    ).toEqual(['16.01-disnaker', '16.03-disnaker']);
    expect((await listPendingFetches(t.db, run.id)).map((p) => p.sourceId)).not.toContain('16.01-disnaker');
  });
});
