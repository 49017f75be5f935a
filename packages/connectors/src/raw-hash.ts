import { createHash } from 'node:crypto';
import path from 'node:path';
import type { FetchContext } from './connector.types.ts';
import { downloadIfModified, downloadToFile, type Downloaded, type SpillTarget } from './http/download.ts';
import type { FileData, LazyTempDir } from './file-snapshot.ts';
import type { HttpSession } from './http/http-client.ts';

/** HTTP validators of one downloaded file, as the server sent them. */
export interface Validators {
  etag?: string;
  lastModified?: string;
}

/** The raw-bytes identity of a whole snapshot, known before any record is parsed. */
export interface RawSnapshotInfo {
  /** Hex sha256 over the snapshot's parts (see {@link combineRawParts}). */
  sha256: string;
  /** Bytes downloaded (or stored, for an upload) over all parts. */
  bytes: number;
  /** Validators per file label (`csv`/`xlsx`), to send back next time (`FetchContext.conditional`). */
  validators?: Record<string, Validators>;
  /**
   * True when every file answered 304 Not Modified to a conditional request: nothing was
   * downloaded and `sha256` is `FetchContext.conditional.contentHash`.
   */
  notModified?: boolean;
}

/** One downloaded part of a snapshot: a file, an API page, an upload. */
export interface RawPart {
  /** What the part is (`officers`, `formations`, `officers#3`, `formations?year=2026`, `upload`). */
  label: string;
  sha256: string;
  bytes: number;
}

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

/** One file of a `csv`/`xlsx` snapshot. */
export interface SnapshotFile {
  label: string;
  url: string;
  /** File name inside the fetch's temporary directory. */
  name: string;
  /** Bytes kept in memory before the file spills to the temporary directory (default 0: always a file). */
  memoryLimit?: number;
}

/**
 * Downloads a snapshot's files into `dir` and asks `ctx.beforeParse`. With `ctx.conditional`
 * validators for every file, the GETs are conditional: all answering 304 means the snapshot is the
 * reconciled one (nothing downloaded); a mix re-downloads the 304 ones unconditionally, since
 * their bytes are needed to parse the others with them. Returns the file paths, or null when
 * the caller should stop (unchanged).
 */
export async function downloadSnapshotFiles(
  session: HttpSession,
  ctx: FetchContext,
  transport: string,
  dir: LazyTempDir,
  files: readonly SnapshotFile[],
  budget: { bytes: number },
): Promise<FileData[] | null> {
  const targetOf = (f: SnapshotFile): SpillTarget => ({
    limit: f.memoryLimit ?? -1,
    openPath: async () => path.join(await dir.path(), f.name),
  });
  const known = ctx.conditional;
  const conditional = known !== undefined && files.every((f) => known.validators[f.label]);
  const got: (Downloaded | { notModified: true })[] = [];
  for (const f of files) {
    got.push(
      await downloadIfModified(
        session,
        f.url,
        targetOf(f),
        budget,
        conditional ? known.validators[f.label] : undefined,
      ),
    );
  }
  if (known && got.every((g) => g.notModified)) {
    if (await skipParse(ctx, { sha256: known.contentHash, bytes: 0, notModified: true })) return null;
  }
  const parts: RawPart[] = [];
  const validators: Record<string, Validators> = {};
  const data: FileData[] = [];
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    let g = got[i]!;
    if (g.notModified) g = await downloadToFile(session, f.url, targetOf(f), budget);
    data.push(g.data);
    parts.push({ label: f.label, sha256: g.sha256, bytes: g.bytes });
    if (g.validators.etag || g.validators.lastModified) validators[f.label] = g.validators;
  }
  const raw: RawSnapshotInfo = { ...combineRawParts(transport, parts), validators };
  if (await skipParse(ctx, raw)) return null;
  return data;
}
