import {
  addRunCounts,
  commitContentHashes,
  completeRun,
  failUnfinishedFetches,
  getRun,
  reconcileRun,
  type Db,
  type RunCounts,
} from '@pksync/db';
import { PermanentError, type JobHandler } from '@pksync/queue';

/** The hook helper-6's alert outbox plugs into: called inside the reconciliation transaction. */
export type AfterFindingsHook = (
  trx: Db,
  info: { runId: string; openedFindingIds: number[]; resolvedFindingIds: number[] },
) => Promise<void>;

export interface ReconcileRunDeps {
  db: Db;
  afterFindings?: AfterFindingsHook;
}

export interface ReconcileRunSummary {
  status: 'completed' | 'already_completed' | 'already_failed';
  version: number | null;
  counts: Partial<RunCounts>;
}

/**
 * `run.reconcile`, the parent of a run's flow: runs after every `source.fetch` child. Fetches that
 * never finished are failed first (R9 keeps those sources' entries), then R8–R14 run in one
 * transaction (helper-4's `reconcileRun`), which also marks the run completed and remembers the
 * reconciled content hashes, so a retried job after a crash never publishes twice.
 */
export function reconcileRunHandler(deps: ReconcileRunDeps): JobHandler<'run.reconcile'> {
  const { db } = deps;
  return async ({ runId }, ctx): Promise<ReconcileRunSummary> => {
    const run = await getRun(db, runId);
    if (!run) throw new PermanentError(`run ${runId} does not exist`);
    if (run.status === 'failed') return { status: 'already_failed', version: null, counts: {} };
    if (run.status === 'completed') {
      // A retried execution after the transaction had committed: the outcome is already stored.
      return { status: 'already_completed', version: run.version_published, counts: run.counts as Partial<RunCounts> };
    }
    const lost = await failUnfinishedFetches(
      db,
      runId,
      'the fetch job did not finish (it failed after its attempts or was lost)',
    );
    if (lost > 0) ctx.log.warn({ lost }, 'fetches that never finished are failed (R9)');

    const started = performance.now();
    const result = await reconcileRun(db, {
      runId,
      asOf: run.as_of,
      hooks: {
        afterFindings: async (trx, info) => {
          await commitContentHashes(trx, runId);
          const done = await completeRun(trx, runId, {
            opened: info.openedFindingIds.length,
            resolved: info.resolvedFindingIds.length,
          });
          if (!done) throw new Error(`run ${runId} is no longer active (completed or failed elsewhere)`);
          if (deps.afterFindings) await deps.afterFindings(trx, info);
        },
      },
    });
    const reconcileMs = Math.round(performance.now() - started);
    await addRunCounts(db, runId, { reconcileMs });
    const after = await getRun(db, runId);
    if (after?.status !== 'completed') throw new Error(`run ${runId} was reconciled but not marked completed`);
    const counts = (after?.counts ?? {}) as Partial<RunCounts>;
    ctx.log.info(
      { version: result.version, counts, phasesMs: result.timings },
      result.version ? 'run completed, version published' : 'run completed, nothing changed',
    );
    return { status: 'completed', version: result.version, counts };
  };
}
