export * from './findings.ts';
export * from './officer.ts';
