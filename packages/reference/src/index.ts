export * from './regions.ts';
export * from './levels.ts';
export * from './grades.ts';
export * from './need-parameters.ts';
