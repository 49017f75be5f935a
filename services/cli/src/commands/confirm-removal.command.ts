import type { Command } from 'commander';
import { loadConfig } from '@pksync/config';
import { calendarDateIn, confirmRemoval, createDb, listHeldRemovals, listSources, RunScopeError } from '@pksync/db';
import { createQueueClient, triggerRun } from '@pksync/queue';
import { cliRequester } from './runs.command.ts';
import { formatRunSummary, waitForRun } from './sync.command.ts';

export interface ConfirmRemovalOptions {
  reason?: string;
  by?: string;
  sync: boolean;
  wait?: boolean;
}

/**
 * `pksync sources confirm-removal ID --reason TEXT`: an admin confirms a source's held mass
 * removal (R8); then a run of that source applies it at once (`--no-sync` leaves it to the next
 * run). Registered under the `sources` command (this file's register runs after that one).
 */
export function register(program: Command): void {
  const sources =
    program.commands.find((c) => c.name() === 'sources') ??
    program.command('sources').description('source registry (one source per agency feed)');
  sources
    .command('confirm-removal')
    .description('confirm a held mass removal (R8) of a source and apply it with a run of that source')
    .argument('<id>', 'source id')
    .requiredOption('--reason <text>', 'why the removal is right (kept with the confirmation)')
    .option('--by <name>', 'who confirms (default: cli:<os user>)')
    .option('--no-sync', 'only confirm; the next run covering the source applies it')
    .option('--wait', 'wait for the applying run and print its summary')
    .action(async (id: string, o: ConfirmRemovalOptions) => {
      const config = loadConfig();
      const db = createDb(config.databaseUrl, { max: 2, applicationName: 'pksync-cli' });
      const queues = createQueueClient({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
      try {
        if ((await listSources(db, { id })).length === 0) {
          console.error(`unknown source "${id}"`);
          process.exitCode = 2;
          return;
        }
        const [held] = await listHeldRemovals(db, { sourceId: id });
        if (!held) {
          console.error(`source ${id} has no held mass removal to confirm`);
          process.exitCode = 1;
          return;
        }
        const by = o.by ?? cliRequester();
        const res = await confirmRemoval(db, { sourceId: id, by, reason: o.reason ?? '' });
        if (res.confirmed) console.log(`confirmed: ${res.nips} officers of ${id} leave the register (by ${by})`);
        else
          console.log(`the removal of ${id} was already confirmed; it is applied by the next run covering the source`);
        if (!o.sync) return;
        let result;
        try {
          result = await triggerRun(db, queues, {
            scope: { kind: 'source', value: id },
            trigger: 'manual',
            requestedBy: by,
            reason: `confirm-removal: ${o.reason}`,
            asOf: calendarDateIn(config.syncTimezone),
          });
        } catch (e) {
          if (e instanceof RunScopeError) {
            console.error(`${e.message}; the confirmed removal is applied by the next run covering the source`);
            return;
          }
          throw e;
        }
        console.log(
          result.created
            ? `run ${result.run.id} queued to apply it`
            : `run ${result.run.id} for ${result.run.scope_key} is already ${result.run.status}; the removal is applied by the next run`,
        );
        if (o.wait) {
          const p = await waitForRun(db, result.run.id);
          console.log(await formatRunSummary(db, p));
          process.exitCode = p.run.status === 'completed' ? 0 : 1;
        }
      } finally {
        await queues.close();
        await db.destroy();
      }
    });
}
