import { createHash } from 'node:crypto';
import type { FetchedItem } from './connector.types.ts';

/**
 * JSON with object keys sorted at every depth: the same record gives the same text whatever
 * order the agency wrote its fields in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}

/** Incremental sha256 over the canonical serialisation of snapshot items, in yield order. */
export class SnapshotHasher {
  private readonly hash = createHash('sha256');
  private count = 0;

  update(item: FetchedItem): void {
    this.hash.update(`${item.kind}\t${item.position}\t${canonicalJson(item.record)}\n`);
    this.count++;
  }

  /** Hex digest; call once, after the snapshot completed. */
  digest(): { sha256: string; items: number } {
    return { sha256: this.hash.digest('hex'), items: this.count };
  }
}

/**
 * Passes a snapshot through while hashing it. `onComplete` is called only when the source
 * iterable completed (never for a failed, partial snapshot), so the pipeline can compare the hash
 * with the source's `last_content_hash` and skip an unchanged snapshot.
 *
 * @example
 * let hash = '';
 * for await (const item of hashSnapshot(connector.fetch(src, ctx), (h) => (hash = h.sha256))) stage(item);
 */
export async function* hashSnapshot(
  items: AsyncIterable<FetchedItem>,
  onComplete: (result: { sha256: string; items: number }) => void,
): AsyncGenerator<FetchedItem> {
  const hasher = new SnapshotHasher();
  for await (const item of items) {
    hasher.update(item);
    yield item;
  }
  onComplete(hasher.digest());
}
