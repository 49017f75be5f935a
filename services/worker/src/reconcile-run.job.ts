import {
  addRunCounts,
  commitContentHashes,
  completeRun,
  failUnfinishedFetches,
  getRun,
  reconcileRun,
  repairLostStaging,
  StagedRowsLostError,
  stagingSentinelPresent,
  type Db,
  type RunCounts,
} from '@pksync/db';
import type { PipelineMetrics } from '@pksync/metrics';
import { PermanentError, resumeRun, type JobHandler, type QueueClient } from '@pksync/queue';

/**
 * R15: writes the run's alert digests to the outbox, inside the reconciliation transaction after
 * the run is completed (the worker's default: `writeDigestOutboxIsolated` of `@pksync/notify`).
 */
export type WriteAlerts = (
  trx: Db,
  info: { runId: string; openedFindingIds: number[]; resolvedFindingIds: number[] },
) => Promise<void>;

export interface ReconcileRunDeps {
  db: Db;
  /** Resumes a run whose staged rows were lost (its fresh flow is enqueued here). */
  queues: Pick<QueueClient, 'enqueueRun'>;
  writeAlerts?: WriteAlerts;
  /** R16's tolerance and R17's start year (`config.needs`); the core defaults without. */
  needs?: { tolerance: number; formationStartYear: number };
  /** Reconcile phase durations and finished runs, recorded as each run completes. */
  metrics?: Pick<PipelineMetrics, 'reconcilePhaseDuration' | 'runsFinished'>;
}

export interface ReconcileRunSummary {
  status: 'completed' | 'already_completed' | 'already_failed' | 'already_cancelled' | 'superseded' | 'resumed';
  version: number | null;
  counts: Partial<RunCounts>;
}

/**
 * `run.reconcile`, the parent of a run's flow: runs after every `source.fetch` child. Fetches that
 * never finished are failed first (R9 keeps those sources' entries); then, in one transaction and
 * in this order: R8–R14 (`reconcileRun`), the reconciled content hashes (`commitContentHashes`),
 * the run completed with its counts (`completeRun`) and the alert outbox (R15). A retried job
 * after a crash finds the run completed and never publishes twice.
 */
export function reconcileRunHandler(deps: ReconcileRunDeps): JobHandler<'run.reconcile'> {
  const { db } = deps;
  return async ({ runId, gen }, ctx): Promise<ReconcileRunSummary> => {
    const run = await getRun(db, runId);
    if (!run) throw new PermanentError(`run ${runId} does not exist`);
    if (run.status === 'failed') return { status: 'already_failed', version: null, counts: {} };
    if (run.status === 'cancelled') return { status: 'already_cancelled', version: null, counts: {} };
    if (run.status === 'completed') {
      // A retried execution after the transaction had committed: the outcome is already stored.
      return { status: 'already_completed', version: run.version_published, counts: run.counts as Partial<RunCounts> };
    }
    // The run was resumed since this flow began: its newer flow reconciles it.
    if (run.generation !== (gen ?? 0)) return { status: 'superseded', version: null, counts: {} };
    // Staged rows lost to a PostgreSQL crash: fetch those sources again instead of failing the run
    // (found by the sentinel here, or by the reconcile's own check of its sources' rows).
    const resume = async (why: Record<string, unknown>): Promise<ReconcileRunSummary> => {
      const resumed = await resumeRun(db, deps.queues, runId, { by: 'worker', expectGeneration: run.generation });
      ctx.log.warn(
        { ...why, generation: resumed?.generation },
        'staged rows were lost (PostgreSQL crash): the run is resumed, those sources are fetched again',
      );
      return { status: resumed?.resumed ? 'resumed' : 'superseded', version: null, counts: {} };
    };
    const repair = (await stagingSentinelPresent(db)) ? undefined : await repairLostStaging(db);
    if (repair?.runs.includes(runId)) return resume({ repair });
    const lost = await failUnfinishedFetches(
      db,
      runId,
      'the fetch job did not finish (it failed after its attempts or was lost)',
    );
    if (lost > 0) ctx.log.warn({ lost }, 'fetches that never finished are failed (R9)');

    const started = performance.now();
    let result;
    try {
      result = await db.transaction().execute(async (trx) => {
        const r = await reconcileRun(trx, { runId, asOf: run.as_of, needs: deps.needs });
        await commitContentHashes(trx, runId);
        const done = await completeRun(trx, runId, { opened: r.findings.opened, resolved: r.findings.resolved });
        if (!done) throw new Error(`run ${runId} is no longer active (completed or failed elsewhere)`);
        await deps.writeAlerts?.(trx, {
          runId,
          openedFindingIds: r.findings.openedIds,
          resolvedFindingIds: r.findings.resolvedIds,
        });
        return r;
      });
    } catch (e) {
      if (e instanceof StagedRowsLostError) return resume({ lostStaged: e.sources });
      throw e;
    }
    const reconcileMs = Math.round(performance.now() - started);
    await addRunCounts(db, runId, { reconcileMs });
    const after = await getRun(db, runId);
    if (after?.status !== 'completed') throw new Error(`run ${runId} was reconciled but not marked completed`);
    const counts = (after?.counts ?? {}) as Partial<RunCounts>;
    if (deps.metrics) {
      for (const [phase, ms] of Object.entries(result.timings))
        deps.metrics.reconcilePhaseDuration.observe({ phase }, ms / 1000);
      deps.metrics.runsFinished.inc({ status: 'completed', scope: run.scope_kind });
    }
    ctx.log.info(
      { version: result.version, counts, phasesMs: result.timings },
      result.version ? 'run completed, version published' : 'run completed, nothing changed',
    );
    return { status: 'completed', version: result.version, counts };
  };
}
