import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const sample = (name: string) => new URL(`../../../packages/connectors/samples/${name}`, import.meta.url).pathname;

describe('pksync check (as a process)', () => {
  it('runs as a command with the documented exit codes', async () => {
    const run = promisify(execFile);
    const main = new URL('../src/main.ts', import.meta.url).pathname;
    const ok = await run('npx', [
      'tsx',
      main,
      'check',
      sample('officers-utf8-bom.csv'),
      '--region',
      '16.71',
      '--as-of',
      '2026-11-27',
    ]);
    expect(ok.stdout).toContain('Ditolak: 0');
    await expect(
      run('npx', [
        'tsx',
        main,
        'check',
        sample('officers-semicolon.csv'),
        '--region',
        '16.71',
        '--as-of',
        '2026-11-27',
      ]),
    ).rejects.toMatchObject({ code: 1 });
    await expect(
      run('npx', ['tsx', main, 'check', sample('broken-quote.csv'), '--region', '16.71']),
    ).rejects.toMatchObject({ code: 2 });
  }, 30_000);
});
