import { describe, expect, it } from 'vitest';
import { jobCatalog, JOB_NAMES, parsePayload, isJobName } from './catalog.ts';
import { jobOptions } from './producer.ts';

const runId = '5a644a13-1241-401e-a64d-fb09e50f68f0';

describe('job catalog', () => {
  it('gives every job a deterministic id without ":" (BullMQ forbids it)', () => {
    const a = jobOptions('source.fetch', { runId, sourceId: '16.71-disnaker' });
    const b = jobOptions('source.fetch', { runId, sourceId: '16.71-disnaker' });
    expect(a.jobId).toBe(b.jobId);
    expect(a.jobId).toBe(`fetch-${runId}-16.71-disnaker`);
    expect(jobOptions('run.reconcile', { runId }).jobId).toBe(`reconcile-${runId}`);
    for (const name of JOB_NAMES) {
      const def = jobCatalog[name];
      expect(def.attempts).toBeGreaterThan(0);
      expect(String((def.jobId as (p: unknown) => string)({ runId, sourceId: 'x' }))).not.toContain(':');
    }
  });

  it('rejects a bad payload naming the field', () => {
    expect(() => parsePayload('run.reconcile', { runId: 'not-a-uuid' })).toThrow(/runId/);
    expect(() => parsePayload('source.fetch', { runId })).toThrow(/sourceId/);
    expect(parsePayload('source.fetch', { runId, sourceId: 's', extra: 1 })).toEqual({ runId, sourceId: 's' });
  });

  it('knows its job names', () => {
    expect(isJobName('source.fetch')).toBe(true);
    expect(isJobName('toString')).toBe(false);
  });
});

describe('job ids across generations', () => {
  it('a resumed run’s jobs have ids of their own; generation 0 keeps the ids jobs always had', () => {
    expect(jobOptions('run.reconcile', { runId }).jobId).toBe(`reconcile-${runId}`);
    expect(jobOptions('run.reconcile', { runId, gen: 0 }).jobId).toBe(`reconcile-${runId}`);
    expect(jobOptions('run.reconcile', { runId, gen: 2 }).jobId).toBe(`reconcile-${runId}-g2`);
    expect(jobOptions('source.fetch', { runId, sourceId: '16.71-disnaker', gen: 1 }).jobId).toBe(
      `fetch-${runId}-16.71-disnaker-g1`,
    );
    expect(jobOptions('run.probe', { runId, part: 3, sourceIds: ['a'], gen: 1 }).jobId).toBe(`probe-${runId}-3-g1`);
    expect(jobOptions('run.plan', { runId, gen: 1 }).jobId).toBe(`plan-${runId}-g1`);
  });
});
