export * from './registry.ts';
export * from './server.ts';
export * from './pipeline.ts';
