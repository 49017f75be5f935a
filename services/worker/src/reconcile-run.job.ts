import {
  commitContentHashes,
  failUnfinishedFetches,
  fetchTotals,
  getRun,
  markRunCompleted,
  reconcileRun,
  setRunOutcome,
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
      // A retried execution after the transaction had committed: only the outcome may be missing.
      const published = await db
        .selectFrom('publications')
        .select('version')
        .where('run_id', '=', runId)
        .executeTakeFirst();
      const counts = { ...(run.counts as Partial<RunCounts>), ...(await fetchTotals(db, runId)) };
      await setRunOutcome(db, runId, { counts, versionPublished: published?.version ?? null });
      return { status: 'already_completed', version: published?.version ?? null, counts };
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
          if (!(await markRunCompleted(trx, runId))) throw new Error(`run ${runId} is no longer active`);
          if (deps.afterFindings) await deps.afterFindings(trx, info);
        },
      },
    });
    const after = await getRun(db, runId);
    if (after?.status !== 'completed') {
      // The hook is only a convenience for atomicity; never leave a reconciled run active.
      await commitContentHashes(db, runId);
      await markRunCompleted(db, runId);
    }
    const reconcileMs = Math.round(performance.now() - started);
    const counts: Partial<RunCounts> & { reconcileMs: number } = {
      ...(await fetchTotals(db, runId)),
      ...result.counts,
      findingsOpened: result.findings.opened,
      findingsResolved: result.findings.resolved,
      reconcileMs,
    };
    await setRunOutcome(db, runId, { counts, versionPublished: result.version });
    ctx.log.info(
      { version: result.version, counts },
      result.version ? 'run completed, version published' : 'run completed, nothing changed',
    );
    return { status: 'completed', version: result.version, counts };
  };
}
