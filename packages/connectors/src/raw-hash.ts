import { createHash } from 'node:crypto';
import type { FetchContext, RawPart, RawSnapshotInfo } from './connector.types.ts';

export type { RawPart, RawSnapshotInfo, Validators } from './connector.types.ts';

/**
 * The snapshot hash from its parts, in fetch order: sha256 of `pksync-raw-v1 <transport>\n` then one
 * `<label>\t<bytes>\t<sha256 of the part>\n` line per part. Equal bytes in the same parts give the
 * same hash; any changed byte, added/removed part or other transport gives another.
 */
export function combineRawParts(transport: string, parts: readonly RawPart[]): RawSnapshotInfo {
  const h = createHash('sha256').update(`pksync-raw-v1 ${transport}\n`);
  let bytes = 0;
  for (const p of parts) {
    h.update(`${p.label}\t${p.bytes}\t${p.sha256}\n`);
    bytes += p.bytes;
  }
  return { sha256: h.digest('hex'), bytes };
}

/** sha256 (hex) of one buffer. */
export function sha256Hex(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex');
}

/**
 * Asks the caller whether to parse: called once every byte of the snapshot has been received and
 * before the first record is parsed. True means "unchanged, stop here": the fetch then completes
 * without yielding anything.
 */
export async function skipParse(ctx: FetchContext, raw: RawSnapshotInfo): Promise<boolean> {
  return ctx.beforeParse ? (await ctx.beforeParse(raw)) === true : false;
}
