import { sql } from 'kysely';
import type { Db } from '../db.ts';
import type { Run } from '../schema.ts';
import { writeAudit } from './audit.repository.ts';
import { lostStagedSources, discardStagedRun, STAGED_ROW_TABLES, stagedRowsExpected } from './staging.repository.ts';

/**
 * What keeps runs alive when their infrastructure fails (docs/architecture.md § When things fail).
 * PostgreSQL is the source of truth: a run is resumed from what it holds here, never from Redis.
 */

/** Advisory-lock namespace (the two-int form) of run recovery: key 0 the healer, key 1 a staging repair, else a run. */
const RECOVERY_LOCK_NS = 0x706b_7263; // 'pkrc'

/** A run's own recovery lock key: resume and cancel of one run never interleave. */
const runLockKey = (runId: string) => sql`hashtext(${`pksync.run:${runId}`})`;

/** True for a run still queued or running (it holds its scope). */
export function isRunActive(status: Run['status']): boolean {
  return status === 'queued' || status === 'running';
}

/**
 * Runs `fn` in a transaction holding the healer's advisory lock, or returns `undefined` at once
 * when another process holds it: however many workers run, one heals at a time.
 */
export async function withHealerLock<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T | undefined> {
  return db.transaction().execute(async (trx) => {
    const got = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(${RECOVERY_LOCK_NS}, 0) as ok`.execute(trx);
    if (!got.rows[0]?.ok) return undefined;
    return fn(trx);
  });
}

/** The active runs, oldest first, with how long ago they were created or last resumed. */
export async function listActiveRuns(
  db: Db,
): Promise<(Pick<Run, 'id' | 'status' | 'generation' | 'resumes' | 'scope_key'> & { idle_ms: number })[]> {
  const res = await sql<Pick<Run, 'id' | 'status' | 'generation' | 'resumes' | 'scope_key'> & { idle_ms: number }>`
    select id, status, generation, resumes, scope_key,
      (extract(epoch from clock_timestamp() - coalesce(resumed_at, created_at)) * 1000)::float8 as idle_ms
    from runs where status in ('queued', 'running') order by created_at`.execute(db);
  return res.rows;
}

/** False after PostgreSQL recovered from a crash: the UNLOGGED sentinel row was emptied with the staging tables. */
export async function stagingSentinelPresent(db: Db): Promise<boolean> {
  const row = await db.selectFrom('staging_sentinel').select('id').where('id', '=', 1).executeTakeFirst();
  return row !== undefined;
}

export interface StagingRepair {
  /** Staged snapshots whose rows were lost (headers now discarded). */
  snapshotsLost: number;
  /** Sources whose last reconciled listing (R10) was lost: their hash is forgotten, so their next fetch re-stages them. */
  listingsLost: string[];
  /** Active runs with fetches put back to pending: they must be resumed to fetch those again. */
  runs: string[];
}

/**
 * After a crash emptied the UNLOGGED staging tables: every staged snapshot whose rows are gone is
 * discarded; a source whose reconciled listing was among them forgets its content hash and HTTP
 * validators (its next fetch reads and stages the whole snapshot again, so R10 sees what it
 * lists); an active run's fetch that had staged such a snapshot, or that found such a source
 * unchanged, is pending again. Then the sentinel is written back. Exact, not a guess: the header
 * counts are compared with the rows left, so a false alarm (the sentinel alone missing) changes
 * nothing else. Serialised by an advisory lock; returns what it found.
 */
export async function repairLostStaging(db: Db): Promise<StagingRepair> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${RECOVERY_LOCK_NS}, 1)`.execute(trx);
    if (await stagingSentinelPresent(trx)) return { snapshotsLost: 0, listingsLost: [], runs: [] };
    const lost = await sql<{ run_id: string; source_id: string; listing: boolean }>`
      with present as (
        select run_id, source_id, count(*)::int as n from (
          ${sql.join(
            STAGED_ROW_TABLES.map((t) => sql`select run_id, source_id from ${sql.table(t.table)}`),
            sql` union all `,
          )}) x
        group by run_id, source_id
      ), lost as (
        update staged_snapshots h set discarded_at = now()
        where h.discarded_at is null
          and ${stagedRowsExpected('h')} <> coalesce(
            (select p.n from present p where p.run_id = h.run_id and p.source_id = h.source_id), 0)
        returning h.run_id, h.source_id
      )
      select l.run_id, l.source_id,
        exists (select 1 from source_listings s where s.run_id = l.run_id and s.source_id = l.source_id) as listing
      from lost l`.execute(trx);
    const listings = lost.rows.filter((r) => r.listing);
    const listingSources = [...new Set(listings.map((r) => r.source_id))];
    if (listings.length) {
      await sql`
        delete from source_listings s
        using unnest(${listings.map((r) => r.run_id)}::uuid[], ${listings.map((r) => r.source_id)}::text[]) as t(run_id, source_id)
        where s.run_id = t.run_id and s.source_id = t.source_id`.execute(trx);
      await trx
        .updateTable('sources')
        .set({ last_content_hash: null, last_validators: null })
        .where('id', 'in', listingSources)
        .execute();
    }
    const lostOfActive = lost.rows.filter((r) => !r.listing);
    const reset = await sql<{ run_id: string }>`
      update source_fetches f set status = 'pending', error_code = null, error_message = null, counts = '{}'::jsonb
      from runs r
      where r.id = f.run_id and r.status in ('queued', 'running')
        and ((f.status = 'succeeded' and (f.run_id, f.source_id) in (
                select * from unnest(${lostOfActive.map((r) => r.run_id)}::uuid[], ${lostOfActive.map((r) => r.source_id)}::text[])))
          or (f.status = 'unchanged' and f.source_id = any(${listingSources}::text[])))
      returning f.run_id`.execute(trx);
    await sql`insert into staging_sentinel (id) values (1) on conflict (id) do update set written_at = now()`.execute(
      trx,
    );
    return {
      snapshotsLost: lost.rows.length,
      listingsLost: listingSources,
      runs: [...new Set(reset.rows.map((r) => r.run_id))],
    };
  });
}

export interface ResumeRecord {
  /** False when the run is no longer active (or its generation moved on meanwhile): nothing done. */
  resumed: boolean;
  run: Run;
  /** Fetches put back to pending: claimed by a job now lost, or whose staged rows were lost. */
  reset: { running: number; lost: number };
}

/**
 * The PostgreSQL half of resuming a run: under the run's lock, fetches a lost job had claimed and
 * fetches whose staged rows were lost are pending again (finished ones stay finished), and the run
 * gets a new generation — the caller then enqueues a fresh flow for it (`resumeRun` in
 * `@pksync/queue`). With `expectGeneration`, only a run still in that generation is resumed (the
 * healer decided on what it read). An operator's resume is audited with the change.
 */
export async function resumeRunRecord(
  db: Db,
  runId: string,
  options: { by: string; expectGeneration?: number; audit?: { actorRole: string; reason?: string | null } },
): Promise<ResumeRecord | undefined> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${RECOVERY_LOCK_NS}, ${runLockKey(runId)})`.execute(trx);
    const run = await trx.selectFrom('runs').selectAll().where('id', '=', runId).forUpdate().executeTakeFirst();
    if (!run) return undefined;
    if (
      !isRunActive(run.status) ||
      (options.expectGeneration !== undefined && run.generation !== options.expectGeneration)
    )
      return { resumed: false, run, reset: { running: 0, lost: 0 } };
    const succeeded = await trx
      .selectFrom('source_fetches')
      .select('source_id')
      .where('run_id', '=', runId)
      .where('status', '=', 'succeeded')
      .execute();
    const lost = await lostStagedSources(
      trx,
      runId,
      succeeded.map((f) => f.source_id),
    );
    const running = await trx
      .updateTable('source_fetches')
      .set({ status: 'pending', counts: sql`'{}'::jsonb` })
      .where('run_id', '=', runId)
      .where('status', '=', 'running')
      .executeTakeFirst();
    if (lost.length) {
      await trx
        .updateTable('source_fetches')
        .set({ status: 'pending', error_code: null, error_message: null, counts: sql`'{}'::jsonb` })
        .where('run_id', '=', runId)
        .where('source_id', 'in', lost)
        .execute();
      await trx
        .updateTable('staged_snapshots')
        .set({ discarded_at: sql`now()` })
        .where('run_id', '=', runId)
        .where('source_id', 'in', lost)
        .execute();
    }
    const updated = await trx
      .updateTable('runs')
      .set({
        generation: sql`generation + 1`,
        resumes: sql`resumes + 1`,
        resumed_at: sql`now()`,
        resumed_by: options.by,
      })
      .where('id', '=', runId)
      .returningAll()
      .executeTakeFirstOrThrow();
    if (options.audit) {
      await writeAudit(trx, {
        actor: options.by,
        actorRole: options.audit.actorRole,
        action: 'run.resume',
        target: runId,
        reason: options.audit.reason ?? null,
        details: { generation: updated.generation, resetRunning: Number(running.numUpdatedRows), lost: lost.length },
      });
    }
    return { resumed: true, run: updated, reset: { running: Number(running.numUpdatedRows), lost: lost.length } };
  });
}

/** Thrown by {@link cancelRun} when the run exists but has already finished. */
export class RunNotActiveError extends Error {
  constructor(readonly run: Run) {
    super(`run ${run.id} is already ${run.status}: only a queued or running run can be cancelled`);
    this.name = 'RunNotActiveError';
  }
}

/**
 * Ends an active run for good: status `cancelled` (its scope is free for the next trigger), its
 * unfinished fetches failed with `cancelled`, its staged rows dropped (except some source's
 * current listing), and the audit entry, in one transaction. Jobs still in Redis find the run
 * cancelled and do nothing. Returns undefined for an unknown run; throws {@link RunNotActiveError}
 * for a finished one.
 */
export async function cancelRun(
  db: Db,
  runId: string,
  options: { by: string; actorRole: string; reason: string },
): Promise<Run | undefined> {
  const run = await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${RECOVERY_LOCK_NS}, ${runLockKey(runId)})`.execute(trx);
    const current = await trx.selectFrom('runs').selectAll().where('id', '=', runId).forUpdate().executeTakeFirst();
    if (!current) return undefined;
    if (!isRunActive(current.status)) throw new RunNotActiveError(current);
    const message = `cancelled by ${options.by}: ${options.reason}`.slice(0, 2000);
    const cancelled = await trx
      .updateTable('runs')
      .set({ status: 'cancelled', finished_at: sql`now()`, error: message })
      .where('id', '=', runId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .updateTable('source_fetches')
      .set({ status: 'failed', error_code: 'cancelled', error_message: message, finished_at: sql`now()` })
      .where('run_id', '=', runId)
      .where('status', 'in', ['pending', 'running'])
      .execute();
    await writeAudit(trx, {
      actor: options.by,
      actorRole: options.actorRole,
      action: 'run.cancel',
      target: runId,
      reason: options.reason,
      details: { scope: current.scope_key, was: current.status },
    });
    return cancelled;
  });
  if (run) await discardStagedRun(db, runId);
  return run;
}
