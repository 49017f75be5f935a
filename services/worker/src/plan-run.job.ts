import { setMaxListeners } from 'node:events';
import { createConnector, type ConnectorDeps, type FetchLimits, type Validators } from '@pksync/connectors';
import {
  getRun,
  isRunActive,
  listPendingFetches,
  markFetchesUnchanged,
  toSourceWithToken,
  type Db,
  type PendingFetch,
  type Run,
} from '@pksync/db';
import { PermanentError, type JobContext, type JobHandler, type QueueClient } from '@pksync/queue';

export interface PlanRunDeps {
  db: Db;
  tokenKey: Buffer | undefined;
  connectorDeps: ConnectorDeps;
  limits: Partial<FetchLimits>;
  /** As `FetchSourceDeps.formationFromYear`: an `api` probe asks the pages its fetch would. */
  formationFromYear?: number;
  queues: Pick<QueueClient, 'addFetches' | 'addProbes'>;
  /** Probes in flight at once in one job (default 32). */
  probeConcurrency?: number;
  /** Longest wait for one probe's answer; a slower agency is fetched as usual (default 10 s). */
  probeTimeoutMs?: number;
  /** Sources per `run.probe` part; a run with no more than this many to ask is asked by the plan itself (default 32). */
  probePart?: number;
}

/** What a `run.plan` job returns (kept on the job, shown by the dashboard). */
export interface PlanRunSummary {
  status: 'planned' | 'run_finished';
  /** Sources still to fetch when the plan started. */
  sources: number;
  /** Sources to be asked without a job (`Connector.probe`): by the plan itself, or by its `run.probe` parts. */
  probed: number;
  /** Of those asked by the plan itself, found unchanged (no job). */
  unchanged: number;
  /** `source.fetch` jobs added by the plan. */
  fetchJobs: number;
  /** `run.probe` parts added (0: the plan asked them itself). */
  probeJobs: number;
}

/** What a `run.probe` job returns. */
export interface ProbeRunSummary {
  status: 'probed' | 'run_finished';
  /** Sources of the part still pending when it started. */
  sources: number;
  unchanged: number;
  fetchJobs: number;
}

/**
 * `run.plan`: the first job of a run. Every source of the run gets a `source.fetch` child of the
 * run's `run.reconcile` parent, except a source whose connector can tell, without a job, that the
 * snapshot is still the reconciled one (`Connector.probe`: a `csv`/`xlsx` source whose files all
 * answer 304 Not Modified to the validators they came with, an `upload` source whose latest upload
 * is the reconciled one, an `api` source whose pages hash to the reconciled snapshot): that source
 * is finished `unchanged` — the outcome its fetch job would have recorded, without the job.
 *
 * The plan asks up to `probePart` sources itself; more (a national night) are split into
 * `run.probe` children of that many each, so every worker process asks its share.
 *
 * A source with a held removal (R8), without a reconciled snapshot (or, for a file source,
 * validators), or one whose probe fails, times out or finds a change, is fetched by its own job as
 * usual (retries, R9; a changed `api` source is downloaded again by its job). Each job is added as
 * soon as its source is known to need it, so a slow agency holds back no other source.
 * Safe to run twice: jobs have deterministic ids and only pending fetches are marked.
 */
export function planRunHandler(deps: PlanRunDeps): JobHandler<'run.plan'> {
  const { db, queues } = deps;
  const partSize = Math.max(1, deps.probePart ?? 32);
  return async ({ runId, gen }, ctx): Promise<PlanRunSummary> => {
    const run = await getRun(db, runId);
    if (!run) throw new PermanentError(`run ${runId} does not exist`);
    // A finished run, or a flow the run was resumed past (its newer flow plans instead).
    if (!isRunActive(run.status) || run.generation !== (gen ?? 0)) {
      return { status: 'run_finished', sources: 0, probed: 0, unchanged: 0, fetchJobs: 0, probeJobs: 0 };
    }
    const started = performance.now();
    const pending = await listPendingFetches(db, runId);
    const probeable = pending.filter(canProbe);
    const direct = pending.filter((p) => !canProbe(p)).map((p) => p.sourceId);
    await queues.addFetches(runId, direct, gen);
    let summary: PlanRunSummary;
    if (probeable.length <= partSize) {
      const asked = await probeSources(deps, run, probeable, ctx);
      summary = {
        status: 'planned',
        sources: pending.length,
        probed: probeable.length,
        unchanged: asked.unchanged,
        fetchJobs: direct.length + asked.fetchJobs,
        probeJobs: 0,
      };
    } else {
      const parts: string[][] = [];
      for (let i = 0; i < probeable.length; i += partSize) {
        parts.push(probeable.slice(i, i + partSize).map((p) => p.sourceId));
      }
      await queues.addProbes(runId, parts, gen);
      summary = {
        status: 'planned',
        sources: pending.length,
        probed: probeable.length,
        unchanged: 0,
        fetchJobs: direct.length,
        probeJobs: parts.length,
      };
    }
    ctx.log.info(
      { ...summary, ms: Math.round(performance.now() - started) },
      'run planned: sources to fetch queued, the others asked whether they changed',
    );
    return summary;
  };
}

/**
 * `run.probe`: asks one part of a run's sources (see {@link planRunHandler}). A source no longer
 * pending (its job or an earlier attempt of this part finished it) is left alone.
 */
export function probeRunHandler(deps: PlanRunDeps): JobHandler<'run.probe'> {
  const { db } = deps;
  return async ({ runId, sourceIds, gen }, ctx): Promise<ProbeRunSummary> => {
    const run = await getRun(db, runId);
    if (!run) throw new PermanentError(`run ${runId} does not exist`);
    if (!isRunActive(run.status) || run.generation !== (gen ?? 0)) {
      return { status: 'run_finished', sources: 0, unchanged: 0, fetchJobs: 0 };
    }
    const started = performance.now();
    const pending = await listPendingFetches(db, runId, sourceIds);
    // Still probeable (a removal may have been held since the plan): else fetched as usual.
    const direct = pending.filter((p) => !canProbe(p)).map((p) => p.sourceId);
    await deps.queues.addFetches(runId, direct, gen);
    const asked = await probeSources(deps, run, pending.filter(canProbe), ctx);
    const summary: ProbeRunSummary = {
      status: 'probed',
      sources: pending.length,
      unchanged: asked.unchanged,
      fetchJobs: direct.length + asked.fetchJobs,
    };
    ctx.log.info({ ...summary, ms: Math.round(performance.now() - started) }, 'sources asked whether they changed');
    return summary;
  };
}

/**
 * Whether a pending source may be asked instead of fetched: it has a reconciled snapshot (and,
 * for a file source, the validators that came with it), and no held removal (R8: the same
 * snapshot must then be reconciled again, never skipped).
 */
function canProbe(p: PendingFetch): boolean {
  const row = p.source;
  return (
    row !== undefined &&
    !p.heldRemovalOpen &&
    row.last_content_hash !== null &&
    (row.transport === 'upload' ||
      row.transport === 'api' ||
      ((row.transport === 'csv' || row.transport === 'xlsx') && row.last_validators !== null))
  );
}

/**
 * Asks `sources` (`probeConcurrency` at a time; one attempt, `probeTimeoutMs` each): the
 * unchanged ones are finished `unchanged` in one statement at the end, every other one gets its
 * `source.fetch` job at once. A probe that fails is not an outcome: that source gets its job,
 * which retries and reports what is wrong.
 */
async function probeSources(
  deps: PlanRunDeps,
  run: Run,
  sources: readonly PendingFetch[],
  ctx: JobContext,
): Promise<{ unchanged: number; fetchJobs: number }> {
  const concurrency = deps.probeConcurrency ?? 32;
  const probeTimeoutMs = deps.probeTimeoutMs ?? 10_000;
  const limits: Partial<FetchLimits> = {
    ...deps.limits,
    attempts: 1,
    requestTimeoutMs: probeTimeoutMs,
    fetchTimeoutMs: probeTimeoutMs,
  };
  const unchanged: { sourceId: string; contentHash: string; probeMs: number }[] = [];
  let fetchJobs = 0;
  const probeOne = async (p: PendingFetch): Promise<boolean> => {
    try {
      const source = toSourceWithToken(p.source!, deps.tokenKey);
      const connector = createConnector(source.transport, deps.connectorDeps);
      if (!connector.probe) return false;
      return await connector.probe(source, {
        signal: ctx.signal,
        asOf: run.as_of,
        ...(deps.formationFromYear !== undefined ? { formationFromYear: deps.formationFromYear } : {}),
        contentHash: p.source!.last_content_hash!,
        validators: (p.source!.last_validators ?? {}) as Record<string, Validators>,
        limits,
        log: ctx.log,
      });
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      return false;
    }
  };
  // Each probe in flight listens to the job's signal (to stop at shutdown): one per lane.
  setMaxListeners(concurrency + 10, ctx.signal);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, sources.length) }, async () => {
      while (next < sources.length) {
        const p = sources[next++]!;
        const started = performance.now();
        if (await probeOne(p)) {
          unchanged.push({
            sourceId: p.sourceId,
            contentHash: p.source!.last_content_hash!,
            probeMs: Math.round(performance.now() - started),
          });
        } else {
          await deps.queues.addFetches(run.id, [p.sourceId], run.generation);
          fetchJobs++;
        }
      }
    }),
  );
  const marked = await markFetchesUnchanged(deps.db, run.id, unchanged);
  return { unchanged: marked.length, fetchJobs };
}
