import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { getWithRetry, tooLarge, type HttpSession } from './http-client.ts';

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
  filePath: string,
  budget: { bytes: number },
): Promise<{ bytes: number; sha256: string }> {
  return getWithRetry(session, url, '*/*', async (res, signal, touch) => {
    const max = budget.bytes;
    const declared = Number(res.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > max) {
      await res.body?.cancel().catch(() => {});
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
    const body = res.body
      ? Readable.fromWeb(res.body as unknown as NodeReadableStream<Uint8Array>)
      : Readable.from([] as Buffer[]);
    await pipeline(body, counter, createWriteStream(filePath), { signal });
    budget.bytes -= total;
    return { bytes: total, sha256: hash.digest('hex') };
  });
}
