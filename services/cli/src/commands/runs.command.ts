import os from 'node:os';
import type { Command } from 'commander';
import { loadConfig } from '@pksync/config';
import {
  cancelRun,
  getRun,
  getRunProgress,
  listRuns,
  listSourceFetches,
  RunNotActiveError,
  type Db,
  type Run,
} from '@pksync/db';
import { withDb } from './with-db.ts';

/** Who asked: `cli:<os user>` (or `cli` when the user cannot be read). */
export function cliRequester(): string {
  try {
    return `cli:${os.userInfo().username}`;
  } catch {
    return 'cli';
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Exit codes of `pksync runs show|cancel|resume`: as `pksync sync`'s (1: the run is not active). */
const RUNS_EXIT = { ok: 0, notActive: 1, usage: 2 } as const;

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

/** `pksync runs show ID`: the run with its generation, resumes and per-source outcome. */
export async function formatRunDetails(db: Db, run: Run): Promise<string> {
  const p = await getRunProgress(db, run.id);
  const fetches = await listSourceFetches(db, run.id);
  const when = (v: unknown) => (v ? asDate(v).toISOString() : '-');
  const lines = [
    `run ${run.id}`,
    `  scope: ${run.scope_key}  trigger: ${run.trigger}${run.requested_by ? ` (${run.requested_by})` : ''}  as_of: ${run.as_of}`,
    `  status: ${run.status}  generation: ${run.generation}  resumes: ${run.resumes}${run.resumed_by ? ` (last by ${run.resumed_by} at ${when(run.resumed_at)})` : ''}`,
    `  created: ${when(run.created_at)}  started: ${when(run.started_at)}  finished: ${when(run.finished_at)}  (${duration(run)})`,
  ];
  if (run.reason) lines.push(`  reason: ${run.reason}`);
  if (run.schedule_slot) lines.push(`  schedule slot: ${run.schedule_slot}`);
  if (run.version_published) lines.push(`  published version: ${run.version_published}`);
  if (run.error) lines.push(`  error: ${run.error}`);
  if (p) {
    const s = p.sources;
    lines.push(
      `  sources: ${s.done}/${s.total} done — ${s.succeeded} fetched, ${s.unchanged} unchanged, ${s.failed} failed, ${s.running} running, ${s.pending} pending`,
      `  records: ${p.records.rows} read, ${p.records.accepted} accepted, ${p.records.rejected} rejected`,
    );
  }
  for (const f of fetches) {
    const err = f.error_code ? `  ${f.error_code}${f.error_message ? `: ${f.error_message}` : ''}` : '';
    lines.push(`    ${f.source_id.padEnd(24)} ${f.status.padEnd(9)} attempts ${f.attempts}${err}`);
  }
  return lines.join('\n');
}

/** Reads and checks the run id argument; prints why and sets exit 2 when it is not a known run. */
async function findRun(db: Db, id: string): Promise<Run | undefined> {
  if (!UUID_RE.test(id)) {
    console.error(`"${id}" is not a run id (a UUID, as pksync runs prints it)`);
    process.exitCode = RUNS_EXIT.usage;
    return undefined;
  }
  const run = await getRun(db, id);
  if (!run) {
    console.error(`no run ${id}`);
    process.exitCode = RUNS_EXIT.usage;
  }
  return run;
}

/** `pksync runs [--last N]`, and `runs show|cancel|resume ID`. */
export function register(program: Command): void {
  const runs = program
    .command('runs')
    .description('recent sync runs, newest first, one line each; runs show|cancel|resume ID')
    .option('--last <n>', 'how many runs', '20')
    .option('--json', 'print JSON instead of lines')
    .action(async (o: { last: string; json?: boolean }) => {
      const last = Number(o.last);
      if (!Number.isInteger(last) || last < 1 || last > 1000)
        throw new Error(`--last must be a whole number from 1 to 1000, got "${o.last}"`);
      await withDb(async (db) => {
        const list = (await listRuns(db, { limit: last })).map((r) => r.run);
        if (o.json) console.log(JSON.stringify(list, null, 2));
        else if (list.length === 0) console.log('no runs yet (start one with: pksync sync --national)');
        else for (const r of list) console.log(formatRunLine(r));
      });
    });

  runs
    .command('show <id>')
    .description('one run: status, generation and resumes, timings, per-source outcome')
    .option('--json', 'print JSON (the run, its progress and its fetches)')
    .action(async (id: string, o: { json?: boolean }) => {
      await withDb(async (db) => {
        const run = await findRun(db, id);
        if (!run) return;
        if (o.json) {
          const progress = await getRunProgress(db, run.id);
          const fetches = await listSourceFetches(db, run.id);
          console.log(
            JSON.stringify(
              { run, progress: progress && { sources: progress.sources, records: progress.records }, fetches },
              null,
              2,
            ),
          );
        } else console.log(await formatRunDetails(db, run));
      });
    });

  runs
    .command('cancel <id>')
    .description('end a queued or running run for good (frees its scope; audited)')
    .requiredOption('--reason <text>', 'why (kept with the run and in the audit log)')
    .action(async (id: string, o: { reason: string }) => {
      if (!o.reason.trim()) {
        console.error('--reason: say why the run is cancelled');
        process.exitCode = RUNS_EXIT.usage;
        return;
      }
      await withDb(async (db) => {
        if (!(await findRun(db, id))) return;
        try {
          const run = await cancelRun(db, id, { by: cliRequester(), actorRole: 'admin', reason: o.reason.trim() });
          console.log(`run ${id} cancelled: ${run?.scope_key} is free for the next trigger`);
        } catch (e) {
          if (!(e instanceof RunNotActiveError)) throw e;
          console.error(e.message);
          process.exitCode = RUNS_EXIT.notActive;
        }
      });
    });

  runs
    .command('resume <id>')
    .description('re-drive a queued or running run: finished fetches stay, the rest are queued again (audited)')
    .option('--reason <text>', 'why (kept in the audit log)')
    .action(async (id: string, o: { reason?: string }) => {
      await withDb(async (db) => {
        if (!(await findRun(db, id))) return;
        const config = loadConfig();
        // Loaded here, not at the top: bullmq and ioredis would double the start-up of every
        // other `pksync runs` command (issue 17).
        const { createQueueClient, resumeRun } = await import('@pksync/queue');
        const queues = createQueueClient({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
        try {
          const r = await resumeRun(db, queues, id, {
            by: cliRequester(),
            audit: { actorRole: 'admin', reason: o.reason ?? null },
          });
          if (!r?.resumed) {
            console.error(`run ${id} is ${r?.run.status}: only a queued or running run can be resumed`);
            process.exitCode = RUNS_EXIT.notActive;
            return;
          }
          console.log(
            `run ${id} resumed as generation ${r.generation}: ${r.reset.running} unfinished and ${r.reset.lost} lost fetches queued again`,
          );
        } finally {
          await queues.close();
        }
      });
    });
}
