import { sql } from 'kysely';
import { TEMP, type ReconcileContext } from './context.ts';
import type { RunSources } from './sources.phase.ts';
import {
  bufferFindings,
  createFindingBuffer,
  mergeFindingBuffer,
  resolveGoneFindings,
} from './findings/finding-buffer.ts';
import { bufferRecordFindings } from './findings/record.findings.ts';
import { bufferAssignmentFindings } from './findings/assignment.findings.ts';
import { sourceFindings } from './findings/source.findings.ts';
import { bufferRegisterFindings } from './findings/register.findings.ts';
import { bufferNeedsFindings } from './findings/needs.findings.ts';
import type { NeedsState } from './needs.phase.ts';

/** The findings a run opened and resolved (ids, for the alert outbox). */
export interface RunFindings {
  opened: number[];
  resolved: number[];
}

/**
 * Phase 9, findings: every condition the run sees is buffered — record findings (R2/R3/R6/R7,
 * from staging), R10 assignments, R8 holds and R9 failures/staleness of the covered sources, R11
 * and R12 over what the run touched and the dated regions (the whole register when a national
 * run's `as_of` moved), R16–R18 from the needs phase (`needs.findings.ts`) — then merged into
 * `findings` by fingerprint, and the findings in the run's scope whose condition is gone are
 * resolved.
 */
export async function evaluateFindings(
  ctx: ReconcileContext,
  src: RunSources,
  quiet: boolean,
  needs: NeedsState,
): Promise<RunFindings> {
  const { trx, runId, asOf, year, registerWide } = ctx;
  const S = src.snapshotSources;
  await createFindingBuffer(trx);
  await bufferRecordFindings(trx, runId, S);
  if (!quiet) await bufferAssignmentFindings(trx);
  await bufferFindings(trx, await sourceFindings(trx, runId, src.fetchRows, src.outcome));
  await bufferRegisterFindings(trx, asOf, year, registerWide);
  ctx.lap('findings:rules');
  await bufferNeedsFindings(ctx, needs);
  ctx.lap('findings:needs');
  const opened = await mergeFindingBuffer(trx, runId);
  const resolved = await resolveGoneFindings(trx, runId, {
    snapshotSources: S,
    coveredSources: src.coveredSources,
    nipTable: TEMP.touched,
    registerWide,
    regionTable: TEMP.touchedRegions,
    datedRegionTable: TEMP.datedRegions,
    needsWide: needs.wide,
    needRegions: needs.needRegions,
  });
  // Only a national run moves the register's evaluated as_of (a scoped run's is that of its
  // regions' outlook rows).
  if (registerWide) {
    await sql`
      insert into register_state (id, evaluated_as_of) values (true, ${asOf}::date)
      on conflict (id) do update set evaluated_as_of = excluded.evaluated_as_of`.execute(trx);
  }
  ctx.lap('findings');
  return { opened, resolved };
}
