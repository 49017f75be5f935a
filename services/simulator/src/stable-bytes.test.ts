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

  it('files carry a content-stable ETag and answer 304 to If-None-Match until their content changes', async () => {
    const files = sim.sourcesFile().filter((s) => (s.transport === 'csv' || s.transport === 'xlsx') && !s.token);
    const etags = new Map<string, string>();
    for (const f of files) {
      const res = await fetch(f.url!);
      await res.arrayBuffer();
      etags.set(f.id, res.headers.get('etag')!);
      expect(res.headers.get('etag')).toMatch(/^"[\w-]+"$/);
      const again = await fetch(f.url!, { headers: { 'if-none-match': etags.get(f.id)! } });
      expect(again.status).toBe(304);
    }
    expect(sim.stats()[files[0]!.id]!.notModified).toBe(1);
    // A day later: files whose listing changed get another ETag (and a 200), the others stay 304.
    const before = new Map(files.map((f) => [f.id, JSON.stringify([...sim.listOfficers(f.id)])]));
    sim.setDay(1);
    let changed = 0;
    for (const f of files) {
      const res = await fetch(f.url!, { headers: { 'if-none-match': etags.get(f.id)! } });
      await res.arrayBuffer();
      const same = before.get(f.id) === JSON.stringify([...sim.listOfficers(f.id)]);
      if (!same) changed++;
      expect(res.status).toBe(same ? 304 : 200);
    }
    expect(changed).toBeGreaterThan(0);
    expect(changed).toBeLessThan(files.length);
  });
});
