// Where each register rule lives (docs/decisions.md § One home per rule). "Oracle": production
// runs the rule in SQL (packages/db/src/reconcile/) and a test pins that SQL to this function.
// - R8 mass-removal guard: mass-removal.ts, called by reconcileRun (removals/sources phases).
// - R9 staleness: staleness.ts, called for source_stale; oracle of STALE_SQL (db staleness.sql.ts).
// - R10 transfers/conflicts: assignment.ts, oracle of candidates.phase.ts (register.int.test.ts).
// - R11 retirement age: retirement.ts, oracle of candidates/diff phases, register.findings.ts.
// - R12 formation: formation.ts, figures called by getRegionSummaries; findings oracle of register.findings.ts.
// - R13 coverage: coverage.ts, called by getRegionSummaries.
// The R9/R11/R12 pins: packages/db/src/reconcile/oracles.int.test.ts.
export * from './mass-removal.ts';
export * from './assignment.ts';
export * from './retirement.ts';
export * from './formation.ts';
export * from './coverage.ts';
export * from './staleness.ts';
