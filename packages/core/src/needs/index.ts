// Needs and formation planning (needs-planning-v1.md). Where each rule lives:
// - the parameter set: parameters.ts (schema, the version in force, area/complexity factors);
// - R16 computed need: need.ts, called by the reconcile's needs phase (@pksync/db) — production;
// - R17 formation before appointment: appointment.ts, oracle of needs.findings.ts (SQL);
// - R18 retirement outlook: outlook.ts — cut-offs and the wave called by the needs phase, counts
//   the oracle of its SQL. The pins: packages/db/test/needs.oracles.int.test.ts;
// - the figures GET /needs, the CLI and the console show (R17 available formation, R18 projected
//   shortfall, their sums over regions and levels): figures.ts, applied by getNeeds (@pksync/db).
export * from './parameters.ts';
export * from './need.ts';
export * from './appointment.ts';
export * from './outlook.ts';
export * from './figures.ts';
