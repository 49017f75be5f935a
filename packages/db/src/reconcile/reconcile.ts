import { sql, type Transaction } from 'kysely';
import type { Db } from '../db.ts';
import type { Database } from '../schema.ts';
import { DEFAULT_FORMATION_START_YEAR, DEFAULT_NEED_TOLERANCE } from '@pksync/core';
import { BULK_LOAD_ROWS } from './bulk-load.ts';
import { ReconcileError, type ReconcileContext } from './context.ts';
import { createHoldApply, readRunSources } from './sources.phase.ts';
import { chooseWinners, collectCandidates } from './candidates.phase.ts';
import { decideRemovals } from './removals.phase.ts';
import { computeDiff, flagRetirement } from './diff.phase.ts';
import { replaceFormations, replaceWorkloads, writeWorkloads } from './formations.phase.ts';
import { collectTouchedRegions, refreshNeeds } from './needs.phase.ts';
import {
  changeSizes,
  NO_CHANGES,
  publishVersion,
  registerTotals,
  totalsBefore,
  type ChangeSizes,
} from './publish.phase.ts';
import { addDatedRegions, readRunScope } from './scope.phase.ts';
import { evaluateFindings } from './findings.phase.ts';
import { recordListings } from './bookkeeping.phase.ts';

export interface ReconcileInput {
  runId: string;
  /** The run's `as_of` date, `YYYY-MM-DD`: ages (R11) and the formation year (R12) come from it. */
  asOf: string;
  /** New rows from which a publication rebuilds a table's indexes (default {@link BULK_LOAD_ROWS}; lower in tests). */
  bulkLoadRows?: number;
  /**
   * Needs planning (needs-planning-v1.md, the worker passes `config.needs`): R16's tolerance
   * (default {@link DEFAULT_NEED_TOLERANCE}) and R17's first year (default {@link DEFAULT_FORMATION_START_YEAR}).
   */
  needs?: { tolerance: number; formationStartYear: number };
}

export interface ReconcileResult {
  /** The version published (R14), or null when the run changed nothing. */
  version: number | null;
  counts: { added: number; removed: number; changed: number; active: number; officers: number };
  /** Findings opened and resolved by the run: their ids (the alert outbox takes them), and how many. */
  findings: { opened: number; resolved: number; openedIds: number[]; resolvedIds: number[] };
  /** Milliseconds per phase (lock wait included in the first), for logs and benchmarks. */
  timings: Record<string, number>;
}

// One advisory-lock key for every reconcile: versions form a strict sequence (R14).
const RECONCILE_LOCK = 0x706b73796e63; // 'pksync'

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function assertDate(asOf: string): void {
  const d = new Date(`${asOf}T00:00:00Z`);
  if (!DATE_RE.test(asOf) || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== asOf) {
    throw new ReconcileError(`reconcileRun: asOf must be a real date YYYY-MM-DD, got "${asOf}"`);
  }
}

/**
 * Reconciles a run into the register (R8–R14), serialised with every other reconcile by an
 * advisory lock, so versions stay a strict sequence. Given a transaction, it runs inside it (the
 * worker's reconcile job then records the content hashes, completes the run and writes the alert
 * outbox in the same transaction); given the database, it opens its own. The phases, in order:
 *
 * 0. scope: a national run on a new `as_of` evaluates the date-dependent rules (R11, R12,
 *    R16–R18) over the whole register; any other run only over regions — a scoped run's own and
 *    those it touches, and the regions last evaluated on another `as_of` (`scope.phase.ts`,
 *    docs/decisions.md § Scoped runs);
 * 1. sources (R9, R8): which sources the run covers and how; the held removals it applies;
 * 2. candidates (R10, R11): the NIPs it touches and every candidate entry for them;
 * 3. winners (R10): the later `tmt_jabatan` stands, ties keep the registered assignment;
 * 4. removals (R8): officers no winner keeps leave — unless the mass-removal guard holds them;
 * 5. diff (R14, R11): what changed, field by field;
 * 6. formations (R12) and workloads (R16) of the re-read sources; the regions touched (`treg`)
 *    and dated (`dreg`); R11's flips of untouched officers there (or register-wide);
 * 7. publish (R14): version n+1 only when officers or formations changed; the workloads (not
 *    versioned) are written whether or not; the totals are the previous version's plus the diff;
 * 8. needs (R16–R18): the retirement outlook (R18, in SQL) of the touched and dated regions, or
 *    of all when register-wide (or a national run touched most); the computed needs (R16,
 *    @pksync/core) of `as_of`'s year, every region (a scoped run: its own and those it touched);
 * 9. findings: merged by fingerprint, resolved when gone (R16–R18 in `findings/needs.findings.ts`);
 * 10. bookkeeping: the re-read snapshots become the sources' listings.
 *
 * A quiet run (no snapshot re-read, no held removal to apply, nothing to evaluate on a new
 * `as_of`) cannot change the register: phases 2–7 are skipped — each would be empty — and only
 * its findings (R9 staleness, resolutions) and R16 (a parameter version added since may now be
 * in force) are evaluated.
 */
export async function reconcileRun(db: Db | Transaction<Database>, input: ReconcileInput): Promise<ReconcileResult> {
  const { runId, asOf } = input;
  if (!UUID_RE.test(runId)) throw new ReconcileError(`reconcileRun: runId must be a UUID, got "${runId}"`);
  assertDate(asOf);
  const { needs } = input;
  if (
    needs &&
    !(Number.isFinite(needs.tolerance) && needs.tolerance >= 0 && Number.isInteger(needs.formationStartYear))
  ) {
    throw new ReconcileError(
      `reconcileRun: needs must be a tolerance ≥ 0 and a whole start year, got ${JSON.stringify(needs)}`,
    );
  }
  const run = (trx: Transaction<Database>) => reconcileInTransaction(trx, input);
  return db.isTransaction ? run(db as Transaction<Database>) : db.transaction().execute(run);
}

async function reconcileInTransaction(trx: Transaction<Database>, input: ReconcileInput): Promise<ReconcileResult> {
  const { runId, asOf } = input;
  const timings: Record<string, number> = {};
  let last = performance.now();
  const lap = (phase: string) => {
    const now = performance.now();
    timings[phase] = Math.round(now - last);
    last = now;
  };
  await sql`select pg_advisory_xact_lock(${RECONCILE_LOCK}::bigint)`.execute(trx);
  // Sorts of up to ~1M rows (ordered index inserts below) stay in memory.
  await sql`set local work_mem = '512MB'`.execute(trx);
  // JIT compiling costs 0.1–0.4 s per large statement here, more than it saves at these sizes.
  await sql`set local jit = off`.execute(trx);
  const run = await trx.selectFrom('runs').select(['id', 'scope_kind']).where('id', '=', runId).executeTakeFirst();
  if (!run) throw new ReconcileError(`reconcileRun: run ${runId} does not exist`);
  // The date-dependent rules over the whole register only in a national run whose as_of differs
  // from the last national evaluation; otherwise only what the run touches, its scope's regions
  // and regions evaluated on another as_of can have changed.
  const national = run.scope_kind === 'national';
  const state = await trx.selectFrom('register_state').select('evaluated_as_of').executeTakeFirst();
  const scope = await readRunScope(trx, { runId, asOf, national, evaluatedAsOf: state?.evaluated_as_of ?? null });
  const ctx: ReconcileContext = {
    trx,
    runId,
    asOf,
    year: Number(asOf.slice(0, 4)),
    bulkLoadRows: input.bulkLoadRows ?? BULK_LOAD_ROWS,
    national,
    registerWide: scope.registerWide,
    needs: input.needs ?? { tolerance: DEFAULT_NEED_TOLERANCE, formationStartYear: DEFAULT_FORMATION_START_YEAR },
    lap,
  };
  lap('scope');

  const src = await readRunSources(ctx);
  lap('sources');
  await createHoldApply(ctx, src.applyHoldIds);
  lap('holds');
  const before = await totalsBefore(ctx);
  const quiet =
    src.snapshotSources.length === 0 && src.applyHoldIds.length === 0 && !ctx.registerWide && scope.dated === 0;
  let sizes: ChangeSizes = NO_CHANGES;
  let version: number | null = null;
  if (quiet) {
    await sql`create temporary table aff (nip text) on commit drop`.execute(trx);
    await collectTouchedRegions(ctx, quiet);
    lap('quiet');
  } else {
    await collectCandidates(ctx, src);
    await chooseWinners(ctx);
    await decideRemovals(ctx, src.applyHoldIds);
    await computeDiff(ctx);
    await replaceFormations(ctx, src.snapshotSources);
    await replaceWorkloads(ctx, src.snapshotSources);
    await collectTouchedRegions(ctx, quiet);
    const dated = await addDatedRegions(ctx);
    if (ctx.registerWide || dated > 0) await flagRetirement(ctx);
    sizes = await changeSizes(ctx);
    version = await publishVersion(ctx, sizes);
    await writeWorkloads(ctx);
  }
  const counts = await registerTotals(ctx, version, sizes, before);
  const needs = await refreshNeeds(ctx);
  const findings = await evaluateFindings(ctx, src, quiet, needs);
  await recordListings(ctx, src.snapshotSources);
  return {
    version,
    counts,
    findings: {
      opened: findings.opened.length,
      resolved: findings.resolved.length,
      openedIds: findings.opened,
      resolvedIds: findings.resolved,
    },
    timings,
  };
}
