import { describe, expect, it } from 'vitest';
import { spoolSnapshot } from './spool-snapshot.ts';
import type { FetchedItem } from './connector.types.ts';

async function* source(n: number, failAt = -1): AsyncGenerator<FetchedItem> {
  for (let i = 0; i < n; i++) {
    if (i === failAt) throw new Error('connection reset');
    yield { kind: 'officer', position: i, record: { nip: String(i), nama: `Pejabat "${i}"\n` } };
  }
}

describe('spoolSnapshot', () => {
  it('yields the whole snapshot, in order, once the source completed', async () => {
    const got: FetchedItem[] = [];
    for await (const item of spoolSnapshot(source(5000))) got.push(item);
    expect(got).toHaveLength(5000);
    expect(got[4999]).toEqual({ kind: 'officer', position: 4999, record: { nip: '4999', nama: 'Pejabat "4999"\n' } });
  });

  it('yields nothing at all when the source fails part-way', async () => {
    const got: FetchedItem[] = [];
    await expect(async () => {
      for await (const item of spoolSnapshot(source(5000, 4000))) got.push(item);
    }).rejects.toThrow('connection reset');
    expect(got).toEqual([]);
  });
});
