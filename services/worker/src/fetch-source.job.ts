import { activityCodes, createSnapshotNormaliser, type SnapshotResult } from '@pksync/core';
import {
  createConnector,
  isFetchError,
  type ConnectorDeps,
  type FetchLimits,
  type RawSnapshotInfo,
  type Validators,
} from '@pksync/connectors';
import {
  needParametersInForce,
  noteFetchAttemptError,
  stageSnapshot,
  toSourceWithToken,
  type Db,
  type FetchLedger,
} from '@pksync/db';
import type { PipelineMetrics } from '@pksync/metrics';
import { PermanentError, RetryableError, scrubSecrets, type JobHandler } from '@pksync/queue';

export interface FetchSourceDeps {
  db: Db;
  /** Claims and outcomes, shared with the jobs running at the same time in this process. */
  ledger: FetchLedger;
  tokenKey: Buffer | undefined;
  connectorDeps: ConnectorDeps;
  limits: Partial<FetchLimits>;
  /** R17: `api` sources are asked the formations of every year from this one (`config.needs.formationStartYear`). */
  formationFromYear?: number;
  /** Fetch durations and records by outcome and code, recorded as each fetch finishes. */
  metrics?: Pick<PipelineMetrics, 'fetchDuration' | 'records' | 'recordRejections'>;
}

/** What a `source.fetch` job returns (kept on the job, shown by the dashboard). */
export interface FetchSourceSummary {
  status: 'succeeded' | 'unchanged' | 'failed' | 'already_done';
  counts?: Record<string, number>;
  errorCode?: string;
}

const message = (e: unknown) => scrubSecrets(e instanceof Error ? e.message : String(e));

/**
 * `source.fetch`: fetch → normalise (R1–R7) → stage one source for one run.
 *
 * R9: a fetch that still fails after its attempts marks the source's fetch failed and the job
 * completes, so one failed source never fails the run. The content hash is the sha256 of the
 * snapshot's raw bytes (files, or API pages in order), known once it is downloaded: when it equals
 * the source's last reconciled one the snapshot is `unchanged` and is not even parsed, staged or
 * reconciled again — unless the source has a held removal open (R8: the same snapshot again must
 * be reconciled, which applies the removal).
 */
export function fetchSourceHandler(deps: FetchSourceDeps): JobHandler<'source.fetch'> {
  const { db, ledger } = deps;
  return async ({ runId, sourceId, gen }, ctx): Promise<FetchSourceSummary> => {
    const claimed = await ledger.claim(runId, sourceId, gen ?? 0);
    if (!claimed) {
      ctx.log.info('fetch already finished, or its run finished or resumed since: nothing to do');
      return { status: 'already_done' };
    }
    const fetchRow = claimed.fetch;
    const begun = performance.now();
    const observe = (outcome: 'succeeded' | 'unchanged' | 'failed') =>
      deps.metrics?.fetchDuration.observe(
        { transport: claimed.source?.transport ?? 'unknown', outcome },
        (performance.now() - begun) / 1000,
      );
    const fail = async (errorCode: string, errorMessage: string): Promise<FetchSourceSummary> => {
      await ledger.finish(fetchRow.id, { status: 'failed', errorCode, errorMessage });
      observe('failed');
      ctx.log.warn({ errorCode, error: errorMessage }, 'source failed (R9: its published entries stay, marked stale)');
      return { status: 'failed', errorCode };
    };

    const asOf = claimed.asOf;
    if (asOf === null) throw new PermanentError(`run ${runId} does not exist`);
    const row = claimed.source;
    if (!row) return fail('source_missing', `source ${sourceId} no longer exists`);
    let source;
    try {
      source = toSourceWithToken(row, deps.tokenKey);
    } catch (e) {
      return fail('unauthorized', message(e));
    }

    // Workload rows name activities of the parameter set in force on as_of (none in force: unchecked).
    const parameters = await needParametersInForce(db, asOf);
    const started = performance.now();
    let raw: RawSnapshotInfo | undefined;
    let unchanged = false;
    // R8: with a held removal open the same snapshot must be reconciled again, so never skip it.
    const knownHash = claimed.heldRemovalOpen ? null : row.last_content_hash;
    let result: SnapshotResult | undefined;
    try {
      const connector = createConnector(source.transport, deps.connectorDeps);
      const items = connector.fetch(source, {
        signal: ctx.signal,
        asOf,
        ...(deps.formationFromYear !== undefined ? { formationFromYear: deps.formationFromYear } : {}),
        limits: deps.limits,
        log: ctx.log,
        // HTTP conditional GETs: only with the validators that came with the reconciled snapshot.
        ...(knownHash !== null && row.last_validators
          ? {
              conditional: {
                contentHash: knownHash,
                validators: row.last_validators as Record<string, Validators>,
              },
            }
          : {}),
        beforeParse: (r) => {
          raw = r;
          unchanged = knownHash !== null && r.sha256 === knownHash;
          return unchanged;
        },
      });
      const normaliser = createSnapshotNormaliser({
        sourceRegion: source.regionCode,
        asOf,
        ...(parameters ? { activityCodes: activityCodes(parameters.parameters) } : {}),
      });
      for await (const item of items) {
        if (item.kind === 'officer') normaliser.addOfficer(item.record, item.position);
        else if (item.kind === 'formation') normaliser.addFormation(item.record, item.position);
        else normaliser.addWorkload(item.record, item.position);
      }
      // R9 invariant: only a snapshot read to its end is used.
      if (!raw) throw new Error('snapshot ended without a content hash');
      if (!unchanged) result = normaliser.finish();
    } catch (e) {
      if (ctx.signal.aborted) throw e; // shutdown: released, another worker retries
      const retryable = isFetchError(e) ? e.retryable : false;
      const code = isFetchError(e) ? e.code : 'internal_error';
      if (retryable && !ctx.finalAttempt) {
        await noteFetchAttemptError(db, fetchRow.id, code, message(e));
        throw new RetryableError(`${code}: ${message(e)}`, { cause: e });
      }
      if (!isFetchError(e)) ctx.log.error({ err: e }, 'unexpected error while reading the source');
      return fail(code, message(e));
    }
    const digest = raw;
    if (unchanged || !result) {
      const counts = { bytes: digest.bytes, fetchMs: Math.round(performance.now() - started) };
      await ledger.finish(fetchRow.id, {
        status: 'unchanged',
        contentHash: digest.sha256,
        counts,
        validators: digest.validators ?? null,
      });
      observe('unchanged');
      ctx.log.info(
        { counts, notModified: digest.notModified === true },
        'source unchanged since its last reconciled snapshot: not parsed, not staged',
      );
      return { status: 'unchanged', counts };
    }
    const fetchMs = Math.round(performance.now() - started);
    const counts = {
      rows: result.stats.rows,
      accepted: result.stats.accepted,
      rejected: result.stats.rejected,
      duplicates: result.stats.duplicates,
      officers: result.accepted.length,
      formations: result.formations.length,
      workloads: result.workloads.length,
      bytes: digest.bytes,
      fetchMs,
    };

    const stageStarted = performance.now();
    await stageSnapshot(db, { runId, sourceId, fetchId: fetchRow.id, result, contentHash: digest.sha256 });
    const stageMs = Math.round(performance.now() - stageStarted);
    await ledger.finish(fetchRow.id, {
      status: 'succeeded',
      contentHash: digest.sha256,
      counts: { ...counts, stageMs },
      validators: digest.validators ?? null,
    });
    observe('succeeded');
    if (deps.metrics) {
      deps.metrics.records.inc({ outcome: 'accepted' }, result.stats.accepted);
      deps.metrics.records.inc({ outcome: 'rejected' }, result.stats.rejected);
      for (const r of result.rejected) for (const code of r.codes) deps.metrics.recordRejections.inc({ code });
    }
    ctx.log.info({ counts, stageMs }, 'source staged');
    return { status: 'succeeded', counts };
  };
}
