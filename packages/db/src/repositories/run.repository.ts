import { sql } from 'kysely';
import { isCalendarDate } from '@pksync/core';
import type { Db } from '../db.ts';
import { currentRegisterTotals } from './publication.repository.ts';
import type { FetchStatus, Run, RunStatus } from '../schema.ts';

const jsonb = (v: unknown) => sql<never>`${JSON.stringify(v)}::jsonb`;

/** What a run covers (register-api-v1.md § POST /sync). */
export type RunScope =
  | { kind: 'national' }
  | { kind: 'province'; value: string }
  | { kind: 'region'; value: string }
  | { kind: 'source'; value: string };

/** Thrown when a scope names nothing that exists or holds no enabled source; the message says which. */
export class RunScopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunScopeError';
  }
}

/** `national`, `province:16`, `region:16.71`, `source:<id>`: one queued/running run per key. */
function scopeKey(scope: RunScope): string {
  return scope.kind === 'national' ? 'national' : `${scope.kind}:${scope.value}`;
}

/** The calendar date (`YYYY-MM-DD`) of an instant in a time zone: a run's default `as_of`. */
export function calendarDateIn(timeZone: string, at: Date = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/** Enabled sources a scope covers, by id. Throws {@link RunScopeError} naming what is wrong. */
async function sourcesInScope(db: Db, scope: RunScope): Promise<{ id: string; region_code: string }[]> {
  if (scope.kind === 'province' || scope.kind === 'region') {
    const region = await db
      .selectFrom('regions')
      .select(['code', 'level'])
      .where('code', '=', scope.value)
      .executeTakeFirst();
    if (!region) throw new RunScopeError(`unknown region code "${scope.value}"`);
    if (scope.kind === 'province' && region.level !== 'province')
      throw new RunScopeError(`"${scope.value}" is a regency/city, not a province (use a region scope)`);
  }
  let q = db.selectFrom('sources').select(['id', 'region_code']).where('enabled', '=', true);
  if (scope.kind === 'province') {
    const p = scope.value;
    q = q.where((eb) => eb.or([eb('region_code', '=', p), eb('region_code', 'like', `${p}.%`)]));
  } else if (scope.kind === 'region') q = q.where('region_code', '=', scope.value);
  else if (scope.kind === 'source') {
    const src = await db
      .selectFrom('sources')
      .select(['id', 'enabled'])
      .where('id', '=', scope.value)
      .executeTakeFirst();
    if (!src) throw new RunScopeError(`unknown source "${scope.value}"`);
    if (!src.enabled) throw new RunScopeError(`source "${scope.value}" is disabled`);
    q = q.where('id', '=', scope.value);
  }
  const rows = await q.orderBy('id').execute();
  if (rows.length === 0) {
    throw new RunScopeError(
      scope.kind === 'national'
        ? 'no enabled source is registered (import sources first: pksync sources import FILE)'
        : `no enabled source covers ${scopeKey(scope)}`,
    );
  }
  return rows;
}

export interface CreateRunInput {
  scope: RunScope;
  trigger: 'schedule' | 'manual';
  requestedBy: string | null;
  reason?: string | null;
  /** `YYYY-MM-DD`. */
  asOf: string;
  /** Scheduled runs: `national:<as_of>`, so two schedulers make one run per night. */
  scheduleSlot?: string | null;
}

export interface CreateRunResult {
  run: Run;
  /** False when a run for the same scope was already queued or running (or the slot was taken). */
  created: boolean;
  /** Sources of the run (one `source_fetches` row each). */
  sourceIds: string[];
}

/**
 * Inserts a queued run with one pending `source_fetches` row per source in scope, in one
 * transaction. When a run for the same scope is already queued or running (the partial unique
 * index `runs_one_active_per_scope` is the arbiter, not Redis), or the schedule slot was already
 * used, nothing is inserted and that run is returned with `created: false`.
 */
export async function createRun(db: Db, input: CreateRunInput): Promise<CreateRunResult> {
  if (!isCalendarDate(input.asOf))
    throw new RunScopeError(`as_of must be a calendar date YYYY-MM-DD (years 1900–9999), got "${input.asOf}"`);
  const key = scopeKey(input.scope);
  for (let attempt = 0; attempt < 5; attempt++) {
    const sources = await sourcesInScope(db, input.scope);
    const result = await db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('runs')
        .values({
          scope_kind: input.scope.kind,
          scope_value: input.scope.kind === 'national' ? null : input.scope.value,
          scope_key: key,
          trigger: input.trigger,
          requested_by: input.requestedBy,
          reason: input.reason ?? null,
          as_of: input.asOf,
          schedule_slot: input.scheduleSlot ?? null,
          counts: jsonb({ sources: sources.length }),
        })
        .onConflict((oc) => oc.doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!inserted) return null;
      await trx
        .insertInto('source_fetches')
        .values(sources.map((s) => ({ run_id: inserted.id, source_id: s.id })))
        .execute();
      return { run: inserted, created: true, sourceIds: sources.map((s) => s.id) };
    });
    if (result) return result;
    // Somebody else holds the scope (or the slot): return their run.
    let existing: Run | undefined;
    if (input.scheduleSlot)
      existing = await db
        .selectFrom('runs')
        .selectAll()
        .where('schedule_slot', '=', input.scheduleSlot)
        .executeTakeFirst();
    existing ??= await db
      .selectFrom('runs')
      .selectAll()
      .where('scope_key', '=', key)
      .where('status', 'in', ['queued', 'running'])
      .executeTakeFirst();
    if (existing) {
      const ids = await db
        .selectFrom('source_fetches')
        .select('source_id')
        .where('run_id', '=', existing.id)
        .orderBy('source_id')
        .execute();
      return { run: existing, created: false, sourceIds: ids.map((r) => r.source_id) };
    }
    // The active run finished between our insert and select: try again.
  }
  throw new Error(`could not create or find a run for ${key} (contended); try again`);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One run (the API, the CLI and the worker's jobs read a run here); undefined for an unknown id or one that is no UUID. */
export async function getRun(db: Db, runId: string): Promise<Run | undefined> {
  if (!UUID_RE.test(runId)) return undefined;
  return db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst();
}

/** How far a run's fetches are: all, finished (`succeeded`, `unchanged`, `failed`), failed. */
export interface FetchTally {
  total: number;
  done: number;
  failed: number;
}

const inProvince = (column: string, provinceCode: string) =>
  sql<boolean>`(${sql.ref(column)} = ${provinceCode} or ${sql.ref(column)} like ${`${provinceCode}.%`})`;

/** A run's place in {@link listRuns}' order: `created_at` to the microsecond (UTC, ISO 8601) and id. */
export interface RunKey {
  at: string;
  id: string;
}

/**
 * Runs, newest first, each with the tally of its fetches and its {@link RunKey} (`pksync runs`,
 * `GET /runs`). Keyset by (created_at, id) descending, total since ids are unique: `after` is the
 * key of the last run of the previous page. The key keeps created_at to the microsecond, as
 * PostgreSQL stores it (a JavaScript Date would cut it to the millisecond and skip or repeat runs
 * created within one). `provinceCode`: the runs that cover any of the province's sources
 * (national ones included), tallied over those sources only.
 */
export async function listRuns(
  db: Db,
  options: { limit?: number; provinceCode?: string; status?: RunStatus; after?: RunKey } = {},
): Promise<{ run: Run; progress: FetchTally; key: RunKey }[]> {
  const p = options.provinceCode;
  let q = db
    .selectFrom('runs')
    .selectAll()
    .select(sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('key_at'));
  if (p)
    q = q.where(sql<boolean>`exists (select 1 from source_fetches f join sources s on s.id = f.source_id
      where f.run_id = runs.id and ${inProvince('s.region_code', p)})`);
  if (options.status) q = q.where('status', '=', options.status);
  const after = options.after;
  if (after) q = q.where(sql<boolean>`(created_at, id) < (${after.at}::timestamptz, ${after.id}::uuid)`);
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(options.limit ?? 20)
    .execute();
  if (rows.length === 0) return [];
  const runs = rows.map(({ key_at, ...run }) => ({ run: run as Run, key: { at: key_at, id: run.id } }));
  let tq = db
    .selectFrom('source_fetches')
    .select((eb) => [
      'run_id',
      eb.fn.countAll<number>().as('total'),
      sql<number>`count(*) filter (where status in ('succeeded', 'unchanged', 'failed'))`.as('done'),
      sql<number>`count(*) filter (where status = 'failed')`.as('failed'),
    ])
    .where(
      'run_id',
      'in',
      runs.map((r) => r.run.id),
    );
  if (p) tq = tq.where(sql<boolean>`source_id in (select id from sources where ${inProvince('region_code', p)})`);
  const tallies = new Map((await tq.groupBy('run_id').execute()).map((t) => [t.run_id, t]));
  return runs.map(({ run, key }) => {
    const t = tallies.get(run.id);
    return {
      run,
      progress: { total: Number(t?.total ?? 0), done: Number(t?.done ?? 0), failed: Number(t?.failed ?? 0) },
      key,
    };
  });
}

/**
 * A run's fetches, by source id. `provinceCode`: only the province's sources. `withSource`: each
 * with its source's `agency` and `region_code` (null when the source is gone), as `GET /runs/{id}`
 * shows them.
 */
export async function listSourceFetches(
  db: Db,
  runId: string,
  options: { provinceCode?: string; withSource?: boolean } = {},
) {
  let q = db
    .selectFrom('source_fetches as f')
    .leftJoin('sources as s', 's.id', 'f.source_id')
    .selectAll('f')
    .$if(options.withSource === true, (qb) => qb.select(['s.agency', 's.region_code']))
    .where('f.run_id', '=', runId);
  if (options.provinceCode) q = q.where(inProvince('s.region_code', options.provinceCode));
  return q.orderBy('f.source_id').execute();
}

/** Per-run progress as `pksync sync --wait` and `GET /runs/{id}` show it. */
export interface RunProgress {
  run: Run;
  sources: Record<FetchStatus, number> & { total: number; done: number };
  /** Sums over the run's fetches: rows read, accepted, rejected. */
  records: { rows: number; accepted: number; rejected: number };
}

export async function getRunProgress(db: Db, runId: string): Promise<RunProgress | undefined> {
  const run = await getRun(db, runId);
  if (!run) return undefined;
  const rows = await db
    .selectFrom('source_fetches')
    .select((eb) => [
      'status',
      eb.fn.countAll<number>().as('n'),
      sql<number>`coalesce(sum((counts->>'rows')::int), 0)`.as('rows'),
      sql<number>`coalesce(sum((counts->>'accepted')::int), 0)`.as('accepted'),
      sql<number>`coalesce(sum((counts->>'rejected')::int), 0)`.as('rejected'),
    ])
    .where('run_id', '=', runId)
    .groupBy('status')
    .execute();
  const sources = { pending: 0, running: 0, succeeded: 0, unchanged: 0, failed: 0, total: 0, done: 0 };
  const records = { rows: 0, accepted: 0, rejected: 0 };
  for (const r of rows) {
    const n = Number(r.n);
    sources[r.status] = n;
    sources.total += n;
    if (r.status === 'succeeded' || r.status === 'unchanged' || r.status === 'failed') sources.done += n;
    records.rows += Number(r.rows);
    records.accepted += Number(r.accepted);
    records.rejected += Number(r.rejected);
  }
  return { run, sources, records };
}

export interface RunCounts {
  sources: number;
  succeeded: number;
  unchanged: number;
  failed: number;
  fetched: number;
  accepted: number;
  rejected: number;
  added: number;
  removed: number;
  changed: number;
  active: number;
  officers: number;
  findingsOpened: number;
  findingsResolved: number;
}

/** Sums of a run's fetches (sources by outcome, records read/accepted/rejected). */
async function fetchTotals(
  db: Db,
  runId: string,
): Promise<Pick<RunCounts, 'sources' | 'succeeded' | 'unchanged' | 'failed' | 'fetched' | 'accepted' | 'rejected'>> {
  const p = await getRunProgress(db, runId);
  if (!p) throw new Error(`run ${runId} not found`);
  return {
    sources: p.sources.total,
    succeeded: p.sources.succeeded,
    unchanged: p.sources.unchanged,
    failed: p.sources.failed,
    fetched: p.records.rows,
    accepted: p.records.accepted,
    rejected: p.records.rejected,
  };
}

/**
 * R8/hash skip: after reconciliation, each source fetched successfully in this run remembers its
 * snapshot's content hash, so an identical snapshot next time is `unchanged`. A source whose
 * removal is still held after this run (held by it, or kept because this run's fetch overlapped
 * the one that made the hold) keeps its old hash: the same snapshot next time must be reconciled
 * again, which applies the held removal (R8 "shows the same removal again"). The fetch's HTTP
 * validators go with the hash (never one without the other).
 * Call inside the reconciliation transaction.
 */
export async function commitContentHashes(db: Db, runId: string): Promise<void> {
  await sql`
    update sources s set last_content_hash = f.content_hash, last_validators = f.validators, updated_at = s.updated_at
    from source_fetches f
    where f.run_id = ${runId} and f.status = 'succeeded' and f.content_hash is not null and s.id = f.source_id
      and not exists (
        select 1 from held_removals h where h.source_id = s.id and h.status = 'held'
      )`.execute(db);
}

/**
 * Marks a run completed with its counts and published version, inside the reconciliation
 * transaction: a reader that sees `completed` also sees the outcome, and a retried job after a
 * crash sees the run finished. Reads the run's publication (if any) and the register totals.
 * Returns false when the run was no longer queued/running.
 */
export async function completeRun(
  db: Db,
  runId: string,
  findings: { opened: number; resolved: number },
): Promise<boolean> {
  const pub = await db
    .selectFrom('publications')
    .select(['version', 'counts'])
    .where('run_id', '=', runId)
    .executeTakeFirst();
  const fetched = await fetchTotals(db, runId);
  const c = (pub?.counts ?? {}) as unknown as Partial<RunCounts>;
  let register = {
    added: c.added ?? 0,
    removed: c.removed ?? 0,
    changed: c.changed ?? 0,
    active: c.active,
    officers: c.officers,
  };
  if (register.active === undefined || register.officers === undefined) {
    // Nothing published by this run: the register is the latest version's.
    register = { ...register, ...(await currentRegisterTotals(db)) };
  }
  const counts: Partial<RunCounts> = {
    ...fetched,
    ...register,
    findingsOpened: findings.opened,
    findingsResolved: findings.resolved,
  };
  const res = await db
    .updateTable('runs')
    .set({
      status: 'completed',
      // clock_timestamp(): now() is the transaction's start, i.e. when reconciliation began.
      finished_at: sql`clock_timestamp()`,
      error: null,
      counts: jsonb(counts),
      version_published: pub?.version ?? null,
    })
    .where('id', '=', runId)
    .where('status', 'in', ['queued', 'running'])
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Merges extra figures (timings) into a run's counts. */
export async function addRunCounts(db: Db, runId: string, extra: Record<string, number>): Promise<void> {
  await db
    .updateTable('runs')
    .set({ counts: sql`counts || ${JSON.stringify(extra)}::jsonb` })
    .where('id', '=', runId)
    .execute();
}

/**
 * Fails every queued/running run and its unfinished fetches: for a single-machine start (the demo)
 * after an interrupted session, whose runs would otherwise hold their scopes forever.
 */
export async function failInterruptedRuns(db: Db, reason: string): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const runs = await trx
      .updateTable('runs')
      .set({ status: 'failed', finished_at: sql`now()`, error: reason })
      .where('status', 'in', ['queued', 'running'])
      .returning('id')
      .execute();
    if (runs.length) {
      await trx
        .updateTable('source_fetches')
        .set({ status: 'failed', error_code: 'interrupted', error_message: reason, finished_at: sql`now()` })
        .where(
          'run_id',
          'in',
          runs.map((r) => r.id),
        )
        .where('status', 'in', ['pending', 'running'])
        .execute();
    }
    return runs.length;
  });
}

/** Marks a run failed (it could not complete); frees its scope for the next trigger. */
export async function markRunFailed(
  db: Db,
  runId: string,
  error: string,
  options: { releaseScheduleSlot?: boolean } = {},
): Promise<boolean> {
  const res = await db
    .updateTable('runs')
    .set({
      status: 'failed',
      finished_at: sql`now()`,
      error: error.slice(0, 2000),
      // A run that never started must not use up the night's slot: a retry may claim it.
      ...(options.releaseScheduleSlot ? { schedule_slot: null } : {}),
    })
    .where('id', '=', runId)
    .where('status', 'in', ['queued', 'running'])
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** The scheduled national runs of one night (`as_of`), oldest first: the first and its retries. */
export async function listScheduledRuns(db: Db, asOf: string): Promise<Run[]> {
  return db
    .selectFrom('runs')
    .selectAll()
    .where('trigger', '=', 'schedule')
    .where('scope_key', '=', 'national')
    .where('as_of', '=', asOf)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}
