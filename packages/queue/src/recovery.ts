import type { Logger } from 'pino';
import {
  listActiveRuns,
  markRunFailed,
  repairLostStaging,
  resumeRunRecord,
  stagingSentinelPresent,
  withHealerLock,
  type Db,
  type ResumeRecord,
  type StagingRepair,
} from '@pksync/db';
import type { QueueClient } from './producer.ts';

/**
 * Runs heal themselves (docs/architecture.md § When things fail). PostgreSQL is the source of
 * truth; Redis only carries jobs. A run whose jobs are gone from Redis, or whose staged rows were
 * lost to a PostgreSQL crash, is resumed from what PostgreSQL holds: finished fetches stay
 * finished, the rest are fetched again by a fresh flow of the run's next generation.
 */

/** BullMQ states in which a run's `run.reconcile` parent will still run by itself. */
const LIVE_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

export interface ResumeRunResult extends ResumeRecord {
  /** The generation whose flow was enqueued (the run's new one), when resumed. */
  generation?: number;
}

/**
 * Resumes one run: its PostgreSQL record first (`resumeRunRecord`: lost fetches pending again, a
 * new generation), then a fresh flow of that generation in Redis. An enqueue that fails (Redis
 * down) leaves a run whose generation has no jobs: the healer resumes it again once Redis is back.
 * Undefined for an unknown run; `resumed: false` for one no longer active.
 *
 * @example
 * const r = await resumeRun(db, queues, runId, { by: 'cli:budi', audit: { actorRole: 'admin' } });
 */
export async function resumeRun(
  db: Db,
  queues: Pick<QueueClient, 'enqueueRun'>,
  runId: string,
  options: { by: string; expectGeneration?: number; audit?: { actorRole: string; reason?: string | null } },
): Promise<ResumeRunResult | undefined> {
  const record = await resumeRunRecord(db, runId, options);
  if (!record?.resumed) return record;
  await queues.enqueueRun({ runId, gen: record.run.generation });
  return { ...record, generation: record.run.generation };
}

export interface HealOptions {
  /** A run created or resumed less than this long ago is left alone (its flow may be being added). Default 15 s. */
  graceMs?: number;
  /** A run resumed this many times is failed instead (it keeps losing its jobs). Default 5. */
  maxResumes?: number;
  log?: Logger;
}

export interface HealReport {
  /** False when another process held the healer's lock: it did this pass. */
  ran: boolean;
  staging?: StagingRepair;
  resumed: { runId: string; generation: number; why: string }[];
  failed: string[];
}

/**
 * One pass of the run healer, in the one process holding the healer's advisory lock (the others
 * skip the pass): repairs staging lost to a crash (`repairLostStaging`), then resumes every active
 * run whose current flow is no longer alive in Redis (its `run.reconcile` parent is missing,
 * failed, or completed while the run is still active), or whose fetches were reset by the repair.
 * A run past `maxResumes` is failed with a message saying so.
 */
export async function healRuns(
  db: Db,
  queues: Pick<QueueClient, 'enqueueRun' | 'runJobState'>,
  options: HealOptions = {},
): Promise<HealReport> {
  const graceMs = options.graceMs ?? 15_000;
  const maxResumes = options.maxResumes ?? 5;
  const report: HealReport = { ran: false, resumed: [], failed: [] };
  // `withHealerLock` gives undefined when another process holds the lock: then this pass did nothing.
  report.ran =
    (await withHealerLock(db, async () => {
      const reset = new Set<string>();
      if (!(await stagingSentinelPresent(db))) {
        report.staging = await repairLostStaging(db);
        for (const id of report.staging.runs) reset.add(id);
        options.log?.warn({ ...report.staging }, 'PostgreSQL lost the staged rows (crash recovery): repaired');
      }
      for (const run of await listActiveRuns(db)) {
        let why: string | undefined;
        if (reset.has(run.id)) why = 'staged rows lost';
        else if (run.idle_ms >= graceMs) {
          const state = await queues.runJobState(run.id, run.generation);
          if (!LIVE_STATES.has(state)) why = `its jobs are gone from Redis (reconcile job ${state})`;
        }
        if (!why) continue;
        if (run.resumes >= maxResumes) {
          const failed = await markRunFailed(
            db,
            run.id,
            `the run was not resumed again (${why}): resumed ${run.resumes} times already (RUN_MAX_RESUMES); trigger it again`,
          );
          if (failed) report.failed.push(run.id);
          continue;
        }
        const r = await resumeRun(db, queues, run.id, { by: 'healer', expectGeneration: run.generation });
        if (r?.resumed) report.resumed.push({ runId: run.id, generation: r.generation!, why });
      }
      return true;
    })) === true;
  for (const r of report.resumed) options.log?.warn(r, 'run resumed');
  for (const id of report.failed) options.log?.error({ runId: id }, 'run failed: resumed too often');
  return report;
}

export interface RunHealer {
  /** One pass now (tests, and a worker that just noticed something). */
  tick(): Promise<HealReport | undefined>;
  stop(): Promise<void>;
}

/**
 * Runs {@link healRuns} every `intervalMs` (default 10 s) until stopped. A pass that fails (the
 * database or Redis is down) is logged and tried again at the next interval; passes never overlap.
 * With the default grace, a run that lost its jobs is resumed within about 25 s.
 */
export function startRunHealer(
  db: Db,
  queues: Pick<QueueClient, 'enqueueRun' | 'runJobState'>,
  options: HealOptions & {
    intervalMs?: number;
    beforePass?: () => Promise<void>;
    /** After each pass this process ran (metrics: the runs it failed). */
    afterPass?: (report: HealReport) => Promise<void>;
  } = {},
): RunHealer {
  let running: Promise<HealReport | undefined> | undefined;
  let stopped = false;
  const tick = (): Promise<HealReport | undefined> => {
    if (stopped) return Promise.resolve(undefined);
    running ??= (async () => {
      try {
        await options.beforePass?.();
        const report = await healRuns(db, queues, options);
        if (report.ran) await options.afterPass?.(report);
        return report;
      } catch (err) {
        options.log?.warn({ err }, 'run healer pass failed (database or Redis unreachable?); trying again');
        return undefined;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const timer = setInterval(() => void tick(), options.intervalMs ?? 10_000);
  timer.unref();
  return {
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
