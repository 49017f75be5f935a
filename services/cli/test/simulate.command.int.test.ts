import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSourcesFile } from '@pksync/connectors';
import { runSimulate } from '../src/commands/simulate.command.ts';

describe('pksync simulate (serving)', () => {
  it('writes a sources file that `pksync sources import` accepts', async () => {
    const out = path.join(await mkdtemp(path.join(tmpdir(), 'pksync-sim-')), 'sources.json');
    const sim = await runSimulate({
      regions: '16',
      seed: '1',
      port: '0',
      host: '127.0.0.1',
      delays: true,
      sourcesOut: out,
    });
    try {
      const entries = parseSourcesFile(await readFile(out, 'utf8'), 'json');
      expect(entries).toHaveLength(18);
      expect(entries.every((e) => e.transport === 'upload' || e.url!.startsWith(sim.url))).toBe(true);
    } finally {
      await sim.close();
    }
  });
});
