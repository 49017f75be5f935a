import type { Command } from 'commander';
import { loadConfig } from '@pksync/config';
import { createLogger } from '@pksync/queue';
import { simulatorConfigFromOptions, type SimulateOptions } from './simulate.command.ts';

export const SERVICES = ['api', 'worker', 'scheduler', 'simulator'] as const;
export type ServiceName = (typeof SERVICES)[number];

interface Stoppable {
  close(): Promise<void>;
}

/**
 * Waits for SIGTERM/SIGINT, then closes the service within the shutdown time-out; a second
 * signal or the time-out exits at once.
 */
export async function runUntilSignal(service: Stoppable, timeoutMs: number, name: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      const force = () => {
        console.error(`${name}: shutdown took longer than ${timeoutMs} ms; exiting`);
        process.exit(1);
      };
      const timer = setTimeout(force, timeoutMs + 2_000);
      timer.unref();
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      console.error(`${name}: ${signal} received, stopping…`);
      service
        .close()
        .catch((e: unknown) => console.error(`${name}: error while stopping: ${(e as Error).message}`))
        .finally(() => {
          clearTimeout(timer);
          resolve();
        });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/**
 * `pksync serve api|worker|scheduler|simulator`: one service in the foreground until SIGTERM/SIGINT.
 * A worker and the scheduler serve `/healthz`, `/readyz` and `/metrics` on METRICS_HOST:METRICS_PORT.
 */
export function register(program: Command): void {
  program
    .command('serve')
    .description('run one service (api, worker, scheduler or simulator) until SIGTERM/SIGINT')
    .argument('<service>', SERVICES.join('|'))
    .option('--concurrency <n>', 'worker: parallel fetches in this process (default WORKER_CONCURRENCY)')
    .option('--regions <spec>', 'simulator: all, a province (16), a region (16.71)', 'all')
    .option('--seed <n>', 'simulator: random seed', '1')
    .option('--port <p>', 'simulator: port (api: use PORT)', '8090')
    .option('--host <host>', 'simulator: interface', '127.0.0.1')
    .option('--scale <n>', 'simulator: officer count multiplier')
    .option('--day <n>', 'simulator: start day')
    .option('--no-delays', 'simulator: no deliberate waits')
    .action(async (service: string, o: SimulateOptions & { concurrency?: string }) => {
      if (!(SERVICES as readonly string[]).includes(service))
        throw new Error(`unknown service "${service}": use one of ${SERVICES.join(', ')}`);
      const name = service as ServiceName;
      if (name === 'simulator') {
        // Services load on demand: `pksync check` does not pay for (or depend on) the worker.
        const { start: startSimulator } = await import('@pksync/simulator');
        const sim = await startSimulator(simulatorConfigFromOptions(o));
        console.log(`simulator listening on ${sim.url} (${sim.agencies().length} agencies)`);
        await runUntilSignal(sim, 5_000, 'simulator');
        return;
      }
      const config = loadConfig();
      const log = createLogger({ level: config.logLevel, base: { service: name } });
      let running: Stoppable;
      if (name === 'worker') {
        const concurrency = o.concurrency === undefined ? undefined : Number(o.concurrency);
        if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0))
          throw new Error(`--concurrency must be a positive whole number, got "${o.concurrency}"`);
        const { start: startWorker } = await import('@pksync/worker');
        running = await startWorker(config, { log, concurrency, metrics: config.metrics });
      } else if (name === 'scheduler') {
        const { start: startScheduler } = await import('@pksync/scheduler');
        running = await startScheduler(config, { log, metrics: config.metrics });
      } else {
        const { start: startApi } = await import('@pksync/api');
        const api = await startApi(config, { logger: log });
        log.info({ url: api.url }, 'api started');
        running = api;
      }
      await runUntilSignal(running, config.shutdownTimeoutMs, name);
    });
}
