import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { start, type Simulator } from './index.ts';

// Raw-byte hashes (the repeat-run fast path) need a file re-served unchanged to be the same bytes.
describe('simulator: unchanged data is served as the same bytes', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await start({ port: 0, seed: 7, regions: '16', delays: false, faults: false });
  });
  afterAll(() => sim.close());
  afterEach(() => vi.useRealTimers());

  const sha = async (url: string) =>
    createHash('sha256')
      .update(Buffer.from(await (await fetch(url)).arrayBuffer()))
      .digest('hex');

  it.each(['xlsx', 'csv'] as const)('%s: same bytes a day later (no wall-clock time in the file)', async (t) => {
    const entry = sim.sourcesFile().find((s) => s.transport === t && !s.token)!;
    expect(entry).toBeDefined();
    const first = await sha(entry.url!);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 86_400_000 + 3_000 });
    expect(await sha(entry.url!)).toBe(first);
  });
});
