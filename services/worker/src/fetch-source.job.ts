import { createSnapshotNormaliser, type SnapshotResult } from '@pksync/core';
import { createConnector, hashSnapshot, isFetchError, type ConnectorDeps, type FetchLimits } from '@pksync/connectors';
import {
  finishSourceFetch,
  getRun,
  getSourceRow,
  hasOpenHeldRemoval,
  noteFetchAttemptError,
  stageSnapshot,
  startSourceFetch,
  toSourceWithToken,
  type Db,
} from '@pksync/db';
import { PermanentError, RetryableError, scrubSecrets, type JobHandler } from '@pksync/queue';

export interface FetchSourceDeps {
  db: Db;
  tokenKey: Buffer | undefined;
  connectorDeps: ConnectorDeps;
  limits: Partial<FetchLimits>;
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
 * completes, so one failed source never fails the run. A snapshot whose content hash equals the
 * source's last reconciled one is `unchanged`: not staged, not reconciled again.
 */
export function fetchSourceHandler(deps: FetchSourceDeps): JobHandler<'source.fetch'> {
  const { db } = deps;
  return async ({ runId, sourceId }, ctx): Promise<FetchSourceSummary> => {
    const fetchRow = await startSourceFetch(db, runId, sourceId);
    if (!fetchRow) {
      ctx.log.info('fetch already finished (duplicate or recovered execution): nothing to do');
      return { status: 'already_done' };
    }
    const fail = async (errorCode: string, errorMessage: string): Promise<FetchSourceSummary> => {
      await finishSourceFetch(db, fetchRow.id, { status: 'failed', errorCode, errorMessage });
      ctx.log.warn({ errorCode, error: errorMessage }, 'source failed (R9: its published entries stay, marked stale)');
      return { status: 'failed', errorCode };
    };

    const run = await getRun(db, runId);
    if (!run) throw new PermanentError(`run ${runId} does not exist`);
    const row = await getSourceRow(db, sourceId);
    if (!row) return fail('source_missing', `source ${sourceId} no longer exists`);
    let source;
    try {
      source = toSourceWithToken(row, deps.tokenKey);
    } catch (e) {
      return fail('unauthorized', message(e));
    }

    const started = performance.now();
    let digest: { sha256: string; items: number } | undefined;
    let result: SnapshotResult;
    try {
      const normaliser = createSnapshotNormaliser({ sourceRegion: source.regionCode, asOf: run.as_of });
      const connector = createConnector(source.transport, deps.connectorDeps);
      const items = connector.fetch(source, { signal: ctx.signal, asOf: run.as_of, limits: deps.limits, log: ctx.log });
      for await (const item of hashSnapshot(items, (d) => (digest = d))) {
        if (item.kind === 'officer') normaliser.addOfficer(item.record, item.position);
        else normaliser.addFormation(item.record, item.position);
      }
      // R9 invariant: only a snapshot read to its end is used.
      if (!digest) throw new Error('snapshot ended without a content hash');
      result = normaliser.finish();
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
    const fetchMs = Math.round(performance.now() - started);
    const counts = {
      rows: result.stats.rows,
      accepted: result.stats.accepted,
      rejected: result.stats.rejected,
      duplicates: result.stats.duplicates,
      officers: result.accepted.length,
      formations: result.formations.length,
      fetchMs,
    };

    if (digest.sha256 === row.last_content_hash && !(await hasOpenHeldRemoval(db, sourceId))) {
      await finishSourceFetch(db, fetchRow.id, { status: 'unchanged', contentHash: digest.sha256, counts });
      ctx.log.info({ counts }, 'source unchanged since its last reconciled snapshot: not staged');
      return { status: 'unchanged', counts };
    }

    const stageStarted = performance.now();
    await stageSnapshot(db, { runId, sourceId, fetchId: fetchRow.id, result, contentHash: digest.sha256 });
    const stageMs = Math.round(performance.now() - stageStarted);
    await finishSourceFetch(db, fetchRow.id, {
      status: 'succeeded',
      contentHash: digest.sha256,
      counts: { ...counts, stageMs },
    });
    ctx.log.info({ counts, stageMs }, 'source staged');
    return { status: 'succeeded', counts };
  };
}
