import { describe, expect, it } from 'vitest';
import { combineRawParts } from './raw-hash.ts';

describe('combineRawParts', () => {
  it('depends on every part, its label, its order and the transport', () => {
    const a = { label: 'officers', sha256: 'a'.repeat(64), bytes: 10 };
    const b = { label: 'formations', sha256: 'b'.repeat(64), bytes: 5 };
    const base = combineRawParts('csv', [a, b]).sha256;
    expect(combineRawParts('csv', [a, b])).toEqual({ sha256: base, bytes: 15 });
    expect(combineRawParts('csv', [b, a]).sha256).not.toBe(base);
    expect(combineRawParts('csv', [a]).sha256).not.toBe(base);
    expect(combineRawParts('xlsx', [a, b]).sha256).not.toBe(base);
    expect(combineRawParts('csv', [a, { ...b, sha256: 'c'.repeat(64) }]).sha256).not.toBe(base);
  });
});
