import path from 'node:path';
import {
  resolveLimits,
  type FetchContext,
  type ProbeContext,
  type RawPart,
  type RawSnapshotInfo,
  type SourceDefinition,
  type Validators,
} from './connector.types.ts';
import type { FileData, LazyTempDir } from './file-snapshot.ts';
import { downloadIfModified, downloadToFile, type Downloaded, type SpillTarget } from './http/download.ts';
import type { HttpSession } from './http/http-client.ts';
import { probeStatus } from './http/probe-request.ts';
import { sourceUrl } from './http/source-session.ts';
import { combineRawParts, skipParse } from './raw-hash.ts';

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

/**
 * `Connector.probe` for file transports: conditional GETs of the source's files (`filesOf` its
 * url), one at a time, reading no body ({@link probeStatus}). True when every file answers 304 Not
 * Modified to the validators it came with (an `api` page recorded `absent`: 404 to a plain GET);
 * false as soon as one answers otherwise or has none.
 * A source without a url, a time-out or a network error is thrown.
 */
export async function probeSnapshotFiles(
  source: SourceDefinition,
  ctx: ProbeContext,
  filesOf: (url: string) => readonly Pick<SnapshotFile, 'label' | 'url'>[],
): Promise<boolean> {
  const timeoutMs = resolveLimits(source, ctx).requestTimeoutMs;
  for (const f of filesOf(sourceUrl(source))) {
    const known = ctx.validators[f.label];
    const headers: Record<string, string> = {};
    if (known?.etag) headers['if-none-match'] = known.etag;
    if (known?.lastModified) headers['if-modified-since'] = known.lastModified;
    // An `api` page that answered 404 (`absent`): unchanged while it still does.
    if (!Object.keys(headers).length && !known?.absent) return false;
    if (source.token) headers.authorization = `Bearer ${source.token}`;
    const expected = known?.absent ? 404 : 304;
    if ((await probeStatus(f.url, headers, { signal: ctx.signal, timeoutMs })) !== expected) return false;
  }
  return true;
}
