import type { Command } from 'commander';
import { loadConfig } from '@pksync/config';
import { createDb, listRuns, type Run } from '@pksync/db';

/** Timestamps come back from pg as Date (the schema's Generated<> wrapper hides it). */
export const asDate = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));

const n = (v: unknown) => (typeof v === 'number' ? v : 0);

function duration(run: Run): string {
  if (!run.finished_at) return run.started_at ? 'running' : '-';
  const ms = asDate(run.finished_at).getTime() - asDate(run.started_at ?? run.created_at).getTime();
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

/** One line per run: when, id, scope, trigger and who, status, source outcomes, records, version. */
export function formatRunLine(run: Run): string {
  const c = (run.counts ?? {}) as Record<string, unknown>;
  const when = asDate(run.created_at).toISOString().replace('T', ' ').slice(0, 19);
  const sources = `sources ${n(c.succeeded)} ok/${n(c.unchanged)} unchanged/${n(c.failed)} failed of ${n(c.sources)}`;
  const version = run.version_published ? `v${run.version_published}` : run.status === 'completed' ? 'no change' : '';
  const changes = run.status === 'completed' ? `+${n(c.added)} -${n(c.removed)} ~${n(c.changed)}` : '';
  return [
    when,
    run.id,
    run.scope_key.padEnd(16),
    `${run.trigger}${run.requested_by ? `(${run.requested_by})` : ''}`,
    `as_of ${run.as_of}`,
    run.status.padEnd(9),
    sources,
    `rejected ${n(c.rejected)}`,
    version,
    changes,
    duration(run),
    run.error ? `error: ${run.error}` : '',
  ]
    .filter(Boolean)
    .join('  ');
}

/** `pksync runs [--last N]`: recent runs, newest first, one line each. */
export function register(program: Command): void {
  program
    .command('runs')
    .description('recent sync runs, newest first, one line each')
    .option('--last <n>', 'how many runs', '20')
    .option('--json', 'print JSON instead of lines')
    .action(async (o: { last: string; json?: boolean }) => {
      const last = Number(o.last);
      if (!Number.isInteger(last) || last < 1 || last > 1000)
        throw new Error(`--last must be a whole number from 1 to 1000, got "${o.last}"`);
      const config = loadConfig();
      const db = createDb(config.databaseUrl, { max: 2, applicationName: 'pksync-cli' });
      try {
        const runs = await listRuns(db, { limit: last });
        if (o.json) console.log(JSON.stringify(runs, null, 2));
        else if (runs.length === 0) console.log('no runs yet (start one with: pksync sync --national)');
        else for (const r of runs) console.log(formatRunLine(r));
      } finally {
        await db.destroy();
      }
    });
}
