/**
 * Reconciliation (R8–R14): one run's staged snapshots into the versioned register, in phases
 * (see {@link reconcileRun}); each phase is a file of this folder, the finding builders are in
 * `findings/` by family.
 */
export { reconcileRun, type ReconcileInput, type ReconcileResult } from './reconcile.ts';
export { ReconcileError, StagedRowsLostError } from './context.ts';
