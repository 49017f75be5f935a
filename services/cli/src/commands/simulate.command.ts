import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { start, type Simulator, type SimulatorConfig } from '@pksync/simulator';

export interface SimulateOptions {
  regions: string;
  seed: string;
  scale?: string;
  port: string;
  host: string;
  day?: string;
  sourcesOut?: string;
  delays: boolean;
  defectRate?: string;
}

function int(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${name} must be an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

/** Turns CLI options into a simulator config, with a clear message for each bad option. */
export function simulatorConfigFromOptions(o: SimulateOptions): SimulatorConfig {
  const config: SimulatorConfig = {
    port: int('port', o.port, 0, 65535),
    host: o.host,
    seed: int('seed', o.seed, 0, 2 ** 31 - 1),
    regions: o.regions,
    delays: o.delays,
  };
  if (o.scale !== undefined) {
    const s = Number(o.scale);
    if (!(s > 0) || s > 10_000) throw new Error(`--scale must be a number above 0 (at most 10000), got "${o.scale}"`);
    config.scale = s;
  }
  if (o.day !== undefined) config.day = int('day', o.day, 0, 3650);
  if (o.defectRate !== undefined) {
    const r = Number(o.defectRate);
    if (!(r >= 0 && r <= 1)) throw new Error(`--defect-rate must be from 0 to 1, got "${o.defectRate}"`);
    config.defectRate = r;
  }
  return config;
}

/** Starts the simulator and writes its sources file; resolves with it running. */
export async function runSimulate(o: SimulateOptions): Promise<Simulator> {
  const sim = await start(simulatorConfigFromOptions(o));
  if (o.sourcesOut) await writeFile(o.sourcesOut, JSON.stringify(sim.sourcesFile(), null, 2) + '\n');
  return sim;
}

/** `pksync simulate`: the regional agency simulator (services/simulator/README.md). */
export function register(program: Command): void {
  program
    .command('simulate')
    .description('serve simulated regional agencies over api, csv and xlsx (for demos and tests)')
    .option('--regions <spec>', 'all, a province (16), a region (16.71) or a comma list', 'all')
    .option('--seed <n>', 'random seed: the same seed gives the same agencies and officers', '1')
    .option('--scale <n>', 'multiply every agency’s officer count (e.g. 67 for ≈1,000,000)')
    .option('--port <p>', 'port (0 for any free port)', '8090')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--day <n>', 'start on day N (transfers, departures, mass removal so far)')
    .option('--sources-out <file>', 'write the sources file for `pksync sources import`')
    .option('--no-delays', 'no deliberate waits (slow sources, Retry-After 0): for benchmarks')
    .option('--defect-rate <r>', 'share of records with a seeded defect (default 0.03)')
    .action(async (o: SimulateOptions) => {
      const sim = await runSimulate(o);
      const agencies = sim.agencies();
      console.log(
        `simulator on ${sim.url}: ${agencies.length} agencies, ${agencies.reduce((s, a) => s + a.officers, 0)} officers (day ${sim.day()})`,
      );
      if (o.sourcesOut) console.log(`sources file written to ${o.sourcesOut}: pksync sources import ${o.sourcesOut}`);
      console.log(`advance time: curl -X POST ${sim.url}/_admin/day -d '{"advance": 1}'`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await sim.close();
    });
}
