/**
 * The `pksync` command line. Each command lives in `./commands/<name>.command.ts` and exports
 * `register(program)`; add one entry per command to {@link COMMANDS}.
 *
 * Only the module of the command being run is loaded (a command pulls in the database, the queues,
 * the API…: loading all of them cost over a second before anything ran, issue 17). `pksync --help`
 * and `pksync help` list the commands from the table below without loading any of them;
 * program.test.ts keeps each summary equal to the description its module registers.
 */
import { Command } from 'commander';

type CommandModule = { register(program: Command): void };

/** Every top-level command: its one-line summary and the modules that register it, in order. */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule>[] }> = {
  check: {
    summary:
      'Dry-run an agency file (CSV, XLSX or JSON) against exchange format v1 and rules R1–R7, and its workload (needs planning v1)',
    load: () => [import('./commands/check.command.ts')],
  },
  sources: {
    summary: 'source registry (one source per agency feed)',
    // confirm-removal adds its subcommand to `sources` (registered after it).
    load: () => [import('./commands/sources.command.ts'), import('./commands/confirm-removal.command.ts')],
  },
  simulate: {
    summary: 'serve simulated regional agencies over api, csv and xlsx (for demos and tests)',
    load: () => [import('./commands/simulate.command.ts')],
  },
  migrate: {
    summary: 'create/upgrade the database schema and the reference data (regions, levels, grades)',
    load: () => [import('./commands/migrate.command.ts')],
  },
  sync: {
    summary: 'start a sync run (national by default); a run already queued or running for the scope is reused',
    load: () => [import('./commands/sync.command.ts')],
  },
  runs: {
    summary: 'recent sync runs, newest first, one line each; runs show|cancel|resume ID',
    load: () => [import('./commands/runs.command.ts')],
  },
  serve: {
    summary: 'run one service (api, worker, scheduler or simulator) until SIGTERM/SIGINT',
    load: () => [import('./commands/serve.command.ts')],
  },
  demo: {
    summary: 'the whole pipeline on this machine: simulator, workers, scheduler, national sync, summary, API',
    load: () => [import('./commands/demo.command.ts')],
  },
  contacts: {
    summary: 'alert contacts: e-mail addresses and webhooks per province, and the ministry (admin) contacts',
    load: () => [import('./commands/contacts.command.ts')],
  },
  findings: {
    summary: 'data-quality findings (R15): list them, or acknowledge one',
    load: () => [import('./commands/findings.command.ts')],
  },
  keys: {
    summary: 'API keys: create (printed once), revoke, list',
    load: () => [import('./commands/keys.command.ts')],
  },
  export: {
    summary: 'export the register as CSV (UTF-8 with BOM), JSON or XLSX, streamed',
    load: () => [import('./commands/export.command.ts')],
  },
  healthcheck: {
    summary: "probe this container's service: readyz of the api (PORT) or of a worker or the scheduler (METRICS_PORT)",
    load: () => [import('./commands/healthcheck.command.ts')],
  },
  needs: {
    summary: 'needs planning: formation, declared and computed need, filled, retiring, shortfall per region and level',
    load: () => [import('./commands/needs.command.ts')],
  },
};

/**
 * The program for `argv`: the named command's modules registered for real; without a known command
 * (`--help`, `help`, nothing, a typo) every command as a summary line only, which is all commander
 * prints for them then. `help NAME` loads NAME, so its options are listed.
 */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('pksync')
    .description('National register of Pejabat Fungsional Pengantar Kerja: sync pipeline')
    // Bad usage (an unknown option, a missing argument) exits 2, like every other usage error here;
    // set before the commands are added, so each of them inherits it.
    .exitOverride();
  const args = argv.slice(2).filter((a) => !a.startsWith('-'));
  const name = args[0] === 'help' ? args[1] : args[0];
  const entry = name !== undefined ? COMMANDS[name] : undefined;
  if (entry) {
    for (const m of await Promise.all(entry.load())) m.register(program);
  } else {
    for (const [n, c] of Object.entries(COMMANDS)) program.command(n).description(c.summary);
  }
  return program;
}
