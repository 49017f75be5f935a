export * from './digest.ts';
export * from './fix-hints.ts';
export * from './mask.ts';
export * from './render.ts';
export * from './transports.ts';
export * from './write-outbox.ts';
export * from './deliver.ts';
export * from './test-message.ts';
