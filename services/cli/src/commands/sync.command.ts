import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { loadConfig } from '@pksync/config';
import {
  calendarDateIn,
  createDb,
  getRunProgress,
  isConnectionError,
  isRunActive,
  listSourceFetches,
  RunScopeError,
  type Db,
  type RunProgress,
  type RunScope,
} from '@pksync/db';
import { createQueueClient, triggerRun } from '@pksync/queue';
import { isCalendarDate } from '@pksync/core';
import { asDate, cliRequester } from './runs.command.ts';
import { normaliseRegionCode, regionByCode } from '@pksync/reference';

/**
 * Exit codes of `pksync sync` (and `pksync runs`): 0 the run completed (some sources may have
 * failed: that is reported), 1 the run failed or was cancelled, 2 bad usage or PostgreSQL/Redis
 * unreachable, 3 `--wait` gave up after `--timeout` (the run goes on).
 */
export const SYNC_EXIT = { completed: 0, failed: 1, usage: 2, unreachable: 2, timeout: 3 } as const;

export interface SyncOptions {
  national?: boolean;
  province?: string;
  region?: string;
  source?: string;
  asOf?: string;
  wait?: boolean;
  reason?: string;
  timeout?: string;
}

/** The scope the options name (national when none is given); throws naming a bad option. */
export function scopeFromOptions(o: Pick<SyncOptions, 'national' | 'province' | 'region' | 'source'>): RunScope {
  const given = [o.national && 'national', o.province && 'province', o.region && 'region', o.source && 'source'].filter(
    Boolean,
  );
  if (given.length > 1) throw new Error(`give one scope only (got --${given.join(', --')})`);
  if (o.province !== undefined) {
    const code = o.province.trim();
    const r = regionByCode(code);
    if (!r || r.level !== 'province') throw new Error(`--province: "${o.province}" is not a province code (e.g. 16)`);
    return { kind: 'province', value: r.code };
  }
  if (o.region !== undefined) {
    const code = normaliseRegionCode(o.region.trim());
    const r = code ? regionByCode(code) : undefined;
    if (!r) throw new Error(`--region: "${o.region}" is not a region code (e.g. 16.71)`);
    return { kind: 'region', value: r.code };
  }
  if (o.source !== undefined) {
    if (!o.source.trim()) throw new Error('--source: give a source id');
    return { kind: 'source', value: o.source.trim() };
  }
  return { kind: 'national' };
}

const fmtSeconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** One plain progress line (non-terminal output). */
export function progressLine(p: RunProgress, elapsedMs: number): string {
  const s = p.sources;
  return `run ${p.run.id.slice(0, 8)} ${p.run.status}: sources ${s.done}/${s.total} done (${s.failed} failed, ${s.unchanged} unchanged), records ${p.records.rows}, rejects ${p.records.rejected}, ${fmtSeconds(elapsedMs)}`;
}

/** Thrown by {@link waitForRun} when PostgreSQL stayed unreachable longer than its `outageMs`. */
export class UnreachableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnreachableError';
  }
}

/**
 * Polls a run until it is completed, failed or cancelled, showing a live bar on a terminal
 * (sources done/failed/total, records, rejects, elapsed) and a plain line every few seconds
 * otherwise. PostgreSQL unreachable for a while (a restart) is waited out with a message; past
 * `outageMs` (default 5 min) it throws {@link UnreachableError}.
 */
export async function waitForRun(
  db: Db,
  runId: string,
  options: {
    tty?: boolean;
    timeoutMs?: number;
    pollMs?: number;
    outageMs?: number;
    write?: (line: string) => void;
  } = {},
): Promise<RunProgress & { timedOut: boolean }> {
  const tty = options.tty ?? Boolean(process.stderr.isTTY);
  const write = options.write ?? ((l: string) => console.log(l));
  const started = Date.now();
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          format:
            ' {bar} {value}/{total} sources | {failed} failed | {records} records | {rejects} rejects | {elapsed} | {status}',
          hideCursor: true,
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let lastLine = 0;
  let lastDone = -1;
  let warnedIdle = false;
  let outageSince: number | undefined;
  const outageMs = options.outageMs ?? 300_000;
  try {
    for (;;) {
      let p: RunProgress | undefined;
      try {
        p = await getRunProgress(db, runId);
      } catch (e) {
        if (!isConnectionError(e)) throw e;
        const now = Date.now();
        if (outageSince === undefined) {
          outageSince = now;
          bar?.stop();
          write(`PostgreSQL is unreachable (${(e as Error).message}); still waiting for run ${runId}`);
        } else if (now - outageSince > outageMs) {
          throw new UnreachableError(
            `PostgreSQL has been unreachable for ${Math.round((now - outageSince) / 1000)} s; stopped waiting (the run may still go on: pksync runs show ${runId})`,
            { cause: e },
          );
        }
        await new Promise((r) => setTimeout(r, 1_000));
        continue;
      }
      if (!p) throw new Error(`run ${runId} not found`);
      if (outageSince !== undefined) {
        write(`PostgreSQL is back after ${fmtSeconds(Date.now() - outageSince)}`);
        outageSince = undefined;
        if (bar) lastDone = -1;
      }
      const elapsed = Date.now() - started;
      const finished = !isRunActive(p.run.status);
      if (bar) {
        const payload = {
          failed: p.sources.failed,
          records: p.records.rows,
          rejects: p.records.rejected,
          elapsed: fmtSeconds(elapsed),
          status: p.sources.done === p.sources.total && !finished ? 'reconciling' : p.run.status,
        };
        if (lastDone < 0) bar.start(p.sources.total, p.sources.done, payload);
        else bar.update(p.sources.done, payload);
      } else if (finished || p.sources.done !== lastDone || Date.now() - lastLine > 5000) {
        if (Date.now() - lastLine > 1000 || finished) {
          write(progressLine(p, elapsed));
          lastLine = Date.now();
        }
      }
      lastDone = p.sources.done;
      if (finished) return { ...p, timedOut: false };
      if (!warnedIdle && p.run.status === 'queued' && elapsed > 15_000) {
        warnedIdle = true;
        const msg = 'the run is still queued after 15 s: is a worker running? (pksync serve worker)';
        if (bar) bar.stop();
        write(msg);
        if (bar) bar.start(p.sources.total, p.sources.done);
      }
      if (options.timeoutMs && elapsed > options.timeoutMs) return { ...p, timedOut: true };
      await new Promise((r) => setTimeout(r, options.pollMs ?? 250));
    }
  } finally {
    bar?.stop();
  }
}

const num = (v: unknown) => (typeof v === 'number' ? v : 0);

/** The summary printed after a waited run: outcome, sources, records, version and diff, failed sources. */
export async function formatRunSummary(db: Db, p: RunProgress): Promise<string> {
  const run = p.run;
  const c = (run.counts ?? {}) as Record<string, unknown>;
  const took =
    run.finished_at && (run.started_at || run.created_at)
      ? fmtSeconds(asDate(run.finished_at).getTime() - asDate(run.started_at ?? run.created_at).getTime())
      : '-';
  const lines = [
    `run ${run.id} (${run.scope_key}, as_of ${run.as_of}): ${run.status} in ${took}`,
    `  sources: ${p.sources.succeeded} fetched, ${p.sources.unchanged} unchanged, ${p.sources.failed} failed, of ${p.sources.total}`,
    `  records: ${p.records.rows} read, ${p.records.accepted} accepted, ${p.records.rejected} rejected`,
  ];
  if (run.status === 'completed') {
    lines.push(
      run.version_published
        ? `  published version ${run.version_published}: +${num(c.added)} added, -${num(c.removed)} removed, ~${num(c.changed)} changed; ${num(c.active)} active officers`
        : '  nothing changed: no new version published (R14)',
    );
    lines.push(`  findings: ${num(c.findingsOpened)} opened, ${num(c.findingsResolved)} resolved`);
  }
  if (run.error) lines.push(`  error: ${run.error}`);
  if (p.sources.failed > 0) {
    const failed = (await listSourceFetches(db, run.id)).filter((f) => f.status === 'failed');
    lines.push(`  failed sources (R9: their published entries stay, marked stale):`);
    for (const f of failed.slice(0, 25))
      lines.push(`    ${f.source_id}: ${f.error_code ?? 'error'} ${f.error_message ?? ''}`.trimEnd());
    if (failed.length > 25) lines.push(`    … and ${failed.length - 25} more (pksync runs, GET /runs/${run.id})`);
  }
  return lines.join('\n');
}

/** `pksync sync`: trigger a run (or join the one already queued/running for the scope). */
export function register(program: Command): void {
  program
    .command('sync')
    .description('start a sync run (national by default); a run already queued or running for the scope is reused')
    .option('--national', 'every enabled source (default)')
    .option('--province <code>', 'one province and its regencies/cities (e.g. 16)')
    .option('--region <code>', 'one region (e.g. 16.71)')
    .option('--source <id>', 'one source')
    .option('--as-of <date>', 'the run date YYYY-MM-DD (default: today in SYNC_TIMEZONE)')
    .option('--reason <text>', 'why (kept with the run)')
    .option('--wait', 'show progress and wait for the run to finish')
    .option('--timeout <s>', 'with --wait: give up waiting after this many seconds', '3600')
    .action(async (o: SyncOptions) => {
      let scope: RunScope;
      try {
        scope = scopeFromOptions(o);
      } catch (e) {
        console.error((e as Error).message);
        process.exitCode = SYNC_EXIT.usage;
        return;
      }
      if (o.asOf !== undefined && !isCalendarDate(o.asOf)) {
        console.error(`--as-of must be a calendar date YYYY-MM-DD (years 1900–9999), got "${o.asOf}"`);
        process.exitCode = SYNC_EXIT.usage;
        return;
      }
      const config = loadConfig();
      const asOf = o.asOf ?? calendarDateIn(config.syncTimezone);
      const db = createDb(config.databaseUrl, { max: 2, applicationName: 'pksync-cli' });
      const queues = createQueueClient({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
      try {
        let result;
        try {
          result = await triggerRun(db, queues, {
            scope,
            trigger: 'manual',
            requestedBy: cliRequester(),
            reason: o.reason ?? null,
            asOf,
          });
        } catch (e) {
          if (e instanceof RunScopeError) {
            console.error(e.message);
            process.exitCode = SYNC_EXIT.usage;
            return;
          }
          if (isConnectionError(e)) {
            console.error(`PostgreSQL is not reachable: ${(e as Error).message}; no run was started`);
            process.exitCode = SYNC_EXIT.unreachable;
            return;
          }
          throw e;
        }
        const { run, created, sourceIds } = result;
        console.log(
          created
            ? `run ${run.id} queued: ${run.scope_key}, ${sourceIds.length} sources, as_of ${run.as_of}`
            : `a run for ${run.scope_key} is already ${run.status}: ${run.id} (not starting another)`,
        );
        if (!o.wait) return;
        const timeoutS = Number(o.timeout);
        let p;
        try {
          p = await waitForRun(db, run.id, { timeoutMs: timeoutS > 0 ? timeoutS * 1000 : undefined });
        } catch (e) {
          if (!(e instanceof UnreachableError)) throw e;
          console.error(e.message);
          process.exitCode = SYNC_EXIT.unreachable;
          return;
        }
        if (p.timedOut) {
          console.error(`gave up waiting after ${o.timeout} s; the run continues (pksync runs)`);
          process.exitCode = SYNC_EXIT.timeout;
          return;
        }
        console.log(await formatRunSummary(db, p));
        process.exitCode = p.run.status === 'completed' ? SYNC_EXIT.completed : SYNC_EXIT.failed;
      } finally {
        await queues.close();
        await db.destroy();
      }
    });
}
