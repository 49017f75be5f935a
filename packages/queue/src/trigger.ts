import { createRun, markRunFailed, type CreateRunInput, type CreateRunResult, type Db } from '@pksync/db';
import type { QueueClient } from './producer.ts';

/**
 * Starts a run the one way every trigger does (CLI, scheduler, API): inserts it in PostgreSQL,
 * which returns the already queued/running run of the same scope instead of a second one (the
 * partial unique index is the arbiter), then enqueues its flow. A run whose flow cannot be
 * enqueued (Redis down) is marked failed at once, so it never blocks its scope.
 *
 * @example
 * const { run, created } = await triggerRun(db, queues, { scope: { kind: 'region', value: '16.71' },
 *   trigger: 'manual', requestedBy: 'cli:budi', asOf: '2026-11-27' });
 */
export async function triggerRun(db: Db, queues: QueueClient, input: CreateRunInput): Promise<CreateRunResult> {
  const result = await createRun(db, input);
  if (!result.created) return result;
  try {
    await queues.enqueueRun({ runId: result.run.id });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    await markRunFailed(db, result.run.id, `could not enqueue the run: ${msg}`, { releaseScheduleSlot: true });
    throw new Error(`run ${result.run.id} could not be queued (is Redis reachable?): ${msg}`, { cause: e });
  }
  return result;
}
