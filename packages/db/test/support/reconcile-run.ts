import { randomUUID } from 'node:crypto';
import type { SnapshotResult } from '@pksync/core';
import type { Db } from '../../src/db.ts';
import { stageSnapshot } from '../../src/repositories/staging.repository.ts';
import { reconcileRun, type ReconcileInput, type ReconcileResult } from '../../src/reconcile/reconcile.ts';

export type RunScope = { kind: 'national' } | { kind: 'region' | 'province' | 'source'; value: string };

/**
 * One run as the pipeline would leave it for its reconciliation: the `runs` row (scope, `asOf`),
 * a finished fetch per source given — its snapshot staged, or `'unchanged'` — then `reconcileRun`
 * and the run marked completed.
 */
export async function reconcileFetches(
  db: Db,
  input: {
    asOf: string;
    fetches: Record<string, SnapshotResult | 'unchanged'>;
    scope?: RunScope;
    needs?: ReconcileInput['needs'];
  },
): Promise<ReconcileResult & { runId: string }> {
  const { asOf, fetches, scope = { kind: 'national' }, needs } = input;
  const runId = (
    await db
      .insertInto('runs')
      .values({
        scope_kind: scope.kind,
        scope_value: scope.kind === 'national' ? null : scope.value,
        scope_key: `test:${randomUUID()}`,
        trigger: 'manual',
        as_of: asOf,
        status: 'running',
      })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
  for (const [sourceId, spec] of Object.entries(fetches)) {
    const f = await db
      .insertInto('source_fetches')
      .values({
        run_id: runId,
        source_id: sourceId,
        status: spec === 'unchanged' ? 'unchanged' : 'succeeded',
        attempts: 1,
        started_at: new Date(),
        finished_at: new Date(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (spec !== 'unchanged') await stageSnapshot(db, { runId, sourceId, fetchId: f.id, result: spec });
  }
  const r = await reconcileRun(db, { runId, asOf, ...(needs ? { needs } : {}) });
  await db.updateTable('runs').set({ status: 'completed' }).where('id', '=', runId).execute();
  return { ...r, runId };
}
