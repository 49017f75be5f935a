#!/usr/bin/env node
/**
 * The `pksync` command line. Each command lives in `./commands/<name>.command.ts` and exports
 * `register(program)`; add one line per command below.
 */
import { Command, CommanderError } from 'commander';
import { register as registerCheck } from './commands/check.command.ts';
import { register as registerSources } from './commands/sources.command.ts';
import { register as registerSimulate } from './commands/simulate.command.ts';
import { register as registerMigrate } from './commands/migrate.command.ts';
import { register as registerSync } from './commands/sync.command.ts';
import { register as registerRuns } from './commands/runs.command.ts';
import { register as registerServe } from './commands/serve.command.ts';
import { register as registerConfirmRemoval } from './commands/confirm-removal.command.ts';
import { register as registerDemo } from './commands/demo.command.ts';
import { register as registerContacts } from './commands/contacts.command.ts';
import { register as registerFindings } from './commands/findings.command.ts';
import { register as registerKeys } from './commands/keys.command.ts';
import { register as registerExport } from './commands/export.command.ts';
import { register as registerNeeds } from './commands/needs.command.ts';

const program = new Command('pksync')
  .description('National register of Pejabat Fungsional Pengantar Kerja: sync pipeline')
  // Bad usage (an unknown option, a missing argument) exits 2, like every other usage error here;
  // set before the commands are added, so each of them inherits it.
  .exitOverride();

registerCheck(program);
registerSources(program);
registerSimulate(program);
registerMigrate(program);
registerSync(program);
registerRuns(program);
registerServe(program);
registerConfirmRemoval(program);
registerDemo(program);
registerContacts(program);
registerFindings(program);
registerKeys(program);
registerExport(program);
registerNeeds(program);

/**
 * `pksync … | head`: the reader may stop before everything is written. EPIPE on stdout or stderr
 * means nobody is reading any more, which is not an error of this command: stop quietly with 0
 * (instead of Node's unhandled 'error' event and its stack trace). Any other output failure (a
 * full disk behind a redirect) is reported briefly with exit code 2.
 */
function exitQuietlyWhenReaderCloses(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    if (stream !== process.stderr) console.error(`pksync: cannot write the output: ${e.message}`);
    process.exit(2);
  });
}
exitQuietlyWhenReaderCloses(process.stdout);
exitQuietlyWhenReaderCloses(process.stderr);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError)
    process.exitCode = e.exitCode === 0 ? 0 : 2; // commander printed it
  else {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 2;
  }
}
