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

/** The findings a run opened and resolved (ids, for the alert outbox). */
export interface RunFindings {
  opened: number[];
  resolved: number[];
}

/**
 * Phase 8, findings: every condition the run sees is buffered — record findings (R2/R3/R6/R7,
 * from staging), R10 assignments, R8 holds and R9 failures/staleness of the covered sources, R11
 * and R12 over what the run touched (the whole register when `as_of` moved) — then merged into
 * `findings` by fingerprint, and the findings in the run's scope whose condition is gone are
 * resolved.
 */
export async function evaluateFindings(ctx: ReconcileContext, src: RunSources, quiet: boolean): Promise<RunFindings> {
  const { trx, runId, asOf, year, registerWide } = ctx;
  const S = src.snapshotSources;
  await createFindingBuffer(trx);
  await bufferRecordFindings(trx, runId, S);
  if (!quiet) await bufferAssignmentFindings(trx);
  await bufferFindings(trx, await sourceFindings(trx, runId, src.fetchRows, src.outcome));
  // Regions whose R12 figures this run may have changed (incremental mode).
  if (quiet) await sql`create temporary table treg (region_code text) on commit drop`.execute(trx);
  else
    await sql`
      create temporary table treg on commit drop as
      select region_code from win
      union select region_code from contenders
      union select region_code from gone
      union select prev_region_code from diff where prev_region_code is not null
      union select region_code from fdes
      union select f.region_code from formations f join fclose c on c.id = f.id`.execute(trx);
  await bufferRegisterFindings(trx, asOf, year, registerWide);
  const opened = await mergeFindingBuffer(trx, runId);
  const resolved = await resolveGoneFindings(trx, runId, {
    snapshotSources: S,
    coveredSources: src.coveredSources,
    nipTable: TEMP.touched,
    registerWide,
    regionTable: TEMP.touchedRegions,
  });
  if (registerWide) {
    await sql`
      insert into register_state (id, evaluated_as_of) values (true, ${asOf}::date)
      on conflict (id) do update set evaluated_as_of = excluded.evaluated_as_of`.execute(trx);
  }
  ctx.lap('findings');
  return { opened, resolved };
}
