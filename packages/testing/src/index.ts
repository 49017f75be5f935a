export * from './fixtures.ts';
export { resolveTestServices, LOCAL_DATABASE_URL, LOCAL_REDIS_URL, type TestServices } from './services.ts';
export * from './factories.ts';
