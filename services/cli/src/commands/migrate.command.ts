import type { Command } from 'commander';
import { loadConfig } from '@pksync/config';
import { createDb, migrateToLatest, type MigrateReport } from '@pksync/db';

/** The lines `pksync migrate` prints: each migration's result, then the reference seed summary. */
export function formatMigrateReport(report: MigrateReport): string {
  const lines = report.migrations.map(
    (m) => `  ${m.status === 'Success' ? 'applied' : m.status.toLowerCase()} ${m.name}`,
  );
  if (lines.length === 0) lines.push('  schema is up to date (no migration to apply)');
  const r = report.reference;
  lines.push(
    `  reference data: ${r.regions} regions, ${r.levels} levels, ${r.grades} grades (${r.changed} rows inserted or changed)`,
  );
  const added = report.needParameters.added;
  lines.push(
    added.length
      ? `  need parameter sets added: ${added.join(', ')}`
      : '  need parameter sets: every shipped version is already loaded',
  );
  return lines.join('\n');
}

/** `pksync migrate`: create or upgrade the schema, then upsert the reference data. */
export function register(program: Command): void {
  program
    .command('migrate')
    .description('create/upgrade the database schema and the reference data (regions, levels, grades)')
    .action(async () => {
      const config = loadConfig();
      const db = createDb(config.databaseUrl, { max: 2, applicationName: 'pksync-migrate' });
      try {
        const report = await migrateToLatest(db);
        console.log(`migrations (${new URL(config.databaseUrl).pathname.slice(1)}):`);
        console.log(formatMigrateReport(report));
      } finally {
        await db.destroy();
      }
    });
}
