export * from './catalog.ts';
export * from './errors.ts';
export * from './connection.ts';
export * from './producer.ts';
export * from './worker.ts';
export * from './logger.ts';
export * from './trigger.ts';
export * from './recovery.ts';
