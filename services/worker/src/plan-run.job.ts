import { setMaxListeners } from 'node:events';
import { createConnector, type ConnectorDeps, type FetchLimits, type Validators } from '@pksync/connectors';
import { getRun, listPendingFetches, markFetchesUnchanged, toSourceWithToken, type Db } from '@pksync/db';
import { PermanentError, type JobHandler, type QueueClient } from '@pksync/queue';

export interface PlanRunDeps {
  db: Db;
  tokenKey: Buffer | undefined;
  connectorDeps: ConnectorDeps;
  limits: Partial<FetchLimits>;
  queues: Pick<QueueClient, 'addFetches'>;
  /** Probes in flight at once (default 32). */
  probeConcurrency?: number;
  /** Longest wait for one probe's answer; a slower agency is fetched as usual (default 10 s). */
  probeTimeoutMs?: number;
}

/** What a `run.plan` job returns (kept on the job, shown by the dashboard). */
export interface PlanRunSummary {
  status: 'planned' | 'run_finished';
  /** Sources still to fetch when the plan started. */
  sources: number;
  /** Sources asked with conditional GETs, and those of them found unchanged (no job). */
  probed: number;
  unchanged: number;
  /** `source.fetch` jobs added. */
  fetchJobs: number;
}

/**
 * `run.plan`: the first job of a run. Every source of the run gets a `source.fetch` child of the
 * run's `run.reconcile` parent, except a source whose connector can tell cheaply that the snapshot
 * is still the reconciled one (`Connector.probe`: a `csv`/`xlsx` source whose files all answer 304
 * Not Modified to the validators they came with, an `upload` source whose latest upload is the
 * reconciled one): that source is finished `unchanged` here — the outcome its fetch job would have
 * recorded, without the job.
 *
 * A source with a held removal (R8), without a reconciled snapshot or validators, an `api` source
 * (its API has no validators), or one whose probe fails or times out, is fetched by its own job as
 * usual (retries, R9). Each job is
 * added as soon as its source is known to need it, so a slow agency holds back no other source.
 * Safe to run twice: jobs have deterministic ids and only pending fetches are marked.
 */
export function planRunHandler(deps: PlanRunDeps): JobHandler<'run.plan'> {
  const { db, queues } = deps;
  const concurrency = deps.probeConcurrency ?? 32;
  const probeTimeoutMs = deps.probeTimeoutMs ?? 10_000;
  const probeLimits: Partial<FetchLimits> = {
    ...deps.limits,
    attempts: 1,
    requestTimeoutMs: probeTimeoutMs,
    fetchTimeoutMs: probeTimeoutMs,
  };
  return async ({ runId }, ctx): Promise<PlanRunSummary> => {
    const run = await getRun(db, runId);
    if (!run) throw new PermanentError(`run ${runId} does not exist`);
    if (run.status === 'completed' || run.status === 'failed') {
      return { status: 'run_finished', sources: 0, probed: 0, unchanged: 0, fetchJobs: 0 };
    }
    const planStarted = performance.now();
    const pending = await listPendingFetches(db, runId);
    const probeable: { sourceId: string; contentHash: string; validators: Record<string, Validators> }[] = [];
    const direct: string[] = [];
    for (const p of pending) {
      const row = p.source;
      // R8: with a held removal open the same snapshot must be reconciled again: never skipped.
      const canProbe =
        row !== undefined &&
        !p.heldRemovalOpen &&
        row.last_content_hash !== null &&
        (row.transport === 'upload' ||
          ((row.transport === 'csv' || row.transport === 'xlsx') && row.last_validators !== null));
      if (canProbe) {
        probeable.push({
          sourceId: p.sourceId,
          contentHash: row.last_content_hash!,
          validators: (row.last_validators ?? {}) as Record<string, Validators>,
        });
      } else direct.push(p.sourceId);
    }
    await queues.addFetches(runId, direct);
    let fetchJobs = direct.length;

    const rows = new Map(pending.map((p) => [p.sourceId, p.source]));
    const unchanged: { sourceId: string; contentHash: string; probeMs: number }[] = [];
    let next = 0;
    const probeOne = async (p: (typeof probeable)[number]): Promise<boolean> => {
      try {
        const source = toSourceWithToken(rows.get(p.sourceId)!, deps.tokenKey);
        const connector = createConnector(source.transport, deps.connectorDeps);
        if (!connector.probe) return false;
        return await connector.probe(source, {
          signal: ctx.signal,
          contentHash: p.contentHash,
          validators: p.validators,
          limits: probeLimits,
          log: ctx.log,
        });
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        return false; // its own job fetches it, with retries, and reports what is wrong
      }
    };
    // Each probe in flight listens to the job's signal (to stop at shutdown): one per lane.
    setMaxListeners(concurrency + 10, ctx.signal);
    await Promise.all(
      Array.from({ length: Math.min(concurrency, probeable.length) }, async () => {
        while (next < probeable.length) {
          const p = probeable[next++]!;
          const started = performance.now();
          if (await probeOne(p)) {
            unchanged.push({
              sourceId: p.sourceId,
              contentHash: p.contentHash,
              probeMs: Math.round(performance.now() - started),
            });
          } else {
            await queues.addFetches(runId, [p.sourceId]);
            fetchJobs++;
          }
        }
      }),
    );
    const marked = await markFetchesUnchanged(db, runId, unchanged);
    const summary: PlanRunSummary = {
      status: 'planned',
      sources: pending.length,
      probed: probeable.length,
      unchanged: marked.length,
      fetchJobs,
    };
    ctx.log.info(
      { ...summary, ms: Math.round(performance.now() - planStarted) },
      'run planned: unchanged sources finished, the others queued for fetching',
    );
    return summary;
  };
}
