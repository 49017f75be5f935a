import { describe, expect, it } from 'vitest';
import { canonicalJson, hashSnapshot, SnapshotHasher } from './snapshot-hash.ts';
import type { FetchedItem } from './connector.types.ts';

async function* gen(items: FetchedItem[], failAt = -1): AsyncGenerator<FetchedItem> {
  for (let i = 0; i < items.length; i++) {
    if (i === failAt) throw new Error('reset');
    yield items[i]!;
  }
}
const items: FetchedItem[] = [
  { kind: 'officer', position: 0, record: { nip: '1', nama: 'A' } },
  { kind: 'formation', position: 0, record: { tahun: 2026 } },
];

describe('snapshot hash', () => {
  it('is independent of key order and sensitive to any value', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}',
    );
    const h = (r: Record<string, unknown>) => {
      const x = new SnapshotHasher();
      x.update({ kind: 'officer', position: 0, record: r });
      return x.digest().sha256;
    };
    expect(h({ a: '1', b: '2' })).toBe(h({ b: '2', a: '1' }));
    expect(h({ a: '1', b: '2' })).not.toBe(h({ a: '1', b: '3' }));
  });

  it('reports the hash only when the snapshot completed', async () => {
    const seen: string[] = [];
    for await (const _ of hashSnapshot(gen(items), (r) => seen.push(`${r.sha256}:${r.items}`))) void _;
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^[0-9a-f]{64}:2$/);
    const again: string[] = [];
    await expect(async () => {
      for await (const _ of hashSnapshot(gen(items, 1), (r) => again.push(r.sha256))) void _;
    }).rejects.toThrow('reset');
    expect(again).toEqual([]);
  });
});
