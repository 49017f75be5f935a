#!/usr/bin/env node
/**
 * The `pksync` command line; the commands and how they are loaded are in ./program.ts.
 */
import { CommanderError } from 'commander';
import { buildProgram } from './program.ts';

const program = await buildProgram(process.argv);

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
