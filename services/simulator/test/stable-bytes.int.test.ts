import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { start, type Simulator } from '../src/index.ts';

// Raw-byte hashes (the repeat-run fast path) need a file re-served unchanged to be the same bytes.
describe('simulator: unchanged data is served as the same bytes', () => {
  let sim: Simulator;
  beforeAll(async () => {
    // Cache off: every request renders again, so the bytes below are two renderings.
    sim = await start({ port: 0, seed: 7, regions: '16', delays: false, faults: false, cacheBytes: 0 });
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

describe('simulator: the body cache serves exactly what rendering serves', () => {
  let cached: Simulator;
  let plain: Simulator;
  const options = { seed: 7, regions: '16', delays: false, faults: false } as const;
  beforeAll(async () => {
    cached = await start({ port: 0, ...options });
    plain = await start({ port: 0, ...options, cacheBytes: 0 });
  });
  afterAll(async () => {
    await cached.close();
    await plain.close();
  });

  /** Every file and API page (followed by its cursors) of every agency, as bytes in one list. */
  async function everything(sim: Simulator): Promise<string[]> {
    const out: string[] = [];
    const get = async (url: string) => {
      const res = await fetch(url, { headers: { authorization: `Bearer ${tokenOf(sim, url)}` } });
      const body = Buffer.from(await res.arrayBuffer());
      out.push(`${res.status} ${url.replace(sim.url, '')} ${res.headers.get('etag')} ${body.toString('base64')}`);
      return body;
    };
    for (const s of sim.sourcesFile()) {
      if (s.transport === 'csv') {
        await get(s.url!);
        await get(s.formations_url!);
        if (s.workloads_url) await get(s.workloads_url);
      } else if (s.transport === 'xlsx') await get(s.url!);
      else if (s.transport === 'api') {
        let cursor: string | null = null;
        do {
          const page = JSON.parse(
            (await get(`${s.url}/officers?limit=7${cursor ? `&cursor=${cursor}` : ''}`)).toString(),
          ) as { next_cursor: string | null };
          cursor = page.next_cursor;
        } while (cursor);
        await get(`${s.url}/officers`);
        await get(`${s.url}/formations?year=2024`);
        await get(`${s.url}/workloads?year=2026`);
      }
    }
    return out;
  }
  const tokenOf = (sim: Simulator, url: string) =>
    sim.agencies().find((a) => url.includes(`/agencies/${encodeURIComponent(a.id)}/`))?.token ?? '';

  it('the same bytes and ETags, day 0 (prerendered, then served twice) and after days of changes', async () => {
    const pre = await cached.prerender();
    expect(pre.entries).toBeGreaterThan(cached.agencies().length / 2);
    expect(pre.bytes).toBeGreaterThan(0);
    const expected = await everything(plain);
    expect(await everything(cached)).toEqual(expected);
    expect(await everything(cached)).toEqual(expected);
    // Day 3: transfers and departures, and the mass removal at 16.71-disnaker, an api agency.
    expect(plain.agencies().find((a) => a.id === '16.71-disnaker')?.transport).toBe('api');
    cached.setDay(3);
    plain.setDay(3);
    const later = await everything(plain);
    expect(later.filter((x) => x.includes('/v1/')).length).toBeGreaterThan(0);
    expect(later.filter((x, i) => x.includes('/v1/') && x !== expected[i]).length).toBeGreaterThan(0);
    expect(later.filter((x, i) => !x.includes('/v1/') && x !== expected[i]).length).toBeGreaterThan(0);
    expect(await everything(cached)).toEqual(later);
  });

  it('refuses a negative cacheBytes', async () => {
    await expect(start({ port: 0, ...options, cacheBytes: -1 })).rejects.toThrow(/cacheBytes/);
  });
});
