import type { Transaction } from 'kysely';
import type { Database } from '../schema.ts';

/** The run cannot be reconciled as asked (bad input, or staged data missing). */
export class ReconcileError extends Error {
  override name = 'ReconcileError';
}

/** The staged rows of some re-read sources are gone (a PostgreSQL crash empties UNLOGGED tables): fetch them again. */
export class StagedRowsLostError extends ReconcileError {
  override name = 'StagedRowsLostError';
  constructor(
    readonly runId: string,
    readonly sources: readonly string[],
  ) {
    super(
      `reconcileRun: the staged snapshot of ${sources.join(', ')} in run ${runId} is incomplete (staging rows lost, ` +
        'e.g. by a database restart); fetch and stage the source again',
    );
  }
}

/** What every phase of one reconciliation gets: its transaction, the run, and the phase clock. */
export interface ReconcileContext {
  trx: Transaction<Database>;
  runId: string;
  /** The run's `as_of`, `YYYY-MM-DD`: ages (R11) and the formation year (R12) come from it. */
  asOf: string;
  year: number;
  /** New rows from which a publication rebuilds a table's indexes (see `bulkLoadIndexes`). */
  bulkLoadRows: number;
  /**
   * A national run (`runs.scope_kind`); a scoped run (province, region, source) evaluates the
   * date-dependent rules (R11, R12, R16–R18) only in its scope and never moves
   * `register_state.evaluated_as_of` (docs/decisions.md § Scoped runs).
   */
  national: boolean;
  /**
   * R11/R12 (and R17/R18) over the whole register: a national run whose `as_of` differs from the
   * last national evaluation (`register_state.evaluated_as_of`), or one that finds most regions
   * evaluated on another `as_of`. Never a scoped run.
   */
  registerWide: boolean;
  /** Needs planning (needs-planning-v1.md): R16's tolerance, R17's first year. */
  needs: { tolerance: number; formationStartYear: number };
  /** Records the milliseconds since the previous lap under `phase`. */
  lap(phase: string): void;
}

/**
 * The temporary tables of one reconciliation (all `on commit drop`), in the order the phases
 * create them, with their columns. Phases and finding builders refer to them by these names.
 */
export const TEMP = {
  /** `(nip, source_id, hold_id, reason)`: officers of the held removals (R8) this run applies. */
  holdApply: 'h_apply',
  /** `(nip)`: every NIP the run touches (its snapshots, the register rows of its sources, applied holds, R10 findings). */
  touched: 'aff',
  /** The R10 candidates (staged, registered, listed) for the touched NIPs, register columns + `province_code`, `past_retirement` (R11); renamed `win` once the losers are deleted. */
  candidates: 'cand',
  /** `(nip)`: NIPs with more than one candidate. */
  contested: 'contested',
  /** The candidates of the contested NIPs with their R10 `rank` (1 = the winner) and `tid`. */
  contenders: 'contenders',
  /** The winners: one register row per touched NIP still registered. */
  winners: 'win',
  /** `(id, nip, source_id, region_code, province_code, active, hold_reason)`: register rows no winner keeps. */
  gone: 'gone',
  /** `gone` rows that really leave (not held by R8), with their `reason`. */
  removed: 'rem',
  /** The winners that differ from the register (`change` added/changed, `fields`, previous region/source/`prev_active`, `cur_id`). */
  diff: 'diff',
  /** `(source_id, region_code, year, level, need, approved)`: formation rows of the re-read snapshots (R12). */
  formationRows: 'fdes',
  /** `(id)`: current formation rows they replace. */
  formationClosed: 'fclose',
  /** Formation rows to insert. */
  formationNew: 'fnew',
  /** `(source_id, region_code, year, activity, volume, districts, complexity, position)`: workload rows of the re-read snapshots (R16), one source's set per region and year. */
  workloadRows: 'wdes',
  /**
   * `(region_code)`: regions a scoped run covers — its sources' regions (R16's scope, and where
   * the date-dependent rules are evaluated on its `as_of`); empty for a national run.
   */
  scopeRegions: 'sreg',
  /**
   * `(region_code)`: regions evaluated in full on the run's `as_of` (R11 flags of all their
   * officers, R12, R17, R18) because their last evaluation was on another `as_of`
   * (`retirement_outlook.as_of`): a scoped run's regions, and for a national run the regions
   * scoped runs left on another date. Empty when `registerWide` (everything is).
   */
  datedRegions: 'dreg',
  /** `(region_code)`: regions whose officers, formations or workloads the run may have changed, and the dated regions (R12, R16–R18). */
  touchedRegions: 'treg',
  /** `(region_code, level, active, retiring_1/3/5, before_start)`: R18's fresh counts of the regions in the needs scope, and R17's active officers appointed before its start year. */
  outlook: 'nout',
  /** R16's computed needs of `as_of`'s year (the columns of `computed_needs`). */
  computedNeeds: 'cneed',
  /** `(run_id, source_id)`: older staged snapshots no longer anyone's listing. */
  discarded: 'discard',
} as const;
