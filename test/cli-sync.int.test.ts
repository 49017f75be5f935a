import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createTestDatabase, useTestDatabase, useTestRedis } from '@pksync/testing';
import { start as startWorker, type RunningWorker } from '@pksync/worker';
import type { Simulator } from '@pksync/simulator';
import type { Config } from '@pksync/config';
import { FAST_FETCH, pksync, simulatorWithSources, testConfig, serviceEnv } from './support/harness.ts';

describe('pksync sync / runs / migrate', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let config: Config;
  let sim: Simulator;
  let worker: RunningWorker;
  let env: Record<string, string>;

  beforeAll(async () => {
    config = testConfig(t, r);
    sim = await simulatorWithSources(t.db, config);
    worker = await startWorker(config, { fetchLimits: FAST_FETCH });
    env = serviceEnv(config);
  });
  afterAll(async () => {
    await worker?.close();
    await sim?.close();
  });

  it('sync --province 16 --wait prints plain progress lines and a summary, exit 0', async () => {
    const { code, out } = await pksync(
      ['sync', '--province', '16', '--as-of', '2026-06-01', '--wait', '--reason', 'uji'],
      env,
    );
    expect(out).toMatch(/run [0-9a-f-]{36} queued: province:16, 18 sources, as_of 2026-06-01/);
    expect(out).toMatch(/sources \d+\/18 done/);
    expect(out).toMatch(/\(province:16, as_of 2026-06-01\): completed in/);
    expect(out).toMatch(/published version 1: \+\d+ added/);
    expect(code).toBe(0);
    const id = /run ([0-9a-f-]{36}) queued/.exec(out)![1]!;
    const run = await t.db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(run).toMatchObject({ trigger: 'manual', reason: 'uji', scope_key: 'province:16' });
    expect(run.requested_by).toMatch(/^cli(:.+)?$/);
  });

  it('runs --last 5 prints one line per run, the latest five, newest first', async () => {
    // A database of its own with six runs, the newest a completed `pksync sync --province 16`.
    const own = await createTestDatabase();
    onTestFinished(() => own.drop());
    const scopes = ['region:16.01', 'region:16.02', 'region:16.03', 'region:16.04', 'region:16.05', 'province:16'];
    for (const [i, scopeKey] of scopes.entries()) {
      const [kind, value] = scopeKey.split(':') as ['region' | 'province', string];
      await own.db
        .insertInto('runs')
        .values({
          scope_kind: kind,
          scope_value: value,
          scope_key: scopeKey,
          trigger: 'manual',
          requested_by: 'cli:test',
          reason: 'uji',
          as_of: '2026-06-01',
          status: 'completed',
          schedule_slot: null,
          version_published: null,
          error: null,
          created_at: new Date(Date.UTC(2026, 5, 1, 2, i)),
          started_at: new Date(Date.UTC(2026, 5, 1, 2, i)),
          finished_at: new Date(Date.UTC(2026, 5, 1, 2, i, 30)),
        })
        .execute();
    }
    const { code, out } = await pksync(['runs', '--last', '5'], { ...env, DATABASE_URL: own.url });
    expect(code).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines.map((l) => /(province|region):[\d.]+/.exec(l)?.[0])).toEqual(scopes.slice(1).reverse());
    expect(lines[0]).toMatch(/province:16 +manual\(cli.*\) +as_of 2026-06-01 +completed/);
  });

  it('a bad scope is refused with a message naming it, exit 2, no run', async () => {
    const runs = () => t.db.selectFrom('runs').select('id').execute();
    const before = await runs();
    const bad = await pksync(['sync', '--region', '99.99'], env);
    expect(bad.code).toBe(2);
    expect(bad.out).toMatch(/--region: "99.99" is not a region code/);
    const two = await pksync(['sync', '--province', '16', '--region', '16.71'], env);
    expect(two.code).toBe(2);
    expect(two.out).toMatch(/give one scope only/);
    const none = await pksync(['sync', '--source', 'no-such-source'], env);
    expect(none.code).toBe(2);
    expect(none.out).toMatch(/unknown source "no-such-source"/);
    // Dates that match the pattern but are not calendar dates.
    for (const asOf of ['2026-02-30', '0000-01-01', '2026-13-01']) {
      const bad = await pksync(['sync', '--region', '16.71', '--as-of', asOf], env);
      expect([asOf, bad.code]).toEqual([asOf, 2]);
      expect(bad.out).toMatch(/--as-of must be a calendar date/);
    }
    expect(await runs()).toEqual(before);
  });

  it('migrate on an up-to-date database applies nothing and prints the reference summary', async () => {
    const { code, out } = await pksync(['migrate'], env);
    expect(code).toBe(0);
    expect(out).toContain('schema is up to date');
    expect(out).toMatch(/reference data: 552 regions, 4 levels, 17 grades/);
  });
});
