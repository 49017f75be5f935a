import type { TestProject } from 'vitest/node';
import { resolveTestServices, redact } from './services.ts';
import { dropTemplate, ensureTemplate } from './template.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pksyncDatabaseUrl: string;
    pksyncTemplate: string;
    pksyncRedisUrl: string;
  }
}

/** vitest globalSetup: find the services once, build the migrated template, hand both to tests. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const services = await resolveTestServices();
  const template = await ensureTemplate(services.databaseUrl);
  console.log(
    `pksync tests: PostgreSQL ${redact(services.databaseUrl)}, Redis ${redact(services.redisUrl)} (${services.origin}); template ${template}`,
  );
  project.provide('pksyncDatabaseUrl', services.databaseUrl);
  project.provide('pksyncTemplate', template);
  project.provide('pksyncRedisUrl', services.redisUrl);
  return async () => {
    // The run leaves no database behind: each test file dropped its own, this drops the template.
    await dropTemplate(services.databaseUrl, template).catch((e: unknown) =>
      console.warn(`pksync tests: could not drop the template ${template}: ${String(e)}`),
    );
    await services.stop();
  };
}
