export * from './mass-removal.ts';
export * from './assignment.ts';
export * from './retirement.ts';
export * from './formation.ts';
export * from './coverage.ts';
export * from './staleness.ts';
