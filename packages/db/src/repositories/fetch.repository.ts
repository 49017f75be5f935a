import { sql } from 'kysely';
import type { Db } from '../db.ts';
import type { SourceFetchRow } from './source.repository.ts';
import type { FetchStatus, SourceFetch } from '../schema.ts';

/**
 * A run's source fetches, as its jobs see them: claims (one statement for the fetches running at
 * once, `createFetchLedger`), outcomes, the probes' unchanged sources, retried attempts, and the
 * fetches that never finished. The runs themselves are in `run.repository.ts`.
 */

/** A claimed fetch with what its job needs from the run (see {@link claimSourceFetches}). */
export interface ClaimedFetch {
  fetch: SourceFetch;
  /** The run's `as_of`; null when the run no longer exists. */
  asOf: string | null;
  /** True when the source has a held mass removal (R8) waiting for confirmation or a repeat. */
  heldRemovalOpen: boolean;
  /** The source's row (token still encrypted); undefined when the source no longer exists. */
  source: SourceFetchRow | undefined;
}

/**
 * What a fetch reads of its joined `sources s` row: `source` ({@link SourceFetchRow}, null without a
 * source) and `held_removal_open` (R8: a held or confirmed mass removal waits).
 */
const SOURCE_FETCH_COLUMNS = sql`case when s.id is null then null else json_build_object(
    'id', s.id, 'agency', s.agency, 'region_code', s.region_code, 'transport', s.transport, 'url', s.url,
    'formations_url', s.formations_url, 'workloads_url', s.workloads_url, 'token_encrypted', s.token_encrypted, 'enabled', s.enabled,
    'timeout_s', s.timeout_s, 'max_bytes', s.max_bytes, 'max_rows', s.max_rows,
    'last_content_hash', s.last_content_hash, 'last_validators', s.last_validators) end as source,
  exists (
    select 1 from held_removals h where h.source_id = s.id and h.status in ('held', 'confirmed')
  ) as held_removal_open`;

/** Which fetch to claim: one source of one run. */
export interface FetchKey {
  runId: string;
  sourceId: string;
  /** The generation of the job's flow: a job of an older flow (the run was resumed since) claims nothing. */
  generation?: number;
}

/**
 * Claims fetches (status running, attempts + 1, their runs running on the first claim) and
 * returns, per key in order, the fetch row with the run's `as_of`, the source's row and its open
 * held removal (R8) — or undefined when that fetch is already finished (a duplicate or recovered
 * execution) or does not exist. One statement for any number of keys: a night has ~552 fetch jobs,
 * and the worker claims those running at the same time together (`createFetchLedger`).
 */
export async function claimSourceFetches(db: Db, keys: readonly FetchKey[]): Promise<(ClaimedFetch | undefined)[]> {
  if (keys.length === 0) return [];
  const res = await sql<
    SourceFetch & {
      run_as_of: string | null;
      held_removal_open: boolean;
      source: SourceFetchRow | null;
    }
  >`
    with wanted as (
      select distinct run_id, source_id, generation
      from unnest(${keys.map((k) => k.runId)}::uuid[], ${keys.map((k) => k.sourceId)}::text[],
                  ${keys.map((k) => k.generation ?? null)}::int[]) as t(run_id, source_id, generation)
    ), claimed as (
      update source_fetches f
      set status = 'running', attempts = f.attempts + 1, started_at = coalesce(f.started_at, now())
      from wanted w join runs wr on wr.id = w.run_id
      where f.run_id = w.run_id and f.source_id = w.source_id and f.status in ('pending', 'running')
        -- Only the run's current flow claims: a job of a flow the run was resumed past does nothing.
        and wr.status in ('queued', 'running') and wr.generation = coalesce(w.generation, wr.generation)
      returning f.*
    ), started as (
      update runs set status = 'running', started_at = coalesce(started_at, now())
      where id in (select run_id from claimed) and status = 'queued'
    )
    select c.*, r.as_of as run_as_of,
      ${SOURCE_FETCH_COLUMNS}
    from claimed c
    left join runs r on r.id = c.run_id
    left join sources s on s.id = c.source_id`.execute(db);
  const byKey = new Map<string, ClaimedFetch>();
  for (const row of res.rows) {
    const { run_as_of, held_removal_open, source, ...fetch } = row;
    byKey.set(`${fetch.run_id}\n${fetch.source_id}`, {
      fetch: fetch as SourceFetch,
      asOf: run_as_of,
      heldRemovalOpen: held_removal_open,
      source: source ?? undefined,
    });
  }
  return keys.map((k) => byKey.get(`${k.runId}\n${k.sourceId}`));
}

/** A fetch of a run not started yet, with what its source's probe needs. */
export interface PendingFetch {
  sourceId: string;
  /** The source's row (token still encrypted); undefined when the source no longer exists. */
  source: SourceFetchRow | undefined;
  /** True when the source has a held mass removal (R8): it must be fetched and reconciled again. */
  heldRemovalOpen: boolean;
}

/** The run's fetches still pending (no job has claimed them), in source order; only `sourceIds` when given. */
export async function listPendingFetches(
  db: Db,
  runId: string,
  sourceIds?: readonly string[],
): Promise<PendingFetch[]> {
  const res = await sql<{ source_id: string; source: SourceFetchRow | null; held_removal_open: boolean }>`
    select f.source_id,
      ${SOURCE_FETCH_COLUMNS}
    from source_fetches f
    left join sources s on s.id = f.source_id
    where f.run_id = ${runId} and f.status = 'pending'
      ${sourceIds ? sql`and f.source_id = any(${[...sourceIds]}::text[])` : sql``}
    order by f.source_id`.execute(db);
  return res.rows.map((r) => ({
    sourceId: r.source_id,
    source: r.source ?? undefined,
    heldRemovalOpen: r.held_removal_open,
  }));
}

/**
 * Finishes pending fetches as `unchanged` without a job: their files answered 304 Not Modified
 * to the validators of the reconciled snapshot, whose hash (`contentHash`) they keep. Like an
 * unchanged fetch, each stamps its source's `last_success_at` (R9). One statement; returns the
 * source ids it finished (a fetch claimed meanwhile by a job is left to that job).
 */
export async function markFetchesUnchanged(
  db: Db,
  runId: string,
  items: readonly { sourceId: string; contentHash: string; probeMs: number }[],
): Promise<string[]> {
  if (items.length === 0) return [];
  const res = await sql<{ source_id: string }>`
    with input as (
      select * from jsonb_to_recordset(${JSON.stringify(items)}::jsonb)
        as t("sourceId" text, "contentHash" text, "probeMs" int)
    ), done as (
      update source_fetches f set
        status = 'unchanged', attempts = f.attempts + 1, started_at = coalesce(f.started_at, now()),
        finished_at = now(), content_hash = i."contentHash", error_code = null, error_message = null,
        validators = null, counts = jsonb_build_object('bytes', 0, 'fetchMs', i."probeMs", 'probed', 1)
      from input i
      where f.run_id = ${runId} and f.source_id = i."sourceId" and f.status = 'pending'
      returning f.source_id, f.finished_at
    ), stamped as (
      update sources s set last_success_at = d.finished_at from done d where s.id = d.source_id
    ), started as (
      update runs set status = 'running', started_at = coalesce(started_at, now())
      where id = ${runId} and status = 'queued' and exists (select 1 from done)
    )
    select source_id from done`.execute(db);
  return res.rows.map((r) => r.source_id);
}

/** Counts kept per fetch (`source_fetches.counts`). */
export interface FetchCounts {
  rows: number;
  accepted: number;
  rejected: number;
  duplicates: number;
  officers: number;
  formations: number;
  /** Milliseconds spent fetching + normalising, and staging. */
  fetchMs: number;
  stageMs: number;
  /** Raw bytes received (files or API pages). */
  bytes: number;
}

export interface FinishFetchInput {
  status: Extract<FetchStatus, 'succeeded' | 'unchanged' | 'failed'>;
  contentHash?: string | null;
  counts?: Partial<FetchCounts>;
  errorCode?: string | null;
  errorMessage?: string | null;
  /**
   * HTTP validators received (ETag / Last-Modified per file label). Kept on the fetch; an
   * `unchanged` fetch (same bytes as the reconciled snapshot) also refreshes the source's
   * `last_validators` right away, a `succeeded` one does so when its run is reconciled.
   */
  validators?: Record<string, unknown> | null;
}

/** PostgreSQL text cannot hold NUL; an agency's bytes quoted in an error message may. */
const pgText = (v: string) => v.replaceAll('\u0000', '');

/**
 * Records fetch outcomes, one statement for any number of fetches; returns, per item in order,
 * whether it was recorded. A successful or unchanged fetch also stamps the source's
 * `last_success_at` (R9: what "stale since" is measured from). Only a fetch still running is
 * finished, so a duplicate execution cannot overwrite an outcome.
 */
export async function finishSourceFetches(
  db: Db,
  items: readonly { fetchId: number; input: FinishFetchInput }[],
): Promise<boolean[]> {
  if (items.length === 0) return [];
  // The same fetch twice: the first outcome counts, as if they had come one after the other.
  const first = new Map<number, number>();
  items.forEach((i, n) => first.has(i.fetchId) || first.set(i.fetchId, n));
  const rows = [...first.values()]
    .map((n) => items[n]!)
    .map(({ fetchId, input }) => ({
      id: fetchId,
      status: input.status,
      content_hash: input.contentHash ?? null,
      counts: input.counts ?? {},
      error_code: input.errorCode ? pgText(input.errorCode) : null,
      error_message: input.errorMessage ? pgText(input.errorMessage).slice(0, 2000) : null,
      validators: input.validators && Object.keys(input.validators).length ? input.validators : null,
    }));
  const res = await sql<{ id: string }>`
    with input as (
      select *
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as t(
        id bigint, status text, content_hash text, counts jsonb, error_code text, error_message text, validators jsonb)
    ), done as (
      update source_fetches f set
        status = i.status,
        content_hash = i.content_hash,
        counts = i.counts,
        error_code = i.error_code,
        error_message = i.error_message,
        validators = i.validators,
        finished_at = now()
      from input i
      where f.id = i.id and f.status = 'running'
      returning f.id, f.source_id, f.finished_at, i.status as new_status, i.validators as new_validators
    ), stamped as (
      -- One source fetched by two overlapping runs in one batch: either row stamps it (both are now).
      update sources s set last_success_at = d.finished_at,
        last_validators = case when d.new_status = 'unchanged' and d.new_validators is not null
          then d.new_validators else s.last_validators end
      from done d where s.id = d.source_id and d.new_status <> 'failed'
    )
    select id from done`.execute(db);
  const done = new Set(res.rows.map((r) => Number(r.id)));
  return items.map((i, n) => first.get(i.fetchId) === n && done.has(i.fetchId));
}

/** Records a failed attempt that will be retried (the fetch stays running). */
export async function noteFetchAttemptError(
  db: Db,
  fetchId: number,
  errorCode: string,
  message: string,
): Promise<void> {
  await db
    .updateTable('source_fetches')
    .set({ error_code: errorCode, error_message: message.slice(0, 2000) })
    .where('id', '=', fetchId)
    .where('status', '=', 'running')
    .execute();
}

/**
 * Before reconciling: any fetch that never finished (its job failed for good or was lost) is
 * failed, so R9 keeps that source's published entries. Returns how many were marked.
 */
export async function failUnfinishedFetches(
  db: Db,
  runId: string,
  reason: string,
  options: { sourceId?: string; errorCode?: string } = {},
): Promise<number> {
  let q = db
    .updateTable('source_fetches')
    .set({
      status: 'failed',
      error_code: sql`coalesce(error_code, ${options.errorCode ?? 'worker_error'})`,
      error_message: sql`coalesce(error_message, ${reason})`,
      finished_at: sql`now()`,
    })
    .where('run_id', '=', runId)
    .where('status', 'in', ['pending', 'running']);
  if (options.sourceId) q = q.where('source_id', '=', options.sourceId);
  const res = await q.executeTakeFirst();
  return Number(res.numUpdatedRows);
}
