import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { getWithRetry, tooLarge, type HttpSession } from './http-client.ts';
import type { Validators } from '../connector.types.ts';

/**
 * GETs `url` into `filePath` (streamed, never held in memory), with the session's retries.
 * `budget.bytes` is the remaining snapshot allowance; it is reduced by the file's size, and a
 * file that would exceed it fails with `payload_too_large` (the partial file is overwritten or
 * removed by the caller's temporary directory clean-up). Returns the file's size and the sha256 of
 * its bytes, hashed as they stream by (no second read).
 */
export async function downloadToFile(
  session: HttpSession,
  url: string,
  filePath: string | SpillTarget,
  budget: { bytes: number },
): Promise<Downloaded> {
  const got = await downloadIfModified(session, url, filePath, budget, undefined);
  if (got.notModified) throw new Error('unreachable: 304 without a conditional request');
  return got;
}

export interface Downloaded {
  notModified?: false;
  bytes: number;
  sha256: string;
  validators: Validators;
  /** Where the bytes are: a file, or (a {@link SpillTarget} under its limit) memory. */
  data: { path: string } | { buffer: Buffer };
}

/**
 * Keep a download in memory up to `limit` bytes; past that, spill it to the file `openPath()`
 * gives (called at most once per attempt). Small agency files then cost no file-system calls.
 */
export interface SpillTarget {
  limit: number;
  openPath: () => Promise<string>;
}

/** A sink that buffers up to `limit` bytes, then writes everything to a file. */
class SpillSink extends Writable {
  private chunks: Buffer[] = [];
  private size = 0;
  private file: WriteStream | null = null;
  path: string | null = null;

  constructor(private readonly target: SpillTarget) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.file === null && this.size + chunk.length <= this.target.limit) {
      this.chunks.push(chunk);
      this.size += chunk.length;
      cb();
      return;
    }
    const write = (f: WriteStream): void => {
      if (f.write(chunk)) cb();
      else f.once('drain', () => cb());
    };
    if (this.file !== null) return write(this.file);
    this.target.openPath().then((p) => {
      this.path = p;
      const f = (this.file = createWriteStream(p));
      f.on('error', (e) => this.destroy(e));
      for (const c of this.chunks) f.write(c);
      this.chunks = [];
      write(f);
    }, cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    if (this.file === null) return cb();
    this.file.end();
    finished(this.file).then(() => cb(), cb);
  }

  override _destroy(e: Error | null, cb: (e?: Error | null) => void): void {
    this.file?.destroy();
    cb(e);
  }

  result(): Downloaded['data'] {
    return this.path !== null ? { path: this.path } : { buffer: Buffer.concat(this.chunks, this.size) };
  }
}

/**
 * {@link downloadToFile} as a conditional GET: with `known` validators it sends `If-None-Match` /
 * `If-Modified-Since`, and a 304 answer returns `{ notModified: true }` without writing anything.
 */
export async function downloadIfModified(
  session: HttpSession,
  url: string,
  filePath: string | SpillTarget,
  budget: { bytes: number },
  known: Validators | undefined,
): Promise<Downloaded | { notModified: true }> {
  const headers: Record<string, string> = {};
  if (known?.etag) headers['if-none-match'] = known.etag;
  if (known?.lastModified) headers['if-modified-since'] = known.lastModified;
  const conditional = Object.keys(headers).length
    ? { headers, notModified: () => ({ notModified: true }) as const }
    : undefined;
  return getWithRetry<Downloaded | { notModified: true }>(
    session,
    url,
    '*/*',
    async (res, signal, touch) => {
      const max = budget.bytes;
      const declared = Number(res.headers.get('content-length'));
      if (Number.isFinite(declared) && declared > max) {
        res.discard();
        throw tooLarge('file', session.limits.maxBytes);
      }
      let total = 0;
      // A fresh hash per attempt: a retried download starts again from the first byte.
      const hash = createHash('sha256');
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb: TransformCallback) {
          touch();
          total += chunk.length;
          if (total > max) cb(tooLarge('file', session.limits.maxBytes));
          else {
            hash.update(chunk);
            cb(null, chunk);
          }
        },
      });
      const sink = typeof filePath === 'string' ? null : new SpillSink(filePath);
      await pipeline(res.body, counter, sink ?? createWriteStream(filePath as string), { signal });
      budget.bytes -= total;
      const validators: Validators = {};
      const etag = res.headers.get('etag');
      const lastModified = res.headers.get('last-modified');
      if (etag) validators.etag = etag;
      if (lastModified) validators.lastModified = lastModified;
      const data = sink ? sink.result() : { path: filePath as string };
      return { bytes: total, sha256: hash.digest('hex'), validators, data };
    },
    conditional,
  );
}
