import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, COMMANDS } from './program.ts';

/** Every command registered for real by its modules, as `pksync <name>` would load them. */
async function registered(): Promise<Command> {
  const program = new Command('pksync');
  for (const entry of Object.values(COMMANDS)) for (const m of await Promise.all(entry.load())) m.register(program);
  return program;
}

describe('the lazy command table', () => {
  it('names every command its modules register, with the description they register', async () => {
    const real = await registered();
    const fromModules = Object.fromEntries(real.commands.map((c) => [c.name(), c.description()]));
    const fromTable = Object.fromEntries(Object.entries(COMMANDS).map(([n, c]) => [n, c.summary]));
    expect(fromTable).toEqual(fromModules);
  });

  it('loads only the named command, and lists all of them for --help', async () => {
    const runs = await buildProgram(['node', 'pksync', 'runs', '--last', '1']);
    expect(runs.commands.map((c) => c.name())).toEqual(['runs']);
    expect(runs.commands[0]!.commands.map((c) => c.name())).toContain('resume');

    const help = await buildProgram(['node', 'pksync', '--help']);
    expect(help.commands.map((c) => c.name())).toEqual(Object.keys(COMMANDS));
    expect(help.helpInformation()).toMatch(/\n {2}runs +recent sync runs, newest first/);

    const helpOne = await buildProgram(['node', 'pksync', 'help', 'sources']);
    expect(helpOne.commands[0]!.commands.map((c) => c.name())).toEqual(
      expect.arrayContaining(['import', 'list', 'confirm-removal']),
    );
  });
});
